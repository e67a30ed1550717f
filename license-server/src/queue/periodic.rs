//! Work no request starts, run by every worker process on a timer. Each task is safe to run
//! in many processes at once: the fan-out and the expiry scan lock their cursor row (a process
//! that finds it locked skips its turn), and retention takes its turn through
//! `JobQueue::take_turn`, which lets one process an hour through.
//!
//! * *Fan-out*, every 200 ms: new events become webhook deliveries (see
//!   [`crate::db::WebhookStore::fanout`]).
//! * *Expiry*, every 5 s: `license.expired` for the rentals whose end passed.
//! * *Rescue*, every lease: jobs whose worker died on their last attempt become dead.
//! * *Queue samples*, every minute: the depth of each kind of job, for the console's chart
//!   (one process a minute, through `JobQueue::take_turn`).
//! * *Retention*, hourly: events, deliveries and finished jobs past their time are deleted,
//!   with the charts' samples older than [`CHART_DAYS`].

use std::time::Duration;

use tokio::sync::watch;

use super::now_ms;
use crate::state::{AppState, now};

const FANOUT_EVERY: Duration = Duration::from_millis(200);
/// Events a fan-out step looks at, on a read connection (through an index, reading only those
/// some endpoint may want), and events it turns into deliveries at most, in one write: the
/// write stays small, so that on SQLite requests' writes pass between them, while the window
/// is wide because a log of mostly `license.issued` events must be passed over at the rate
/// licenses are issued.
const FANOUT_WINDOW: i64 = 5000;
const FANOUT_BATCH: i64 = 50;
const EXPIRY_EVERY: Duration = Duration::from_secs(5);
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// How long the charts' own samples are kept, days.
pub const CHART_DAYS: i64 = 31;
/// Completed jobs are kept this long, for `GET /v1/jobs/{id}`.
const COMPLETED_JOBS_DAYS: i64 = 7;

/// Runs the periodic tasks until `stop`.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut fanout = tokio::time::interval(FANOUT_EVERY);
    let mut expiry = tokio::time::interval(EXPIRY_EVERY);
    let mut rescue = tokio::time::interval(state.settings.queue.lease.max(Duration::from_secs(1)));
    let mut retention = tokio::time::interval(Duration::from_secs(60));
    let mut sample = tokio::time::interval(Duration::from_secs(5));
    for t in [&mut fanout, &mut expiry, &mut rescue, &mut retention, &mut sample] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            // A fan-out far behind (millions of events after a burst) runs until it catches up,
            // so a stop must not wait for it. Dropping it between windows is safe: each window
            // is a transaction that commits or rolls back whole, on SQLite's writer even when
            // no one waits for it any more.
            _ = fanout.tick() => tokio::select! {
                _ = stop.changed() => return,
                () = fan_out(&state) => {}
            },
            _ = expiry.tick() => expire(&state).await,
            _ = rescue.tick() => {
                match state.repo.rescue(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(jobs = n, "jobs died with their worker on their last attempt"),
                    Err(e) => tracing::warn!(error = %e, "rescuing jobs failed"),
                }
            }
            _ = retention.tick() => retain(&state).await,
            _ = sample.tick() => sample_queue(&state).await,
        }
    }
}

/// Fans out until the log is caught up.
async fn fan_out(state: &AppState) {
    let jobs = crate::webhooks::deliver::delivery_jobs(&state.settings.webhooks);
    loop {
        match state.repo.fanout(FANOUT_WINDOW, FANOUT_BATCH, jobs, now_ms()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "fanning events out to webhooks failed; retrying");
                return;
            }
        }
    }
}

async fn expire(state: &AppState) {
    // A second behind, so that a license issued this very second is seen with its end.
    if let Err(e) = state.repo.expire_licenses(now().saturating_sub(1), &state.audit("system")).await {
        tracing::warn!(error = %e, "scanning for expired licenses failed");
    }
}

/// Records the queue's depth by kind, when this process has the minute's turn.
async fn sample_queue(state: &AppState) {
    let t = now();
    let every = i64::try_from(SAMPLE_EVERY.as_secs()).unwrap_or(60);
    match state.repo.take_turn("queue.sample", t, every).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "sampling the queue could not start");
            return;
        }
    }
    let result = match state.repo.queue_stats(now_ms()).await {
        Ok(stats) => {
            // Every kind, idle ones as 0: a sample of an empty queue is a sample too.
            let due: Vec<(String, i64)> = super::JobKind::ALL
                .iter()
                .map(|kind| {
                    let k = stats.kinds.iter().find(|k| k.kind == kind.as_str());
                    (kind.as_str().to_owned(), k.map_or(0, |k| k.queued.saturating_add(k.running)))
                })
                .collect();
            state.repo.record_queue_sample(t, &due).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "sampling the queue failed");
    }
}

async fn retain(state: &AppState) {
    let t = now();
    let every = i64::try_from(RETENTION_EVERY.as_secs()).unwrap_or(3600);
    match state.repo.take_turn("retention", t, every).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "retention could not start");
            return;
        }
    }
    let cutoff = t.saturating_sub(state.settings.event_retention_days.saturating_mul(86_400));
    let ms = |s: i64| s.saturating_mul(1000);
    let events = state.repo.purge_events(cutoff).await;
    let deliveries = state.repo.purge_deliveries(cutoff).await;
    let jobs =
        state.repo.purge_jobs(ms(t.saturating_sub(COMPLETED_JOBS_DAYS.saturating_mul(86_400))), ms(cutoff)).await;
    let charts_from = t.saturating_sub(CHART_DAYS.saturating_mul(crate::db::charts::DAY));
    if let Err(e) = state.repo.prune_charts(charts_from, charts_from.div_euclid(crate::db::charts::DAY)).await {
        tracing::warn!(error = %e, "retention of the charts' samples failed");
    }
    match (events, deliveries, jobs) {
        (Ok(e), Ok(d), Ok(j)) => {
            tracing::info!(events = e, deliveries = d, jobs = j, "retention: deleted what is past its time")
        }
        (e, d, j) => {
            tracing::warn!(events = ?e.err(), deliveries = ?d.err(), jobs = ?j.err(), "retention failed in part")
        }
    }
}
