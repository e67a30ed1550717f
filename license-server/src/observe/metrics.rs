//! The metrics Fount keeps, in the Prometheus text format at `GET /metrics`.
//!
//! | metric | type | labels | what it counts |
//! | --- | --- | --- | --- |
//! | `fount_http_requests_total` | counter | `route`, `method`, `status` | answers given |
//! | `fount_http_request_duration_seconds` | histogram | `route`, `method`, `status` | time to the answer's head |
//! | `fount_licenses_issued_total` | counter | `kind` (`acquired`, `renewed`) | licenses signed |
//! | `fount_devices_registered_total` | counter | | devices newly registered |
//! | `fount_webhook_attempts_total` | counter | `result` | delivery attempts made by this process's workers |
//! | `fount_feed_syncs_total` | counter | `result` (`changed`, `unchanged`, `failed`) | feed reads by this process's workers |
//! | `fount_queue_jobs` | gauge | `kind`, `state` | jobs in the queue, read from the database when scraped |
//! | `fount_queue_oldest_due_seconds` | gauge | `kind` | how long the oldest due job of a kind has waited |
//! | `fount_db_connections` | gauge | `pool`, `state` (`idle`, `in_use`) | this process's database connections |
//! | `fount_db_connections_max` | gauge | `pool` | the most each pool opens |
//!
//! `route` is the pattern the request matched (`/v1/titles/{title}`), or `unmatched`, so the
//! number of series stays bounded whatever clients send. Counters live in the process that
//! did the work: a `worker` process serves its own `/metrics` (`--metrics-listen`), and
//! Prometheus sums the processes (examples/prometheus).
//!
//! The recorder is process-wide (the `metrics` facade has one), installed the first time an
//! [`AppState`] is opened; tests that start several servers in one process share it.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Answers given, by route, method and status.
pub const HTTP_REQUESTS: &str = "fount_http_requests_total";
/// Time from the request's head to the answer's head, seconds.
pub const HTTP_DURATION: &str = "fount_http_request_duration_seconds";
/// Licenses signed, by `kind`.
pub const LICENSES_ISSUED: &str = "fount_licenses_issued_total";
/// Devices newly registered.
pub const DEVICES_REGISTERED: &str = "fount_devices_registered_total";
/// Webhook delivery attempts, by `result`.
pub const WEBHOOK_ATTEMPTS: &str = "fount_webhook_attempts_total";
/// Feed reads, by `result`.
pub const FEED_SYNCS: &str = "fount_feed_syncs_total";
/// Jobs in the queue, by `kind` and `state`.
pub const QUEUE_JOBS: &str = "fount_queue_jobs";
/// The wait of the oldest due job, by `kind`, seconds.
pub const QUEUE_OLDEST_DUE: &str = "fount_queue_oldest_due_seconds";
/// Database connections, by `pool` and `state`.
pub const DB_CONNECTIONS: &str = "fount_db_connections";
/// The size limit of each pool.
pub const DB_CONNECTIONS_MAX: &str = "fount_db_connections_max";

/// Latency buckets, seconds: from a cached read (a millisecond) to a slow upload's answer.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often histogram samples are folded into their buckets, scraped or not, so that a server
/// nobody scrapes does not keep every sample.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder, once; later calls return the same handle. `None` when
/// another recorder was installed first (an embedding program's own): Fount then records into
/// it and `/metrics` says it has nothing.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: the latency buckets were refused; metrics are off");
                    return None;
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "metrics: another recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new().name("fount-metrics".into()).spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "metrics: no upkeep thread; histograms are folded when scraped");
            }
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP answers given, by route pattern, method and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time from a request's head to its answer's head.");
    describe_counter!(LICENSES_ISSUED, "Licenses signed: acquired, or renewed.");
    describe_counter!(DEVICES_REGISTERED, "Devices newly registered by customers.");
    describe_counter!(WEBHOOK_ATTEMPTS, "Webhook delivery attempts by this process's workers, by result.");
    describe_counter!(FEED_SYNCS, "Feed reads by this process's workers: changed, unchanged or failed.");
    describe_counter!(crate::origin::ORIGIN_RESPONSES, "Answers the origin (FOUNT_ORIGIN_LISTEN) gave, by status.");
    describe_counter!(crate::origin::ORIGIN_BYTES, Unit::Bytes, "Sealed bytes the origin sent.");
    describe_gauge!(QUEUE_JOBS, "Jobs in the queue by kind and state (queued, scheduled, running, dead).");
    describe_gauge!(QUEUE_OLDEST_DUE, Unit::Seconds, "How long the oldest due job of a kind has waited.");
    describe_gauge!(DB_CONNECTIONS, "This process's database connections by pool and state.");
    describe_gauge!(DB_CONNECTIONS_MAX, "The most connections each pool opens.");
}

/// Counts a license signed (`acquired` or `renewed`).
pub fn license_issued(kind: &'static str) {
    metrics::counter!(LICENSES_ISSUED, "kind" => kind).increment(1);
}

/// Counts a device newly registered.
pub fn device_registered() {
    metrics::counter!(DEVICES_REGISTERED).increment(1);
}

/// Counts a webhook delivery attempt by its result.
pub fn webhook_attempt(result: &'static str) {
    metrics::counter!(WEBHOOK_ATTEMPTS, "result" => result).increment(1);
}

/// Counts a feed read by its result.
pub fn feed_sync(result: &'static str) {
    metrics::counter!(FEED_SYNCS, "result" => result).increment(1);
}

/// The `/metrics` text: the gauges read now, then everything rendered. An error reading the
/// queue leaves its gauges as they were and is logged; the rest is still served.
pub async fn render(state: &AppState) -> String {
    let Some(handle) = install() else { return String::new() };
    match state.repo.queue_stats(crate::queue::now_ms()).await {
        Ok(stats) => {
            // Every kind, so that a kind whose jobs are all done reads zero rather than its
            // last count.
            for kind in crate::queue::JobKind::ALL.map(crate::queue::JobKind::as_str) {
                let none = crate::db::KindStats::default();
                let k = stats.kinds.iter().find(|k| k.kind == kind).unwrap_or(&none);
                for (s, n) in
                    [("queued", k.queued), ("scheduled", k.scheduled), ("running", k.running), ("dead", k.dead)]
                {
                    // Counts of jobs are far below 2^53: the float is exact.
                    #[allow(clippy::cast_precision_loss)]
                    metrics::gauge!(QUEUE_JOBS, "kind" => kind, "state" => s).set(n as f64);
                }
                metrics::gauge!(QUEUE_OLDEST_DUE, "kind" => kind).set(k.oldest_due_seconds);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the queue could not be read"),
    }
    for pool in state.repo.pools() {
        let in_use = pool.size.saturating_sub(pool.idle);
        metrics::gauge!(DB_CONNECTIONS, "pool" => pool.name, "state" => "idle").set(f64::from(pool.idle));
        metrics::gauge!(DB_CONNECTIONS, "pool" => pool.name, "state" => "in_use").set(f64::from(in_use));
        metrics::gauge!(DB_CONNECTIONS_MAX, "pool" => pool.name).set(f64::from(pool.max));
    }
    handle.run_upkeep();
    handle.render()
}
