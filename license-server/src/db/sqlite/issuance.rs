//! Licenses issued on SQLite in batches: group commit.
//!
//! SQLite has one writer at a time, and each license is a write (the license and its
//! `license.issued` event). One transaction per license made issuance a chain of serial
//! steps, each a hand-off between threads (the writer's, then sqlx's connection thread, for
//! `BEGIN`, the statements and `COMMIT`), which on two busy cores waits for the scheduler
//! every time: the writer sat idle between steps, and the rate topped out at a quarter of
//! what the cores could do (docs/benchmarks.md, "Issuance").
//!
//! Here every license asked for while a batch is being written waits for the next, and a
//! batch is one transaction, written with rusqlite statement after statement with no hand-off
//! in between. No thread is set aside for it: the caller that finds no batch under way spawns
//! a *leader*, a task on its own thread's runtime that writes batch after batch until none
//! waits, as group commit does in database engines. Were the write on a thread of its own,
//! every batch would wait for the scheduler to run that thread on two busy cores; the leader
//! is already running (measured in docs/benchmarks.md: p99 15.8 ms against 19.8 ms). The
//! guarantees:
//!
//! - **Durable when answered.** A license is answered only after its batch's `COMMIT`, so a
//!   caller never hands out a license whose row (or event) could be lost by a crash.
//! - **Each license on its own.** A license that fails does not fail the others: when a
//!   batch fails, its transaction rolls back and each of its licenses is written again in a
//!   transaction of its own, so each gets its own answer.
//! - **Serial with the other writes.** The batch holds the process's one sqlx write
//!   connection while it writes, so no write of this process runs beside it; other processes
//!   (`fount-server worker`) wait on SQLite's lock, which `BEGIN IMMEDIATE` takes first.
//! - **In order.** Licenses are written in the order asked, at most [`MAX_BATCH`] to a
//!   transaction: none waits behind one asked after it.
//! - **Never stranded.** A leader cannot be cancelled with the request that spawned it; if its
//!   runtime stops under it, what waits is answered with an error, and the next caller leads.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use sqlx::sqlite::SqlitePool;
use tokio::sync::oneshot;

use super::rows::{FromSqlite as _, numbered};
use crate::db::{DbError, DbResult, LicenseRow};

/// The most licenses one transaction writes. A commit's cost is mostly fixed, so the larger
/// the batch the cheaper each license, but a batch also delays the writes behind it.
const MAX_BATCH: usize = 128;

/// The event of the license just written, found by its key (the device's one active license
/// of the title): its data is `{"license":{"id":` ‖ id ‖ `,` ‖ `?15` ‖ status_updated_at ‖
/// `}}`, as [`crate::events::license_issued_middle`] explains.
const EVENT: &str = "INSERT INTO events (id, store_id, type, data, actor, created_at) \
     SELECT ?13, store_id, ?14, '{\"license\":{\"id\":' || json_quote(id) || ',' || ?15 || status_updated_at || '}}', ?16, ?12 \
     FROM licenses WHERE device_id = ?6 AND title_id = ?5 AND status = 'active'";

/// A license to write.
pub(super) struct Issue {
    /// The license as written if the device holds no active license of the title.
    pub(super) license: LicenseRow,
    /// The `license.issued` event's id.
    pub(super) event_id: String,
    /// The event's data around the license's id and last status change.
    pub(super) middle: String,
    /// The event's actor.
    pub(super) actor: String,
    /// When.
    pub(super) now: i64,
}

type Asked = (Issue, oneshot::Sender<DbResult<LicenseRow>>);

/// The licenses waiting to be written, and who writes them.
pub(super) struct Issuer {
    inner: Arc<Shared>,
}

struct Shared {
    pool: SqlitePool,
    path: PathBuf,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    asked: Vec<Asked>,
    /// Whether a leader is writing (or about to): it writes whatever is asked meanwhile.
    leading: bool,
    conn: Option<Connection>,
}

impl Issuer {
    /// An issuer writing to the file at `path` while holding `pool`'s one connection.
    pub(super) fn new(pool: SqlitePool, path: PathBuf) -> Self {
        Issuer { inner: Arc::new(Shared { pool, path, queue: Mutex::default() }) }
    }

