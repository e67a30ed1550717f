//! The job queue's storage: [`JobQueue`], its rows, and the SQL both backends share.
//!
//! The guarantees are written down in docs/events.md ("The queue"); this is how the SQL keeps
//! them.
//!
//! * *Claiming* is one statement: the due jobs (queued and due, or running with an ended
//!   lease and attempts left) are marked `running` for this worker until `now + lease`, and
//!   their `attempts` incremented. On PostgreSQL the inner select takes its rows `FOR UPDATE
//!   SKIP LOCKED`, so concurrent workers take disjoint sets without waiting on each other; on
//!   SQLite the one writer connection serialises claims.
//! * *Fencing.* `(worker, attempts)` of a claim is its lease token ([`Lease`]). Every later
//!   write about the job (complete, retry, extend, release) matches `worker`, `attempts` and
//!   `state = 'running'`, so a worker whose lease ended and whose job another worker took
//!   changes nothing. Jobs whose work is a database change make it in the transaction that
//!   completes them (see [`Done::probe`], and the track and webhook methods that take a
//!   [`Lease`]): such work happens exactly once.
//! * *Unique jobs*: a partial unique index on `unique_key` over queued and running jobs; an
//!   insert that meets it returns the existing job.
//! * *Times* are milliseconds since the epoch, unlike the rest of the schema: leases and
//!   backoffs are shorter than a second in tests and benchmarks.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;

use super::page::{Cursor, Keyed};
use super::{DbResult, Page, PageQuery};

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id (see [`new_job_id`]).
    pub id: String,
    /// What to do (see [`crate::queue::JobKind`]).
    pub kind: String,
    /// Its arguments, JSON.
    pub payload: String,
    /// The store it works for, if any (that store may read it: `GET /v1/jobs/{id}`).
    pub store_id: Option<String>,
    /// Higher runs first.
    pub priority: i64,
    /// Not before this time (ms).
    pub run_at: i64,
    /// At most one queued or running job has this key.
    pub unique_key: Option<String>,
    /// Claims allowed before a failure makes it dead.
    pub max_attempts: i64,
}

/// A job as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    /// `job_…`.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its arguments, JSON.
    pub payload: String,
    /// The store it works for.
    pub store_id: Option<String>,
    /// Higher runs first.
    pub priority: i64,
    /// Due from (ms).
    pub run_at: i64,
    /// Uniqueness key.
    pub unique_key: Option<String>,
    /// `queued`, `running`, `completed` or `dead`.
    pub state: String,
    /// Claims so far; with `worker`, the lease token.
    pub attempts: i64,
    /// Claims allowed.
    pub max_attempts: i64,
    /// The lease's end (ms), while running.
    pub lease_until: Option<i64>,
    /// The worker holding (or that last held) it.
    pub worker: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Inserted (ms).
    pub created_at: i64,
    /// Last changed (ms).
    pub updated_at: i64,
    /// Completed or dead (ms).
    pub finished_at: Option<i64>,
    /// What a completed job produced, JSON (the kind says what).
    pub result: Option<String>,
}

impl Keyed for JobRow {
    fn key(&self) -> Cursor {
        Cursor { at: self.created_at, id: self.id.clone() }
    }
}

impl JobRow {
    /// The lease of a running job: what its worker fences its writes with.
    pub fn lease(&self) -> Option<Lease> {
        let worker = self.worker.clone()?;
        (self.state == "running").then(|| Lease { job_id: self.id.clone(), worker, attempt: self.attempts })
    }
}

/// A claim of a job: the worker and the attempt it claimed. Writes that carry it take effect
/// only while the claim is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: String,
    /// The claiming worker's id.
    pub worker: String,
    /// The job's `attempts` after the claim.
    pub attempt: i64,
}

/// A job finished by its handler, to complete in a batch.
#[derive(Debug, Clone)]
pub struct Done {
    /// Its claim.
    pub lease: Lease,
    /// A probe's key, recorded in `queue_probes` in the transaction that completes the job.
    pub probe: Option<String>,
}

/// What a write fenced by a [`Lease`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fenced<T> {
    /// The lease was current: the write was made, and answered this.
    Done(T),
    /// The lease was lost (another worker holds the job): nothing was written.
    Lost,
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again from this time (ms), if attempts are left; dead otherwise.
    At(i64),
    /// Do not try again: dead now.
    Never,
}

