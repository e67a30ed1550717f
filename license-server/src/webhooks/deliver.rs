//! `webhook.deliver`: one attempt at one delivery, and what follows from its answer.
//!
//! The retry schedule (docs/events.md): after a failed attempt the next waits the schedule's
//! next step (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h by default), ±20% at
//! random, or longer when a 429 or 503 answer's `Retry-After` asks (at most a day). After the
//! last step the delivery has failed. A `410 Gone` disables the endpoint at once; so does a
//! failure once every attempt has failed for [`WebhookSettings::disable_after`]. Each
//! attempt, its outcome and the job's completion or rescheduling are recorded in one
//! transaction fenced by the job's lease.

use std::time::{Duration, Instant};

use crate::config::WebhookSettings;
use crate::db::{AttemptRecord, DeliveryJobs, JobRow, Lease, Verdict};
use crate::events::{EventRow, EventView};
use crate::queue::{JobKind, Outcome, jitter, now_ms, random_unit};
use crate::state::{AppState, now};

/// The most a `Retry-After` may delay the next attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);
/// The most of an answer's body read (then the connection is dropped).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How delivery jobs are made: their priority, and claims enough for every attempt of the
/// schedule with room for workers that crash.
pub fn delivery_jobs(settings: &WebhookSettings) -> DeliveryJobs {
    let attempts = i64::try_from(settings.schedule.len()).unwrap_or(i64::MAX).saturating_add(1);
    DeliveryJobs { priority: JobKind::WebhookDeliver.priority(), max_attempts: attempts.saturating_add(15) }
}

/// What an attempt got.
#[derive(Debug)]
struct Answer {
    status: Option<u16>,
    retry_after: Option<Duration>,
    error: Option<String>,
    duration: Duration,
}

/// Runs one attempt of the delivery the job names.
pub async fn run_job(state: &AppState, job: &JobRow, lease: &Lease) -> Outcome {
    let payload: serde_json::Value = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let Some(delivery_id) = payload["delivery"].as_str() else {
        return Outcome::Fatal("bad payload: no delivery".into());
    };
    let ctx = match state.repo.delivery_context(delivery_id).await {
        Ok(Some(c)) => c,
        // Deleted with its endpoint.
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::retry(e),
    };
    let delivery = &ctx.delivery;
    if delivery.state != "pending" {
        // Recorded already, by a run whose completion was lost.
        return Outcome::Done;
    }
    let record = |status_code, duration_ms, error, verdict| AttemptRecord {
        delivery_id: delivery.id.clone(),
        endpoint_id: delivery.endpoint_id.clone(),
        status_code,
        duration_ms,
        error,
        verdict,
        endpoint_was_failing: ctx.failing_since.is_some(),
    };
    let t = now();
    let attempt = match (&ctx.event_data, ctx.enabled) {
        (_, false) => record(None, 0, None, Verdict::Skip("the endpoint is disabled".into())),
        (None, true) => record(None, 0, None, Verdict::Skip("the event is no longer kept".into())),
        (Some(data), true) => {
            let event = EventRow {
                seq: 0,
                txid: 0,
                id: delivery.event_id.clone(),
                store_id: delivery.store_id.clone(),
                type_: delivery.event_type.clone(),
                data: data.clone(),
                actor: ctx.event_actor.clone().unwrap_or_default(),
                created_at: ctx.event_created_at.unwrap_or(t),
            };
            let body = match serde_json::to_vec(&EventView::from(&event)) {
                Ok(b) => b,
                Err(e) => return Outcome::Fatal(format!("the event would not serialise: {e}")),
            };
            let previous = ctx.previous_secret.as_deref().zip(ctx.previous_until);
            let secrets = match super::signing_secrets(state, &delivery.endpoint_id, &ctx.secret, previous, t) {
                Ok(s) => s,
                Err(e) => return Outcome::retry(e),
            };
            let keys: Vec<&[u8]> = secrets.iter().map(|s| s.as_slice()).collect();
            let signature = super::signing::signature_header(&keys, &event.id, t, &body);
            let answer = send(state, &ctx.url, &event.id, t, &signature, body).await;
            let verdict = verdict(&state.settings.webhooks, &answer, delivery.attempts, ctx.failing_since, t);
            let millis = i64::try_from(answer.duration.as_millis()).unwrap_or(i64::MAX);
            record(answer.status.map(i64::from), millis, answer.error, verdict)
        }
    };
    crate::observe::metrics::webhook_attempt(match attempt.verdict {
        Verdict::Delivered => "delivered",
        Verdict::RetryAt(_) => "failed_will_retry",
        Verdict::GiveUp => "failed_gave_up",
        Verdict::Disable(_) => "failed_endpoint_disabled",
        Verdict::Skip(_) => "skipped",
    });
    match state.repo.record_attempt(lease, &attempt, &state.audit("system"), now_ms()).await {
        Ok(true) => {
            if let Verdict::Disable(reason) = &attempt.verdict {
                tracing::warn!(endpoint = %delivery.endpoint_id, store = %delivery.store_id, %reason, "webhook endpoint disabled");
            }
            Outcome::Handled
        }
        // Another worker holds the job now; it makes the next attempt.
        Ok(false) => Outcome::Handled,
        // The attempt was made but not recorded: the queue retries the job, and the event may
        // be delivered again (at least once).
        Err(e) => Outcome::retry(e),
    }
}