    /// Writes `issue` in the next batch and answers the row written.
    pub(super) async fn issue(&self, issue: Issue) -> DbResult<LicenseRow> {
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

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while holding it; were it poisoned, the queue is still whole.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn stopped() -> DbError {
    DbError::Writer("the license writer has stopped".into())
}

/// A leader's turn. One dropped before it finished (its runtime stopping while it waited for
/// the connection) fails what waits rather than leave it waiting for no one, and lets the
/// next caller lead.
struct Turn {
    shared: Arc<Shared>,
    finished: bool,
}

impl Drop for Turn {
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
async fn lead_batches(shared: Arc<Shared>) {
    let mut turn = Turn { shared, finished: false };
    loop {
        let held = turn.shared.pool.acquire().await;
        let (batch, conn) = {
            let mut queue = turn.shared.lock();
            if queue.asked.is_empty() {
                queue.leading = false;
                drop(queue);
                turn.finished = true;
                return;
            }
            let n = queue.asked.len().min(MAX_BATCH);
            (queue.asked.drain(..n).collect::<Vec<_>>(), queue.conn.take())
        };
        let (answers, conn) = match held {
            Err(e) => (failed(batch.len(), &e.to_string()), conn),
            Ok(held) => {
                let done = match conn.map_or_else(|| open(&turn.shared.path), Ok) {
                    Ok(mut c) => (write(&mut c, batch.iter().map(|(issue, _)| issue)), Some(c)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot open the database to write licenses");
                        (failed(batch.len(), &format!("cannot open the database: {e}")), None)
                    }
                };
                drop(held);
                done
            }
        };
        turn.shared.lock().conn = conn;
        for ((_, reply), answer) in batch.into_iter().zip(answers) {
            // The caller may have gone (its request cancelled): the license stays written,
            // as it would have had the caller waited.
            let _ = reply.send(answer);
        }
    }
}

fn failed(n: usize, why: &str) -> Vec<DbResult<LicenseRow>> {
    (0..n).map(|_| Err(DbError::Writer(why.to_owned()))).collect()
}

/// A write connection as sqlx's is set up (the file is in WAL mode already).
fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // As the sqlx connections: with WAL, NORMAL loses at most the last transactions on power
    // loss, never consistency (and a license is answered only once committed).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Writes the batch in one transaction; if that fails, each license in one of its own. One
/// answer per license, in order.
fn write<'a>(conn: &mut Connection, batch: impl Iterator<Item = &'a Issue> + Clone) -> Vec<DbResult<LicenseRow>> {
    match transaction(conn, batch.clone()) {
        Ok(rows) => rows.into_iter().map(Ok).collect(),
        Err(_) => batch
            .map(|issue| {
                let rows = transaction(conn, std::iter::once(issue))?;
                rows.into_iter().next().ok_or_else(|| DbError::Writer("a license was not written".into()))
            })
            .collect(),
    }
}

fn transaction<'a>(conn: &mut Connection, batch: impl Iterator<Item = &'a Issue>) -> DbResult<Vec<LicenseRow>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = batch.map(|issue| write_one(&tx, issue)).collect::<DbResult<Vec<_>>>()?;
    tx.commit()?;
    Ok(rows)
}

fn write_one(conn: &Connection, issue: &Issue) -> DbResult<LicenseRow> {
    static UPSERT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| numbered(crate::db::portable::UPSERT_LICENSE));
    let (l, kind) = (&issue.license, crate::events::Kind::LicenseIssued.as_str());
    // The order of `bind_new_license!`, then the event's: ?1 to ?16.
    let params: [&dyn ToSql; 16] = [
        &l.id,
        &l.store_id,
        &l.customer_id,
        &l.customer_ref,
        &l.title_id,
        &l.device_id,
        &l.device_jkt,
        &l.entitlement_id,
        &l.not_before,
        &l.expires_at,
        &l.renew_by,
        &issue.now,
        &issue.event_id,
        &kind,
        &issue.middle,
        &issue.actor,
    ];
    let row = conn.prepare_cached(&UPSERT)?.query_row(&params[..12], LicenseRow::from_sqlite)?;
    conn.prepare_cached(EVENT)?.execute(&params[..])?;
    Ok(row)
}