/// The queue at a glance, for operators.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QueueStats {
    /// Due and waiting for a worker.
    pub queued: i64,
    /// Waiting for a later time (scheduled, or backing off after a failure).
    pub scheduled: i64,
    /// Held by a worker.
    pub running: i64,
    /// Waiting after at least one failed attempt (a subset of `queued` and `scheduled`).
    pub retrying: i64,
    /// Out of attempts: kept for the operator to look at and retry.
    pub dead: i64,
    /// Completed in the last hour.
    pub completed_last_hour: i64,
    /// How long the oldest due job has waited, in seconds (0 when none waits).
    pub oldest_due_seconds: f64,
    /// The same, by kind.
    pub kinds: Vec<KindStats>,
}

/// The queue's counts for one kind of job.
#[derive(Debug, Clone, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct KindStats {
    /// The kind.
    pub kind: String,
    /// Due and waiting.
    pub queued: i64,
    /// Waiting for a later time.
    pub scheduled: i64,
    /// Held by a worker.
    pub running: i64,
    /// Out of attempts.
    pub dead: i64,
    /// How long the oldest due job of this kind has waited, in seconds (0 when none waits).
    #[sqlx(skip)]
    pub oldest_due_seconds: f64,
    /// When the oldest due job became due, ms since the epoch.
    #[serde(skip)]
    pub oldest_due_at: Option<i64>,
}

/// What probe jobs did (`fount-server queue probes`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeCounts {
    /// Distinct keys done.
    pub keys: i64,
    /// Executions recorded: equal to `keys` when each was done once.
    pub executions: i64,
    /// Executions by worker id.
    pub workers: std::collections::BTreeMap<String, i64>,
}

/// Wakes idle workers when jobs are inserted.
#[async_trait]
pub trait JobWaker: Send {
    /// Returns when jobs may have been inserted since the last call, or after `max`.
    async fn wait(&mut self, max: Duration);
}

/// The queue (see the module's documentation for how it keeps its guarantees).
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Inserts a job; a job with a `unique_key` already queued or running is returned instead.
    async fn enqueue(&self, job: &NewJob, now_ms: i64) -> DbResult<JobRow>;
    /// Inserts many jobs in one transaction (no unique keys); returns how many.
    async fn enqueue_batch(&self, jobs: &[NewJob], now_ms: i64) -> DbResult<u64>;
    /// Claims up to `limit` due jobs for `worker`, leased until `now_ms + lease_ms`, highest
    /// priority first, then oldest.
    async fn claim(&self, worker: &str, limit: i64, lease_ms: i64, now_ms: i64) -> DbResult<Vec<JobRow>>;
    /// Extends the leases `worker` still holds (`(job, attempt)` pairs) to `until_ms`;
    /// returns the jobs whose lease it extended (the others were lost).
    async fn extend(&self, worker: &str, held: &[(String, i64)], until_ms: i64) -> DbResult<Vec<String>>;
    /// Completes finished jobs of `worker` (with their probes), in one transaction; returns
    /// the ids completed (a job whose lease was lost is not).
    async fn complete(&self, worker: &str, done: &[Done], now_ms: i64) -> DbResult<Vec<String>>;
    /// Records a failed attempt: the job is queued again at the given time if attempts are
    /// left, or dead. Returns the new state, `None` if the lease was lost.
    async fn fail(&self, lease: &Lease, error: &str, retry: Retry, now_ms: i64) -> DbResult<Option<String>>;
    /// Releases jobs a stopping worker holds: claimable again at once, the interrupted attempt
    /// not counted. Returns how many.
    async fn release(&self, worker: &str, held: &[(String, i64)], now_ms: i64) -> DbResult<u64>;
    /// Marks dead the jobs whose lease ended on their last attempt (their worker died);
    /// returns how many.
    async fn rescue(&self, now_ms: i64) -> DbResult<u64>;
    /// A job by id.
    async fn job(&self, id: &str) -> DbResult<Option<JobRow>>;
    /// Jobs, newest first, optionally of one state and one kind.
    async fn jobs(&self, state: Option<&str>, kind: Option<&str>, page: &PageQuery) -> DbResult<Page<JobRow>>;
    /// Queues a dead job again with its attempts reset; `None` if it is not dead.
    async fn retry_dead(&self, id: &str, now_ms: i64) -> DbResult<Option<JobRow>>;
    /// Counts for the operator.
    async fn queue_stats(&self, now_ms: i64) -> DbResult<QueueStats>;
    /// What the probes whose keys start with `prefix` did.
    async fn probe_counts(&self, prefix: &str) -> DbResult<ProbeCounts>;
    /// Deletes jobs completed before `before_ms` and dead ones finished before `dead_before_ms`.
    async fn purge_jobs(&self, before_ms: i64, dead_before_ms: i64) -> DbResult<u64>;
    /// A waker for idle workers: PostgreSQL `LISTEN`, or this process's own inserts on SQLite.
    async fn job_waker(&self) -> DbResult<Box<dyn JobWaker>>;
    /// Whether it is this process's turn at the periodic task `name`, run once every `every`
    /// seconds across all processes: `true` at most once per period, to one caller.
    async fn take_turn(&self, name: &str, now: i64, every: i64) -> DbResult<bool>;
}

