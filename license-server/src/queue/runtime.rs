//! The worker runtime of one process: claiming, running, lease keeping, completing, stopping.
//!
//! * *Claiming.* One loop claims as many due jobs as it has free slots, in one statement, and
//!   runs each as a task. With no job due it sleeps until the database says jobs were
//!   inserted (PostgreSQL `LISTEN`, or this process's own inserts), or for a short poll (for
//!   scheduled jobs, ended leases, and other processes' inserts on SQLite).
//! * *Leases.* Every third of the lease, one statement extends the leases of every job this
//!   process holds. A job whose lease could not be extended was taken over (the process
//!   stalled past its lease): its task is stopped, and its writes would be refused anyway.
//! * *Completing.* Finished jobs go to one completer task, which completes whatever has
//!   accumulated in one transaction: under load, batches grow by themselves; idle, a job is
//!   completed at once.
//! * *Stopping.* [`Workers::stop`] claims nothing more, lets running jobs finish within the
//!   grace period, then stops the rest and releases them (claimable again at once, the
//!   interrupted attempt not counted), and flushes the completer.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::{JobKind, Outcome, backoff, now_ms, random_unit};
use crate::db::{Done, JobRow, Lease, Retry};
use crate::state::AppState;

/// The workers of this process.
pub struct Workers {
    id: String,
    stop: watch::Sender<bool>,
    paused: Pause,
    done: tokio::sync::oneshot::Receiver<()>,
}

/// Pauses and resumes claiming (jobs already running go on): for measuring what the workers'
/// work costs the process beside them.
#[derive(Debug, Clone)]
pub struct Pause(Arc<watch::Sender<bool>>);

impl Pause {
    /// Claim nothing more until [`resume`](Self::resume).
    pub fn pause(&self) {
        let _ = self.0.send(true);
    }

    /// Claim again.
    pub fn resume(&self) {
        let _ = self.0.send(false);
    }
}

/// How the workers' threads are scheduled beside the rest of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Beside an HTTP server (`serve`): the workers run on a thread of their own (and its
    /// blocking pool) at a lower scheduling priority (nice 10 on Linux), so that the
    /// requests' threads get the CPU first and a burst of jobs backs the queue up rather than
    /// slowing the API.
    Background,
    /// Alone (`fount-server worker`): every core for the jobs.
    Normal,
}

/// The nice value of background workers' threads.
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority (Linux schedules threads one by one).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), BACKGROUND_NICE) {
        tracing::debug!(error = %e, "could not lower the workers' priority");
    }
}

/// A job this process holds: its attempt (the lease token) and its task.
struct Held {
    attempt: i64,
    task: AbortHandle,
}

type HeldJobs = Arc<Mutex<HashMap<String, Held>>>;

fn lock(held: &HeldJobs) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
    // A task that panicked while holding the map left it consistent (every change is one
    // insert or remove), so a poisoned lock is still usable.
    held.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Workers {
    /// Starts `state.settings.queue.workers` job slots and the periodic tasks, on a runtime of
    /// their own on their own threads.
    pub fn start(state: AppState, priority: Priority) -> std::io::Result<Workers> {
        crate::observe::metrics::install();
        let id = worker_id();
        let (stop, stopped) = watch::channel(false);
        let (finished, done) = tokio::sync::oneshot::channel();
        let runtime = match priority {
            Priority::Background => {
                let mut b = tokio::runtime::Builder::new_current_thread();
                b.on_thread_start(lower_priority);
                b
            }
            Priority::Normal => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .thread_name("fount-worker")
        .build()?;
        let worker = id.clone();
        let (paused, unpaused) = watch::channel(false);
        std::thread::Builder::new().name("fount-workers".into()).spawn(move || {
            if priority == Priority::Background {
                lower_priority();
            }
            runtime.block_on(run(state, worker, stopped, unpaused));
            let _ = finished.send(());
        })?;
        tracing::info!(worker = %id, "queue workers started");
        Ok(Workers { id, stop, paused: Pause(Arc::new(paused)), done })
    }

    /// A handle that pauses and resumes claiming.
    pub fn pause_handle(&self) -> Pause {
        self.paused.clone()
    }

    /// This process's worker id (`host-pid-random`), as jobs record it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops: see the module's documentation.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if self.done.await.is_err() {
            tracing::error!(worker = %self.id, "the queue workers' thread ended abnormally");
        }
        tracing::info!(worker = %self.id, "queue workers stopped");
    }
}

/// A worker id unique across processes and restarts.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", host.as_deref().unwrap_or("worker"), std::process::id(), suffix.get(..8).unwrap_or("0"))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// How long an idle worker waits between looks at the queue when nothing woke it.
fn idle_poll(state: &AppState) -> Duration {
    match state.repo.backend() {
        // Other processes' inserts cannot wake this one.
        "sqlite" => Duration::from_millis(250),
        _ => Duration::from_secs(1),
    }
}