/// Sends one delivery.
async fn send(state: &AppState, url: &str, id: &str, timestamp: i64, signature: &str, body: Vec<u8>) -> Answer {
    let started = Instant::now();
    let failed =
        |error: String| Answer { status: None, retry_after: None, error: Some(error), duration: started.elapsed() };
    let url = match state.outbound.check(url) {
        Ok(u) => u,
        Err(refused) => return failed(format!("refused: {refused}")),
    };
    let request = state
        .outbound
        .client()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body);
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return failed(crate::outbound::describe(&e)),
    };
    let status = response.status();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    // Read (a bounded part of) the answer so the exchange completes, within the timeout.
    let mut read = 0usize;
    while read < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read = read.saturating_add(chunk.len()),
            Ok(None) | Err(_) => break,
        }
    }
    let error = if status.is_redirection() {
        Some("redirects are not followed: give the endpoint's final URL".to_owned())
    } else {
        None
    };
    Answer { status: Some(status.as_u16()), retry_after, error, duration: started.elapsed() }
}

/// A duration as people say it: `5 days`, `3 hours`, `40 seconds`.
pub(crate) fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0..120 => (s, "second"),
        120..7200 => (s / 60, "minute"),
        7200..172_800 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `Retry-After`: seconds, or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// What follows from an attempt, the `before`-th failed one so far of a delivery to an endpoint
/// failing since `failing_since`.
fn verdict(settings: &WebhookSettings, answer: &Answer, before: i64, failing_since: Option<i64>, t: i64) -> Verdict {
    match answer.status {
        Some(s) if (200..300).contains(&s) => return Verdict::Delivered,
        Some(410) => return Verdict::Disable("the endpoint answered 410 Gone".into()),
        _ => {}
    }
    let disable_after = i64::try_from(settings.disable_after.as_secs()).unwrap_or(i64::MAX);
    if let Some(since) = failing_since
        && t.saturating_sub(since) >= disable_after
    {
        return Verdict::Disable(format!("every delivery failed for {}", span(settings.disable_after)));
    }
    // The wait after failed attempt number `before + 1`.
    let step = usize::try_from(before).unwrap_or(usize::MAX);
    let Some(wait) = settings.schedule.get(step) else { return Verdict::GiveUp };
    let mut wait = jitter(*wait, random_unit());
    if matches!(answer.status, Some(429 | 503))
        && let Some(asked) = answer.retry_after
    {
        wait = wait.max(asked.min(MAX_RETRY_AFTER));
    }
    Verdict::RetryAt(now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Option<u16>, retry_after: Option<u64>) -> Answer {
        Answer { status, retry_after: retry_after.map(Duration::from_secs), error: None, duration: Duration::ZERO }
    }

    fn wait_of(v: &Verdict) -> Duration {
        match v {
            Verdict::RetryAt(at) => Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0)),
            other => panic!("not a retry: {other:?}"),
        }
    }

    #[test]
    fn the_schedule_is_followed_then_the_delivery_fails() {
        let s = WebhookSettings::default();
        let first = wait_of(&verdict(&s, &answer(Some(500), None), 0, Some(100), 100));
        assert!(first >= Duration::from_secs(3) && first <= Duration::from_secs(6), "{first:?}");
        let fourth = wait_of(&verdict(&s, &answer(None, None), 3, Some(100), 100));
        assert!(fourth >= Duration::from_secs(5700) && fourth <= Duration::from_secs(8700), "{fourth:?}");
        assert_eq!(verdict(&s, &answer(Some(500), None), 9, Some(100), 100), Verdict::GiveUp);
        let total: u64 = s.schedule.iter().map(Duration::as_secs).sum();
        assert!(total > 3 * 86_400, "the retries span at least three days");
        assert_eq!(s.schedule.len().saturating_add(1), 10);
    }

    #[test]
    fn answers_decide() {
        let s = WebhookSettings::default();
        assert_eq!(verdict(&s, &answer(Some(204), None), 3, Some(1), 10), Verdict::Delivered);
        assert!(matches!(verdict(&s, &answer(Some(410), None), 0, None, 10), Verdict::Disable(_)));
        // Failing for longer than the limit disables.
        let week = 7 * 86_400;
        assert!(matches!(verdict(&s, &answer(Some(500), None), 1, Some(0), week), Verdict::Disable(_)));
        // Retry-After asks for longer than the schedule: honoured, within a day.
        let w = wait_of(&verdict(&s, &answer(Some(503), Some(600)), 0, None, 10));
        assert!(w >= Duration::from_secs(599), "{w:?}");
        let w = wait_of(&verdict(&s, &answer(Some(429), Some(10 * 86_400)), 0, None, 10));
        assert!(w <= MAX_RETRY_AFTER, "{w:?}");
        // Not on other statuses.
        let w = wait_of(&verdict(&s, &answer(Some(500), Some(600)), 0, None, 10));
        assert!(w < Duration::from_secs(10), "{w:?}");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(span(Duration::from_secs(3)), "3 seconds");
        assert_eq!(span(Duration::from_secs(1)), "1 second");
        assert_eq!(span(Duration::from_secs(3 * 3600)), "3 hours");
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).expect("date");
        assert!(d > Duration::from_secs(3500) && d <= Duration::from_secs(3600), "{d:?}");
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
