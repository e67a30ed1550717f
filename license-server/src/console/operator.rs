//! The operator's pages: the queue (depth and age by kind, dead jobs, retry) and the
//! license-signing keys (rotate). A store's staff reach neither: both answer 404 for them.

use actix_web::{HttpResponse, web};

use super::charts::{self, Bar, Chart};
use super::pages::{DeadJob, JobsPage, KindLine, SigningKeyLine, SigningKeysPage, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, Done, TokenForm, html, page, see_other};
use crate::db::PageQuery;
use crate::queue::now_ms;
use crate::state::{AppState, now};

/// The queue: each kind's depth and oldest wait, and the dead jobs (the newest 100).
pub async fn jobs(
    state: web::Data<AppState>,
    session: Session,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    session.operator()?;
    let stats = state.repo.queue_stats(now_ms()).await?;
    let kinds = crate::queue::JobKind::ALL
        .iter()
        .map(|k| {
            let s = stats.kinds.iter().find(|s| s.kind == k.as_str());
            KindLine {
                kind: k.as_str(),
                queued: s.map_or(0, |s| s.queued),
                scheduled: s.map_or(0, |s| s.scheduled),
                running: s.map_or(0, |s| s.running),
                dead: s.map_or(0, |s| s.dead),
                oldest: s.map_or(0.0, |s| s.oldest_due_seconds).round().to_string(),
            }
        })
        .collect();
    let dead = state.repo.jobs(Some("dead"), None, &PageQuery::first(100)).await?;
    let dead = dead
        .items
        .iter()
        .map(|j| DeadJob {
            id: j.id.clone(),
            kind: j.kind.clone(),
            store: j.store_id.clone().unwrap_or_default(),
            attempts: j.attempts,
            error: j.last_error.clone().unwrap_or_default(),
            finished: j.finished_at.map(|ms| when(ms / 1000)).unwrap_or_default(),
        })
        .collect();
    let notice = (done.done.as_deref() == Some("retried")).then_some("The job is queued again.");
    let depth = queue_depth(&state).await?;
    let body = page(&JobsPage {
        nav: nav(&session, None, "jobs"),
        depth,
        kinds,
        dead,
        completed_last_hour: stats.completed_last_hour,
        notice,
    })?;
    Ok(html(body))
}

/// Hours the queue's chart covers.
const DEPTH_HOURS: i64 = 24;

/// The queue's depth over the last day: for each hour, the most jobs due at once among its
/// samples (every kind together).
async fn queue_depth(state: &AppState) -> Result<Chart, ConsoleError> {
    let t = now();
    let this_hour = t.div_euclid(3600);
    let first = this_hour.saturating_sub(DEPTH_HOURS.saturating_sub(1));
    let samples = state.repo.queue_samples(first.saturating_mul(3600)).await?;
    // Sum the kinds of each sample, then keep each hour's highest.
    let mut at_once: Vec<(i64, i64)> = Vec::new();
    for s in &samples {
        match at_once.last_mut() {
            Some((at, due)) if *at == s.at => *due = due.saturating_add(s.due),
            _ => at_once.push((s.at, s.due)),
        }
    }
    let bars = (first..=this_hour)
        .map(|hour| {
            let peak = at_once.iter().filter(|(at, _)| at.div_euclid(3600) == hour).map(|(_, d)| *d).max();
            Bar {
                label: charts::hour_label(hour.saturating_mul(3600)),
                value: charts::as_f64(peak.unwrap_or(0)),
                text: peak.map_or_else(|| "no sample".into(), |p| format!("{p} due at most")),
            }
        })
        .collect();
    Ok(charts::bars("queue-depth", "Jobs due at once, the last 24 hours (UTC, highest each hour)", bars, 10.0))
}

/// Queues a dead job again.
pub async fn retry(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    session.operator()?;
    state.repo.retry_dead(&path, now_ms()).await?.ok_or(ConsoleError::NotFound)?;
    tracing::info!(target: "fount::console", actor = %session.actor(), job = %path.as_str(), "dead job retried");
    Ok(see_other("/console/jobs?done=retried"))
}

/// The license-signing keys, newest first: the newest signs, the others still verify.
pub async fn signing_keys(
    state: web::Data<AppState>,
    session: Session,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    session.operator()?;
    let rows = state.repo.signing_keys().await?;
    let keys = rows
        .iter()
        .enumerate()
        .map(|(i, k)| SigningKeyLine { kid: k.kid.clone(), created: when(k.created_at), current: i == 0 })
        .collect();
    let notice = (done.done.as_deref() == Some("rotated")).then_some(
        "A new key signs from now on (every server within a minute); licenses signed by the others still verify.",
    );
    Ok(html(page(&SigningKeysPage { nav: nav(&session, None, "signing-keys"), keys, notice })?))
}

/// Makes a new signing key.
pub async fn rotate(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    session.operator()?;
    let kid =
        crate::crypto::signing::create(state.repo.as_ref(), &state.kek, now()).await.map_err(ConsoleError::internal)?;
    state.changed(crate::db::changes::Change::Keys).await;
    tracing::info!(target: "fount::console", actor = %session.actor(), %kid, "signing key rotated");
    Ok(see_other("/console/signing-keys?done=rotated"))
}