async fn run(state: AppState, id: String, mut stop: watch::Receiver<bool>, mut paused: watch::Receiver<bool>) {
    let slots = state.settings.queue.workers.max(1);
    let lease = state.settings.queue.lease;
    let held: HeldJobs = Arc::default();
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
    let completer = tokio::spawn(complete(state.clone(), id.clone(), done_rx));
    let keeper = tokio::spawn(keep_leases(state.clone(), id.clone(), held.clone(), stop.clone()));
    let periodic = tokio::spawn(super::periodic::run(state.clone(), stop.clone()));
    let poll = idle_poll(&state);
    let mut waker = loop {
        match state.repo.job_waker().await {
            Ok(w) => break Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for new jobs yet; retrying");
                if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                    break None;
                }
            }
        }
    };
    let mut tasks: JoinSet<()> = JoinSet::new();
    while let Some(waker) = waker.as_mut() {
        if *stop.borrow() {
            break;
        }
        if *paused.borrow_and_update() {
            tokio::select! {
                _ = paused.changed() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        while tasks.try_join_next().is_some() {}
        let mut free = slots.saturating_sub(tasks.len());
        let mut claimed = 0;
        if free > 0 {
            // Requests first (see `crate::load`); while they keep coming and the background
            // share is spent, one job at a time.
            if !state.load.share_left() && !state.load.quiet(crate::load::GIVE_WAY).await {
                free = 1;
            }
            match state.repo.claim(&id, i64::try_from(free).unwrap_or(1), millis(lease), now_ms()).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        spawn_job(&state, job, &held, &done_tx, &mut tasks);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; retrying");
                    if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                        break;
                    }
                    continue;
                }
            }
        }
        if claimed > 0 && claimed == free {
            // Every slot is busy and more may be due: wait for a slot.
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = stop.changed() => {}
            }
        } else if claimed == 0 {
            tokio::select! {
                () = waker.wait(poll) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = stop.changed() => {}
            }
        }
    }

    // Stopping: running jobs get the grace period, then are stopped and released.
    let grace = state.settings.queue.grace;
    let finished = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_ok();
    if !finished {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let pairs: Vec<(String, i64)> = lock(&held).drain().map(|(id, h)| (id, h.attempt)).collect();
        match state.repo.release(&id, &pairs, now_ms()).await {
            Ok(n) => tracing::info!(released = n, "released the jobs still running at shutdown"),
            Err(e) => tracing::warn!(error = %e, "releasing jobs failed; they are claimable when their leases end"),
        }
    }
    drop(done_tx);
    let _ = completer.await;
    let _ = keeper.await;
    let _ = periodic.await;
}

/// Sleeps for `d`; `true` if told to stop meanwhile.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

fn spawn_job(
    state: &AppState,
    job: JobRow,
    held: &HeldJobs,
    done: &mpsc::UnboundedSender<Done>,
    tasks: &mut JoinSet<()>,
) {
    let Some(lease) = job.lease() else { return };
    // Taken with the lock held, so that the task, which removes its entry when it ends,
    // cannot end before the entry exists.
    let mut map = lock(held);
    let task = tasks.spawn(run_job(state.clone(), job, lease.clone(), held.clone(), done.clone()));
    if let Some(stale) = map.insert(lease.job_id.clone(), Held { attempt: lease.attempt, task }) {
        // This process held the job before and lost its lease, then claimed it again.
        stale.task.abort();
    }
}

async fn run_job(state: AppState, job: JobRow, lease: Lease, held: HeldJobs, done: mpsc::UnboundedSender<Done>) {
    let started = std::time::Instant::now();
    let outcome = AssertUnwindSafe(handle(&state, &job, &lease))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Outcome::Fatal("the job's handler panicked".into()));
    {
        let mut map = lock(&held);
        if map.get(&job.id).is_some_and(|h| h.attempt == lease.attempt) {
            map.remove(&job.id);
        }
    }
    tracing::debug!(job = %job.id, kind = %job.kind, attempt = lease.attempt, ms = started.elapsed().as_millis(), ?outcome, "job ran");
    let failed = |error: String, retry: Retry| {
        let state = state.clone();
        let lease = lease.clone();
        let kind = job.kind.clone();
        async move {
            match state.repo.fail(&lease, &error, retry, now_ms()).await {
                Ok(Some(s)) if s == "dead" => {
                    tracing::warn!(job = %lease.job_id, %kind, attempt = lease.attempt, %error, "job failed for good: dead");
                }
                Ok(Some(_)) => {
                    tracing::info!(job = %lease.job_id, %kind, attempt = lease.attempt, %error, "job failed; will retry")
                }
                Ok(None) => tracing::info!(job = %lease.job_id, "job failed after its lease was lost"),
                Err(e) => {
                    tracing::warn!(job = %lease.job_id, error = %e, "recording a failed job failed; it is retried when its lease ends")
                }
            }
        }
    };
    match outcome {
        Outcome::Done => {
            let _ = done.send(Done { lease, probe: None });
        }
        Outcome::Probe(key) => {
            let _ = done.send(Done { lease, probe: Some(key) });
        }
        Outcome::Handled => {}
        Outcome::Retry { error, at } => {
            let at = at.unwrap_or_else(|| now_ms().saturating_add(millis(backoff(lease.attempt, random_unit()))));
            failed(error, Retry::At(at)).await;
        }
        Outcome::Fatal(error) => failed(error, Retry::Never).await,
    }
}

