//! Licenses issued in batches: group commit, on either backend.
//!
//! Each license is a write (the license and its `license.issued` event), and a commit's cost
//! is mostly fixed: on SQLite a chain of steps under its one writer, on PostgreSQL a flush of
//! its write-ahead log and a round trip per statement. One commit per license made those
//! fixed costs the rate's limit (docs/benchmarks.md, "Issuance"). Here every license asked
//! for while a batch is being written waits for the next, and a batch is one transaction.
//!
//! No thread is set aside for it: the caller that finds no batch under way spawns a *leader*,
//! a task on its own thread's runtime that writes batch after batch until none waits, as
//! group commit does in database engines. Were the write on a thread of its own, every batch
//! would wait for the scheduler to run that thread on two busy cores; the leader is already
//! running (measured in docs/benchmarks.md: p99 15.8 ms against 19.8 ms on SQLite). How a
//! batch is written is the backend's ([`BatchWriter`]); the guarantees are kept here and by
//! each writer:
//!
//! - **Durable when answered.** A license is answered only after its batch's commit, so a
//!   caller never hands out a license whose row (or event) could be lost by a crash.
//! - **Each license on its own.** A license that fails does not fail the others: a writer
//!   whose batch fails writes each of its licenses again in a transaction of its own, so
//!   each gets its own answer.
//! - **In order.** Batches are written in the order asked, at most [`MAX_BATCH`] licenses to
//!   one, and one batch at a time per process: none waits behind one asked after it.
//! - **Never stranded.** A leader cannot be cancelled with the request that spawned it; if its
//!   runtime stops under it, what waits is answered with an error, and the next caller leads.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::{DbError, DbResult, LicenseRow};

/// The most licenses one transaction writes: the larger the batch the cheaper each license,
/// but a batch also delays the writes behind it.
pub(crate) const MAX_BATCH: usize = 128;

/// A license to write.
pub(crate) struct Issue {
    /// The license as written if the device holds no active license of the title.
    pub(crate) license: LicenseRow,
    /// The `license.issued` event's id.
    pub(crate) event_id: String,
    /// The event's data around the license's id and last status change
    /// ([`crate::events::license_issued_middle`]).
    pub(crate) middle: String,
    /// The event's actor.
    pub(crate) actor: String,
    /// When.
    pub(crate) now: i64,
}

/// How a backend writes a batch.
pub(crate) trait BatchWriter: Send + Sync + 'static {
    /// What the leader holds while it writes (a connection). It is taken before the batch is,
    /// so the licenses asked for while the leader waits for it go in the batch too.
    type Held: Send;

    /// Takes what writing needs.
    fn hold(&self) -> impl Future<Output = DbResult<Self::Held>> + Send;

    /// Writes `batch` (at most [`MAX_BATCH`], in order), one answer per license in the same
    /// order; a license that fails must not fail the others.
    fn write(&self, held: &mut Self::Held, batch: &[Issue]) -> impl Future<Output = Vec<DbResult<LicenseRow>>> + Send;
}

type Asked = (Issue, oneshot::Sender<DbResult<LicenseRow>>);

/// The licenses waiting to be written, and who writes them.
pub(crate) struct Issuer<W> {
    inner: Arc<Shared<W>>,
}

struct Shared<W> {
    writer: W,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    asked: Vec<Asked>,
    /// Whether a leader is writing (or about to): it writes whatever is asked meanwhile.
    leading: bool,
}

impl<W: BatchWriter> Issuer<W> {
    /// An issuer writing with `writer`.
    pub(crate) fn new(writer: W) -> Self {
        Issuer { inner: Arc::new(Shared { writer, queue: Mutex::default() }) }
    }

    /// Writes `issue` in the next batch and answers the row written.
    pub(crate) async fn issue(&self, issue: Issue) -> DbResult<LicenseRow> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut queue = self.inner.lock();
            queue.asked.push((issue, reply));
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            // A task of its own, on this thread's runtime: the request that started it may be
            // cancelled, the batches it writes may not.
            tokio::spawn(lead_batches(self.inner.clone()));
        }
        answer.await.map_err(|_| stopped())?
    }
}

impl<W> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        unpoisoned(&self.queue)
    }
}

/// Locks `mutex` whatever a panicking holder left: the values guarded with it (queues and
/// stacks of connections) are only pushed to and popped from, so they are whole either way.
pub(crate) fn unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stopped() -> DbError {
    DbError::Writer("the license writer has stopped".into())
}

/// A leader's turn. One dropped before it finished (its runtime stopping while it waited or
/// wrote) fails what waits rather than leave it waiting for no one, and lets the next caller
/// lead. (The batch in hand, if any, is answered by its senders' drop.)
struct Turn<W> {
    shared: Arc<Shared<W>>,
    finished: bool,
}

impl<W> Drop for Turn<W> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut queue = self.shared.lock();
        for (_, reply) in queue.asked.drain(..) {
            let _ = reply.send(Err(stopped()));
        }
        queue.leading = false;
    }
}

/// The leader: batch after batch of what is waiting, until nothing is.
async fn lead_batches<W: BatchWriter>(shared: Arc<Shared<W>>) {
    let mut turn = Turn { shared, finished: false };
    loop {
        let held = turn.shared.writer.hold().await;
        let (issues, replies): (Vec<Issue>, Vec<_>) = {
            let mut queue = turn.shared.lock();
            if queue.asked.is_empty() {
                queue.leading = false;
                drop(queue);
                turn.finished = true;
                return;
            }
            let n = queue.asked.len().min(MAX_BATCH);
            queue.asked.drain(..n).unzip()
        };
        let answers = match held {
            Ok(mut held) => turn.shared.writer.write(&mut held, &issues).await,
            Err(e) => issues.iter().map(|_| Err(DbError::Writer(e.to_string()))).collect(),
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone (its request cancelled): the license stays written,
            // as it would have had the caller waited.
            let _ = reply.send(answer);
        }
    }
}
