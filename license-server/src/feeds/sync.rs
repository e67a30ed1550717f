//! `feed.sync`: reads a feed and records what it found, then puts itself back in the queue
//! for the next sync (see [the guarantees](super)).

use sha2::{Digest as _, Sha256};

use super::details::{self, FeedDetails, ItemDetails};
use super::fetch::{self, FeedAnswer, Validators};
use super::parse;
use super::plan::{self, Step};
use super::websub;
use crate::db::feeds::{FeedRead, ItemChange};
use crate::db::{Fenced, JobRow, Lease};
use crate::queue::{Outcome, backoff, jitter, now_ms, random_unit};
use crate::state::AppState;

/// The largest feed read, bytes.
pub const MAX_FEED_BYTES: u64 = 16 * 1024 * 1024;

/// When the next sync is due after one that worked: the interval, ±20% so that feeds added
/// together do not stay in step.
fn next_at(interval_s: i64) -> i64 {
    let d = jitter(std::time::Duration::from_secs(u64::try_from(interval_s.max(1)).unwrap_or(3600)), random_unit());
    now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// After `failures` failed syncs in a row: the queue's backoff, but never sooner than a minute
/// nor later than the feed's own interval.
fn retry_at(failures: i64, interval_s: i64) -> i64 {
    let d = backoff(failures.saturating_add(5), random_unit()).as_secs();
    let d = i64::try_from(d).unwrap_or(3600).clamp(60, interval_s.max(60));
    now_ms().saturating_add(d.saturating_mul(1000))
}

/// Runs a `feed.sync` job.
pub async fn run_job(state: &AppState, job: &JobRow, lease: &Lease) -> Outcome {
    let payload: serde_json::Value = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let Some(feed_id) = payload["feed"].as_str() else { return Outcome::Fatal("bad payload: no feed".into()) };
    let feed = match state.repo.feed(feed_id).await {
        Ok(Some(f)) => f,
        // Deleted: its sync ends with it.
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::retry(e),
    };
    if feed.status == "paused" {
        // Resuming queues a new sync.
        return Outcome::Done;
    }
    let audit = state.audit("system");
    let validators = Validators { etag: feed.etag.clone(), last_modified: feed.last_modified.clone() };
    let answer = fetch::feed(&state.outbound, &feed.url, &validators, MAX_FEED_BYTES).await;
    let (feed_ref, audit_ref) = (&feed, &audit);
    let fail = |error: String| async move {
        crate::observe::metrics::feed_sync("failed");
        let at = retry_at(feed_ref.failures.saturating_add(1), feed_ref.interval_s);
        match state.repo.record_feed_failure(&feed_ref.id, &error, lease, at, audit_ref, now_ms()).await {
            Ok(_) => Outcome::Handled,
            Err(e) => Outcome::retry(e),
        }
    };
    let (bytes, validators, moved_to) = match answer {
        Ok(FeedAnswer::NotModified) => return unchanged(state, &feed, lease).await,
        Ok(FeedAnswer::Body { bytes, validators, moved_to }) => (bytes, validators, moved_to),
        Err(e) => return fail(e.to_string()).await,
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if feed.body_sha256.as_deref() == Some(sha256.as_str()) && moved_to.is_none() {
        return unchanged(state, &feed, lease).await;
    }
    let parsed = match parse::parse(&bytes) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()).await,
    };
    drop(bytes);
    let stored = match state.repo.feed_items(&feed.id).await {
        Ok(items) => items,
        Err(e) => return Outcome::retry(e),
    };
    let mut steps = plan::plan(&parsed, &stored);
    if feed.mode == "serial" {
        plan::serial_order(&mut steps);
    }
    let changes = steps.into_iter().map(change).collect();
    // Where the feed says it moved (`itunes:new-feed-url`), if the policy allows it.
    let announced = parsed.new_url.clone().filter(|u| *u != feed.url && state.outbound.check(u).is_ok());
    let hub = parsed.hub.clone().map(|hub| (hub, parsed.self_url.clone().unwrap_or_else(|| feed.url.clone())));
    let read = FeedRead {
        name: Some(parsed.title.clone()).filter(|t| !t.is_empty()),
        url: moved_to.or(announced),
        etag: validators.etag,
        last_modified: validators.last_modified,
        body_sha256: sha256,
        hub: parsed.hub.clone(),
        details: details::to_json(&FeedDetails::from(&parsed)),
        changes,
    };
    crate::observe::metrics::feed_sync("changed");
    match state.repo.record_feed_read(&feed.id, &read, lease, next_at(feed.interval_s), &audit, now_ms()).await {
        Ok(Fenced::Done(_) | Fenced::Lost) => {}
        Err(e) => return Outcome::retry(e),
    }
    if let Some((hub, topic)) = hub {
        subscribe_if_due(state, &feed, &hub, &topic).await;
    }
    Outcome::Handled
}

/// Subscribes to the feed's WebSub hub when its subscription is due ([`websub::due`]).
async fn subscribe_if_due(state: &AppState, feed: &crate::db::FeedRow, hub: &str, topic: &str) {
    if websub::due(feed, hub, topic, crate::state::now()) {
        websub::subscribe(state, feed, hub, topic).await;
    }
}

/// An unchanged feed: the sync job waits for the next one, the only write (a feed that was
/// failing also gets its failure cleared).
async fn unchanged(state: &AppState, feed: &crate::db::FeedRow, lease: &Lease) -> Outcome {
    crate::observe::metrics::feed_sync("unchanged");
    let at = next_at(feed.interval_s);
    let done = if feed.failures > 0 {
        state.repo.record_feed_recovered(&feed.id, lease, at, now_ms()).await
    } else {
        state.repo.requeue_job(lease, at, now_ms()).await
    };
    if let Err(e) = done {
        return Outcome::retry(e);
    }
    // A subscription is renewed on the unchanged path too, or a feed that never changes
    // would let its lease run out.
    if let Some(hub) = feed.hub.as_deref() {
        subscribe_if_due(state, feed, hub, feed.hub_topic.as_deref().unwrap_or(&feed.url)).await;
    }
    Outcome::Handled
}

fn change(step: Step) -> ItemChange {
    let row = |item: &parse::Item, status: &str, error: Option<String>, known: bool| ItemChange::Upsert {
        guid: item.guid.clone(),
        name: item.title.clone(),
        enclosure_url: item.enclosure.as_ref().map(|e| e.url.clone()),
        enclosure_length: item.enclosure.as_ref().and_then(|e| e.length).and_then(|l| i64::try_from(l).ok()),
        enclosure_type: item.enclosure.as_ref().map(|e| e.media_type.clone()),
        status: status.to_owned(),
        error,
        known,
        details: details::to_json(&ItemDetails::from(item)),
    };
    match step {
        Step::Import(item) => row(&item, "queued", None, false),
        Step::Repackage(item) => row(&item, "queued", None, true),
        Step::Fail(item) => row(&item, "failed", item.problem.clone(), true),
        Step::Keep(item) => {
            ItemChange::Keep { details: details::to_json(&ItemDetails::from(&item)), guid: item.guid, name: item.title }
        }
        Step::Remove { guid } => ItemChange::Remove { guid },
    }
}
