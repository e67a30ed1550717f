//! `webhook.replay`: deliveries, to one endpoint, of its store's events after a cursor (those
//! it subscribes to), made in batches. The job is not fenced: run twice (its worker died
//! mid-way), it makes some deliveries twice, which receivers deduplicate by `webhook-id` like
//! any other repeat.

use serde::Deserialize;

use crate::db::{EventPosition, JobRow};
use crate::queue::{Outcome, now_ms};
use crate::state::AppState;

/// Events read per batch.
const BATCH: i64 = 500;

/// The payload.
#[derive(Debug, Deserialize)]
struct Replay {
    endpoint: String,
    txid: i64,
    seq: i64,
}

/// Runs a replay to its end.
pub async fn run_job(state: &AppState, job: &JobRow) -> Outcome {
    let replay: Replay = match serde_json::from_str(&job.payload) {
        Ok(r) => r,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let jobs = super::deliver::delivery_jobs(&state.settings.webhooks);
    let mut at = EventPosition { txid: replay.txid, seq: replay.seq };
    let mut made = 0u64;
    loop {
        match state.repo.replay(&replay.endpoint, at, BATCH, jobs, now_ms()).await {
            Ok((n, Some(last))) => {
                made = made.saturating_add(n);
                at = last;
            }
            Ok((_, None)) => break,
            Err(e) => return Outcome::retry(e),
        }
    }
    tracing::info!(endpoint = %replay.endpoint, deliveries = made, "replay done");
    Outcome::Done
}