/// Wakes this process's idle workers when it inserts jobs (the only wake-up SQLite has;
/// on PostgreSQL it saves the round trip through `NOTIFY`).
#[derive(Debug)]
pub struct LocalSignal {
    tx: tokio::sync::watch::Sender<u64>,
}

impl Default for LocalSignal {
    fn default() -> Self {
        LocalSignal { tx: tokio::sync::watch::channel(0).0 }
    }
}

impl LocalSignal {
    /// Jobs were inserted.
    pub fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A waker that returns on the next [`bump`](Self::bump).
    pub fn waker(&self) -> LocalWaker {
        LocalWaker { rx: self.tx.subscribe() }
    }
}

/// See [`LocalSignal::waker`].
pub struct LocalWaker {
    rx: tokio::sync::watch::Receiver<u64>,
}

#[async_trait]
impl JobWaker for LocalWaker {
    async fn wait(&mut self, max: Duration) {
        // A bump since the last call returns at once: none is missed between a claim that
        // found nothing and this wait.
        let _ = tokio::time::timeout(max, self.rx.changed()).await;
    }
}

/// A new job id.
pub fn new_job_id() -> String {
    format!("job_{}", uuid::Uuid::new_v4().simple())
}

/// The `[[job, attempt], …]` JSON the fenced batch statements expand.
pub(crate) fn fences_json<'a>(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> String {
    serde_json::Value::Array(pairs.into_iter().map(|(id, attempt)| serde_json::json!([id, attempt])).collect())
        .to_string()
}

/// Inserts job `$1`..: id, kind, payload, store, priority, run_at, unique key, max attempts,
/// now; answers the row, or nothing when its unique key is taken.
pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs (id, kind, payload, store_id, priority, run_at, unique_key, state, attempts, max_attempts, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $9) \
     ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running') DO NOTHING RETURNING *";

