//! The queue's workers: background work that any number of processes pull from the database.
//!
//! The guarantees come first, in docs/events.md ("The queue"); the storage that keeps them is
//! [`crate::db::queue`]. This module is the part that runs: [`runtime::Workers`] claims jobs,
//! runs them, keeps their leases alive and completes them; [`periodic`] holds the work no
//! request starts (fanning events out to webhooks, the `license.expired` scan, retention).
//!
//! A worker needs no listening socket: it only reaches out to the database (and, for webhook
//! deliveries, to the receivers). `fount-server worker` runs workers alone; `fount-server
//! serve` runs them beside the HTTP server unless told `--workers 0`.
//!
//! # Writing a job
//!
//! A job is a [`JobKind`] and a JSON payload. Its handler returns an [`Outcome`]. A handler
//! whose work is a database change makes it in the transaction that completes the job,
//! passing its [`Lease`](crate::db::Lease) to a fenced repository method, and returns
//! [`Outcome::Handled`]: the change then happens exactly once, even when a stalled worker and
//! its successor both ran the job. Any other handler must be safe to run twice.

use std::time::Duration;

use serde_json::json;

use crate::db::NewJob;

pub mod periodic;
pub mod runtime;

pub use runtime::{Pause, Priority, Workers};

/// The kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Probe and seal an uploaded track, then publish it (or mark it failed).
    TrackPackage,
    /// Send one webhook delivery.
    WebhookDeliver,
    /// Make deliveries of a store's past events to an endpoint, in batches.
    WebhookReplay,
    /// The operator's test of the queue: records its key, exactly once.
    QueueProbe,
    /// Read a feed and bring its titles in step; then wait for the next sync.
    FeedSync,
    /// Download a feed item's enclosure and queue it for packaging, as an upload.
    FeedItem,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 6] = [
        JobKind::TrackPackage,
        JobKind::WebhookDeliver,
        JobKind::WebhookReplay,
        JobKind::QueueProbe,
        JobKind::FeedSync,
        JobKind::FeedItem,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::TrackPackage => "track.package",
            JobKind::WebhookDeliver => "webhook.deliver",
            JobKind::WebhookReplay => "webhook.replay",
            JobKind::QueueProbe => "queue.probe",
            JobKind::FeedSync => "feed.sync",
            JobKind::FeedItem => "feed.item",
        }
    }

    /// The kind with this stored name.
    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Claims allowed before a failure makes a job of this kind dead. Webhook deliveries keep
    /// their own schedule (see `webhooks::deliver`); their limit only stops a delivery that
    /// crashes its worker every time.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::TrackPackage | JobKind::FeedItem => 5,
            JobKind::WebhookDeliver => 25,
            JobKind::WebhookReplay | JobKind::QueueProbe | JobKind::FeedSync => 10,
        }
    }

    /// Higher runs first: what a store is waiting to see before what it is not.
    pub fn priority(self) -> i64 {
        match self {
            JobKind::TrackPackage => 20,
            JobKind::FeedItem => 15,
            JobKind::WebhookDeliver => 10,
            JobKind::FeedSync => 5,
            JobKind::WebhookReplay | JobKind::QueueProbe => 0,
        }
    }

    /// A job of this kind, due now.
    pub fn job(self, payload: serde_json::Value, store_id: Option<&str>, now_ms: i64) -> NewJob {
        NewJob {
            id: crate::db::new_job_id(),
            kind: self.as_str().to_owned(),
            payload: payload.to_string(),
            store_id: store_id.map(str::to_owned),
            priority: self.priority(),
            run_at: now_ms,
            unique_key: None,
            max_attempts: self.max_attempts(),
        }
    }
}

/// What a handler's run of a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: complete the job (in a batch with others).
    Done,
    /// A probe done: complete the job and record its key, in one transaction.
    Probe(String),
    /// The handler completed or rescheduled the job itself, in a fenced transaction.
    Handled,
    /// Failed: try again later (after the backoff, or at `at`, in ms), or dead if this was
    /// the last attempt.
    Retry {
        /// Why.
        error: String,
        /// When, if not after the backoff.
        at: Option<i64>,
    },
    /// Failed for good: dead now, whatever attempts are left.
    Fatal(String),
}

impl Outcome {
    /// A failure to retry after the backoff.
    pub fn retry(error: impl std::fmt::Display) -> Self {
        Outcome::Retry { error: error.to_string(), at: None }
    }
}

/// The wait before attempt `attempt + 1` of a failed job: 2^attempt seconds (2 s, 4 s, 8 s …),
/// at most an hour, ±20% at random so that jobs failing together do not retry together.
pub fn backoff(attempt: i64, random: f64) -> Duration {
    let exp = u32::try_from(attempt.clamp(1, 12)).unwrap_or(12);
    let base = 2u64.saturating_pow(exp).min(3600);
    jitter(Duration::from_secs(base), random)
}

/// `d` scaled by a factor between 0.8 and 1.2, given `random` in `[0, 1)`.
pub fn jitter(d: Duration, random: f64) -> Duration {
    d.mul_f64(0.8 + 0.4 * random.clamp(0.0, 1.0))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A `[0, 1)` random number for jitter (not for secrets).
pub fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    // The system RNG does not fail on supported platforms; were it to, no jitter is harmless.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    // 53 random bits, the precision of an f64, over 2^53.
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// The payload of a `queue.probe` job: its key, how long it works, how many of its attempts
/// fail, and after how long a failed one is retried (the backoff when `None`).
pub fn probe_payload(key: &str, work_ms: u64, fail_times: u64, retry_ms: Option<u64>) -> serde_json::Value {
    json!({"key": key, "work_ms": work_ms, "fail_times": fail_times, "retry_ms": retry_ms})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("nope"), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(40, 0.5), Duration::from_secs(3600));
        assert_eq!(backoff(3, 0.0), Duration::from_secs_f64(6.4));
        assert!(backoff(3, 0.999_999) < Duration::from_secs_f64(9.6));
        let r = random_unit();
        assert!((0.0..1.0).contains(&r));
    }
}
