//! Seeing what a running server does: metrics for Prometheus, logs, and a request id that
//! ties a client's answer to the server's log lines.
//!
//! * [`metrics`]: the names and meaning of every metric, the process-wide recorder, and the
//!   `/metrics` text (Prometheus exposition format, rendered by `metrics-exporter-prometheus`).
//!   Counters are kept where things happen (a license issued, a delivery made); gauges of
//!   state held in the database (queue depth and age) are read when scraped, so every process
//!   reports the same truth.
//! * [`request`]: the middleware every request passes first: it gives the request an id
//!   (`X-Request-Id`, also in problem details), times it, counts it by route and status, and
//!   writes the access log line inside the request's span.
//! * [`logs`]: text or JSON log lines (`FOUNT_LOG_FORMAT`), on stderr.
//!
//! Nothing here sees a secret: labels are route patterns (`/v1/titles/{title}`), methods,
//! statuses and job kinds, never ids, paths or query strings.

pub mod logs;
pub mod metrics;
pub mod request;

pub use request::{Observe, RequestId, current_request_id};