/// Implements [`JobQueue`] for a backend. Besides the `read` pool and `begin_write` of
/// [`portable_repository`], the backend has an `on_background` method (a write of the
/// workers, which on SQLite gives way to requests' writes), a `jobs: LocalSignal` field, and
/// gives the statements its dialect spells differently:
///
/// * `claim`: `$1` worker, `$2` lease end, `$3` now, `$4` limit;
/// * `fenced`: a condition matching `(id, attempts)` to a pair of `$1` (a [`fences_json`]
///   array);
/// * `probes`: inserts `queue_probes` rows from `$1` (`[[job, key], …]`), worker `$2`, at `$3`;
/// * `waker`: an expression of type `DbResult<Box<dyn JobWaker>>`, with the repository bound
///   to the given name.
///
/// The `insert_job` and `signal_jobs` helpers come from [`portable_repository`].
macro_rules! portable_queue {
    (
        $repo:ty,
        claim = $claim:literal,
        fenced = $fenced:literal,
        probes = $probes:literal,
        waker = |$this:ident| $waker:expr $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::db::JobQueue for $repo {
            async fn enqueue(&self, job: &$crate::db::NewJob, now_ms: i64) -> $crate::db::DbResult<$crate::db::JobRow> {
                let job = job.clone();
                let row = self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row = match insert_job(&mut tx, &job, now_ms).await? {
                        Some(row) => row,
                        // The key is taken: the job holding it. It cannot finish meanwhile,
                        // because this transaction read the index entry that conflicted.
                        None => sqlx::query_as(
                            "SELECT * FROM jobs WHERE unique_key = $1 AND state IN ('queued', 'running')",
                        )
                        .bind(&job.unique_key)
                        .fetch_one(&mut *tx)
                        .await?,
                    };
                    signal_jobs(&mut tx).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await?;
                self.jobs.bump();
                Ok(row)
            }

            async fn enqueue_batch(&self, jobs: &[$crate::db::NewJob], now_ms: i64) -> $crate::db::DbResult<u64> {
                let jobs = jobs.to_vec();
                let n = self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let mut n = 0u64;
                    for job in &jobs {
                        if insert_job(&mut tx, job, now_ms).await?.is_some() {
                            n = n.saturating_add(1);
                        }
                    }
                    signal_jobs(&mut tx).await?;
                    tx.commit().await?;
                    Ok(n)
                })
                .await?;
                self.jobs.bump();
                Ok(n)
            }

            async fn claim(&self, worker: &str, limit: i64, lease_ms: i64, now_ms: i64) -> $crate::db::DbResult<Vec<$crate::db::JobRow>> {
                let worker = worker.to_owned();
                let mut rows: Vec<$crate::db::JobRow> = self
                    .on_background(move |pool| async move {
                        Ok(sqlx::query_as($claim)
                            .bind(worker)
                            .bind(now_ms.saturating_add(lease_ms))
                            .bind(now_ms)
                            .bind(limit)
                            .fetch_all(&pool)
                            .await?)
                    })
                    .await?;
                // RETURNING keeps no order.
                rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)).then(a.id.cmp(&b.id)));
                Ok(rows)
            }

            async fn extend(&self, worker: &str, held: &[(String, i64)], until_ms: i64) -> $crate::db::DbResult<Vec<String>> {
                if held.is_empty() {
                    return Ok(Vec::new());
                }
                let fences = $crate::db::queue::fences_json(held.iter().map(|(id, a)| (id.as_str(), *a)));
                let worker = worker.to_owned();
                self.on_background(move |pool| async move {
                    Ok(sqlx::query_scalar(concat!(
                        "UPDATE jobs SET lease_until = $2 WHERE state = 'running' AND worker = $3 AND ",
                        $fenced,
                        " RETURNING id"
                    ))
                    .bind(fences)
                    .bind(until_ms)
                    .bind(worker)
                    .fetch_all(&pool)
                    .await?)
                })
                .await
            }

            async fn complete(&self, worker: &str, done: &[$crate::db::Done], now_ms: i64) -> $crate::db::DbResult<Vec<String>> {
                if done.is_empty() {
                    return Ok(Vec::new());
                }
                let fences = $crate::db::queue::fences_json(done.iter().map(|d| (d.lease.job_id.as_str(), d.lease.attempt)));
                let probes: Vec<(String, String)> =
                    done.iter().filter_map(|d| d.probe.clone().map(|k| (d.lease.job_id.clone(), k))).collect();
                let worker = worker.to_owned();
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let completed: Vec<String> = sqlx::query_scalar(concat!(
                        "UPDATE jobs SET state = 'completed', lease_until = NULL, finished_at = $2, updated_at = $2 \
                         WHERE state = 'running' AND worker = $3 AND ",
                        $fenced,
                        " RETURNING id"
                    ))
                    .bind(fences)
                    .bind(now_ms)
                    .bind(&worker)
                    .fetch_all(&mut *tx)
                    .await?;
                    if !probes.is_empty() {
                        let completed_set: std::collections::HashSet<&str> = completed.iter().map(String::as_str).collect();
                        let rows: Vec<serde_json::Value> = probes
                            .iter()
                            .filter(|(job, _)| completed_set.contains(job.as_str()))
                            .map(|(job, key)| serde_json::json!([job, key]))
                            .collect();
                        if !rows.is_empty() {
                            sqlx::query($probes)
                                .bind(serde_json::Value::Array(rows).to_string())
                                .bind(&worker)
                                .bind(now_ms)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(completed)
                })
                .await
            }

            async fn fail(&self, lease: &$crate::db::Lease, error: &str, retry: $crate::db::Retry, now_ms: i64) -> $crate::db::DbResult<Option<String>> {
                let (lease, error) = (lease.clone(), error.to_owned());
                let retry_at = match retry {
                    $crate::db::Retry::At(at) => Some(at),
                    $crate::db::Retry::Never => None,
                };
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let state: Option<String> = sqlx::query_scalar(
                        "UPDATE jobs SET \
                           state = CASE WHEN $4 IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'dead' END, \
                           run_at = CASE WHEN $4 IS NOT NULL AND attempts < max_attempts THEN $4 ELSE run_at END, \
                           finished_at = CASE WHEN $4 IS NOT NULL AND attempts < max_attempts THEN NULL ELSE $5 END, \
                           lease_until = NULL, last_error = $6, updated_at = $5 \
                         WHERE id = $1 AND worker = $2 AND attempts = $3 AND state = 'running' RETURNING state",
                    )
                    .bind(&lease.job_id)
                    .bind(&lease.worker)
                    .bind(lease.attempt)
                    .bind(retry_at)
                    .bind(now_ms)
                    .bind(error)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if state.as_deref() == Some("queued") {
                        signal_jobs(&mut tx).await?;
                    }
                    tx.commit().await?;
                    Ok(state)
                })
                .await
            }

            async fn release(&self, worker: &str, held: &[(String, i64)], now_ms: i64) -> $crate::db::DbResult<u64> {
                if held.is_empty() {
                    return Ok(0);
                }
                let fences = $crate::db::queue::fences_json(held.iter().map(|(id, a)| (id.as_str(), *a)));
                let worker = worker.to_owned();
                let n = self
                    .on_background(move |pool| async move {
                        let mut tx = begin_write(&pool).await?;
                        let n = sqlx::query(concat!(
                            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, worker = NULL, \
                             run_at = $2, updated_at = $2 WHERE state = 'running' AND worker = $3 AND ",
                            $fenced
                        ))
                        .bind(fences)
                        .bind(now_ms)
                        .bind(worker)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        signal_jobs(&mut tx).await?;
                        tx.commit().await?;
                        Ok(n)
                    })
                    .await?;
                self.jobs.bump();
                Ok(n)
            }

            async fn rescue(&self, now_ms: i64) -> $crate::db::DbResult<u64> {
                self.on_background(move |pool| async move {
                    Ok(sqlx::query(
                        "UPDATE jobs SET state = 'dead', lease_until = NULL, finished_at = $1, updated_at = $1, \
                         last_error = 'the worker stopped during the last attempt (its lease ended)' \
                         WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
                    )
                    .bind(now_ms)
                    .execute(&pool)
                    .await?
                    .rows_affected())
                })
                .await
            }

            async fn job(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::JobRow>> {
                Ok(sqlx::query_as("SELECT * FROM jobs WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn jobs(&self, state: Option<&str>, kind: Option<&str>, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::JobRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM jobs WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR kind = $2) \
                     AND ($3 IS NULL OR (created_at, id) < ($3, $4)) ORDER BY created_at DESC, id DESC LIMIT $5",
                )
                .bind(state)
                .bind(kind)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn retry_dead(&self, id: &str, now_ms: i64) -> $crate::db::DbResult<Option<$crate::db::JobRow>> {
                let id = id.to_owned();
                let row = self
                    .on_background(move |pool| async move {
                        let mut tx = begin_write(&pool).await?;
                        let row: Option<$crate::db::JobRow> = sqlx::query_as(
                            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, updated_at = $2, finished_at = NULL, worker = NULL \
                             WHERE id = $1 AND state = 'dead' RETURNING *",
                        )
                        .bind(id)
                        .bind(now_ms)
                        .fetch_optional(&mut *tx)
                        .await?;
                        signal_jobs(&mut tx).await?;
                        tx.commit().await?;
                        Ok(row)
                    })
                    .await?;
                self.jobs.bump();
                Ok(row)
            }

            async fn queue_stats(&self, now_ms: i64) -> $crate::db::DbResult<$crate::db::QueueStats> {
                let mut kinds: Vec<$crate::db::KindStats> = sqlx::query_as(
                    "SELECT kind, \
                       SUM(CASE WHEN state = 'queued' AND run_at <= $1 THEN 1 ELSE 0 END) AS queued, \
                       SUM(CASE WHEN state = 'queued' AND run_at > $1 THEN 1 ELSE 0 END) AS scheduled, \
                       SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
                       SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead, \
                       MIN(CASE WHEN state = 'queued' AND run_at <= $1 THEN run_at END) AS oldest_due_at \
                     FROM jobs WHERE state IN ('queued', 'running', 'dead') GROUP BY kind ORDER BY kind",
                )
                .bind(now_ms)
                .fetch_all(&self.read)
                .await?;
                let (retrying, oldest): (i64, Option<i64>) = sqlx::query_as(
                    "SELECT COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), MIN(CASE WHEN run_at <= $1 THEN run_at END) \
                     FROM jobs WHERE state = 'queued'",
                )
                .bind(now_ms)
                .fetch_one(&self.read)
                .await?;
                let completed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'completed' AND finished_at > $1")
                    .bind(now_ms.saturating_sub(3_600_000))
                    .fetch_one(&self.read)
                    .await?;
                // A wait is far below 2^53 ms: the float is exact.
                let waited = |at: Option<i64>| at.map_or(0.0, |at| now_ms.saturating_sub(at).max(0) as f64 / 1000.0);
                for k in &mut kinds {
                    k.oldest_due_seconds = waited(k.oldest_due_at);
                }
                let sum = |f: fn(&$crate::db::KindStats) -> i64| kinds.iter().map(f).fold(0i64, i64::saturating_add);
                Ok($crate::db::QueueStats {
                    queued: sum(|k| k.queued),
                    scheduled: sum(|k| k.scheduled),
                    running: sum(|k| k.running),
                    dead: sum(|k| k.dead),
                    retrying,
                    completed_last_hour: completed,
                    oldest_due_seconds: waited(oldest),
                    kinds,
                })
            }

            async fn probe_counts(&self, prefix: &str) -> $crate::db::DbResult<$crate::db::queue::ProbeCounts> {
                let (keys, executions): (i64, i64) =
                    sqlx::query_as("SELECT COUNT(DISTINCT key), COUNT(*) FROM queue_probes WHERE key LIKE $1 || '%'")
                        .bind(prefix)
                        .fetch_one(&self.read)
                        .await?;
                let workers: Vec<(String, i64)> =
                    sqlx::query_as("SELECT worker, COUNT(*) FROM queue_probes WHERE key LIKE $1 || '%' GROUP BY worker")
                        .bind(prefix)
                        .fetch_all(&self.read)
                        .await?;
                Ok($crate::db::queue::ProbeCounts { keys, executions, workers: workers.into_iter().collect() })
            }

            async fn purge_jobs(&self, before_ms: i64, dead_before_ms: i64) -> $crate::db::DbResult<u64> {
                self.on_background(move |pool| async move {
                    Ok(sqlx::query(
                        "DELETE FROM jobs WHERE (state = 'completed' AND finished_at < $1) OR (state = 'dead' AND finished_at < $2)",
                    )
                    .bind(before_ms)
                    .bind(dead_before_ms)
                    .execute(&pool)
                    .await?
                    .rows_affected())
                })
                .await
            }

            async fn take_turn(&self, name: &str, now: i64, every: i64) -> $crate::db::DbResult<bool> {
                let name = name.to_owned();
                self.on_background(move |pool| async move {
                    Ok(sqlx::query("UPDATE cursors SET position = $2 WHERE name = $1 AND position <= $3")
                        .bind(name)
                        .bind(now)
                        .bind(now.saturating_sub(every))
                        .execute(&pool)
                        .await?
                        .rows_affected()
                        == 1)
                })
                .await
            }

            async fn job_waker(&self) -> $crate::db::DbResult<Box<dyn $crate::db::JobWaker>> {
                let $this = self;
                $waker
            }
        }
    };
}