/// Runs one job's handler.
async fn handle(state: &AppState, job: &JobRow, lease: &Lease) -> Outcome {
    match JobKind::parse(&job.kind) {
        Some(JobKind::QueueProbe) => probe(job, lease).await,
        Some(JobKind::TrackPackage) => crate::media::package::run_job(state, job, lease).await,
        Some(JobKind::WebhookDeliver) => crate::webhooks::deliver::run_job(state, job, lease).await,
        Some(JobKind::WebhookReplay) => crate::webhooks::replay::run_job(state, job).await,
        Some(JobKind::FeedSync) => crate::feeds::sync::run_job(state, job, lease).await,
        Some(JobKind::FeedItem) => crate::feeds::import::run_job(state, job, lease).await,
        None => Outcome::Fatal(format!("no worker of this version knows jobs of kind {:?}", job.kind)),
    }
}

/// `queue.probe`: waits `work_ms` (a job that takes time, for tests of leases), fails its
/// first `fail_times` attempts (retried after `retry_ms` when given, else the backoff), then
/// records its key when it completes.
async fn probe(job: &JobRow, lease: &Lease) -> Outcome {
    let payload: serde_json::Value = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let Some(key) = payload["key"].as_str() else { return Outcome::Fatal("bad payload: no key".into()) };
    let work = payload["work_ms"].as_u64().unwrap_or(0).min(600_000);
    if work > 0 {
        tokio::time::sleep(Duration::from_millis(work)).await;
    }
    let fail_times = payload["fail_times"].as_i64().unwrap_or(0);
    if lease.attempt <= fail_times {
        let at = payload["retry_ms"].as_i64().map(|ms| now_ms().saturating_add(ms.clamp(0, 3_600_000)));
        return Outcome::Retry { error: format!("the probe was asked to fail {fail_times} time(s)"), at };
    }
    Outcome::Probe(key.to_owned())
}

/// Completes finished jobs in batches: whatever has accumulated while the last batch was
/// being written.
async fn complete(state: AppState, id: String, mut rx: mpsc::UnboundedReceiver<Done>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1000 {
            match rx.try_recv() {
                Ok(d) => batch.push(d),
                Err(_) => break,
            }
        }
        let mut wait = Duration::from_millis(100);
        for attempt in 1..=5 {
            match state.repo.complete(&id, &batch, now_ms()).await {
                Ok(ids) => {
                    if ids.len() < batch.len() {
                        tracing::info!(
                            lost = batch.len().saturating_sub(ids.len()),
                            "jobs finished after their leases were lost"
                        );
                    }
                    break;
                }
                Err(e) if attempt < 5 => {
                    tracing::warn!(error = %e, jobs = batch.len(), "completing jobs failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                Err(e) => {
                    tracing::warn!(error = %e, jobs = batch.len(), "completing jobs failed; they run again when their leases end");
                }
            }
        }
    }
}

/// Extends the leases this process holds, every third of the lease; stops the tasks of the
/// jobs it lost.
async fn keep_leases(state: AppState, id: String, held: HeldJobs, mut stop: watch::Receiver<bool>) {
    let lease = state.settings.queue.lease;
    let every = lease.checked_div(3).unwrap_or(lease).max(Duration::from_millis(100));
    loop {
        if sleep_or_stop(every, &mut stop).await {
            return;
        }
        let pairs: Vec<(String, i64)> = lock(&held).iter().map(|(id, h)| (id.clone(), h.attempt)).collect();
        if pairs.is_empty() {
            continue;
        }
        match state.repo.extend(&id, &pairs, now_ms().saturating_add(millis(lease))).await {
            Ok(kept) => {
                let kept: std::collections::HashSet<String> = kept.into_iter().collect();
                let mut map = lock(&held);
                for (job, attempt) in pairs.iter().filter(|(job, _)| !kept.contains(job)) {
                    if map.get(job).is_some_and(|h| h.attempt == *attempt)
                        && let Some(h) = map.remove(job)
                    {
                        h.task.abort();
                        tracing::warn!(%job, "lost the lease of a running job (another worker took it); stopped it");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "extending leases failed; retrying"),
        }
    }
}
