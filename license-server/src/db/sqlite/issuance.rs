//! How SQLite writes a batch of licenses ([`group_commit`](crate::db::group_commit)).
//!
//! SQLite has one writer at a time. One transaction per license made issuance a chain of
//! serial steps, each a hand-off between threads (the writer's, then sqlx's connection
//! thread, for `BEGIN`, the statements and `COMMIT`), which on two busy cores waits for the
//! scheduler every time: the writer sat idle between steps, and the rate topped out at a
//! quarter of what the cores could do (docs/benchmarks.md, "Issuance"). A batch here is one
//! `BEGIN IMMEDIATE … COMMIT`, written with rusqlite statement after statement with no
//! hand-off in between.
//!
//! **Checkpoints mostly elsewhere.** After each batch the leader nudges a thread that copies
//! the WAL's pages into the database file ([`checkpoints`](super::checkpoints)), so the
//! checkpoint SQLite runs in this connection's commits finds little left to copy: run in
//! full there, it stopped the HTTP worker the leader runs on.
//!
//! **Serial with the other writes.** The leader holds the process's one sqlx write
//! connection while it writes, so no write of this process runs beside a batch; other
//! processes (`fount-server worker`) wait on SQLite's lock, which `BEGIN IMMEDIATE` takes
//! first.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, ToSql, TransactionBehavior};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqlitePool;

use super::checkpoints::Checkpointer;
use super::rows::{FromSqlite as _, numbered};
use crate::db::group_commit::{BatchWriter, Issue, unpoisoned};
use crate::db::{DbError, DbResult, LicenseRow};

/// The event of the license just written, found by its key (the device's one active license
/// of the title): its data is `{"license":{"id":` ‖ id ‖ `,` ‖ `?15` ‖ status_updated_at ‖
/// `}}`, as [`crate::events::license_issued_middle`] explains.
const EVENT: &str = "INSERT INTO events (id, store_id, type, data, actor, created_at) \
     SELECT ?13, store_id, ?14, '{\"license\":{\"id\":' || json_quote(id) || ',' || ?15 || status_updated_at || '}}', ?16, ?12 \
     FROM licenses WHERE device_id = ?6 AND title_id = ?5 AND status = 'active'";

/// Writes batches to one SQLite file.
pub(super) struct SqliteBatches {
    /// The pool of the process's one write connection, held while a batch is written.
    pool: SqlitePool,
    path: PathBuf,
    /// rusqlite's connection to the file, opened when first needed. Only the leader uses it.
    conn: Mutex<Option<Connection>>,
    checkpoints: Checkpointer,
}

impl SqliteBatches {
    /// Writes to the file at `path` while holding `pool`'s one connection; starts the thread
    /// of its checkpoints.
    pub(super) fn new(pool: SqlitePool, path: PathBuf) -> std::io::Result<Self> {
        let checkpoints = Checkpointer::start(path.clone())?;
        Ok(SqliteBatches { pool, path, conn: Mutex::new(None), checkpoints })
    }

    fn write_now(&self, batch: &[Issue]) -> Vec<DbResult<LicenseRow>> {
        let taken = unpoisoned(&self.conn).take();
        let mut conn = match taken.map_or_else(|| open(&self.path), Ok) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::error!(error = %e, "cannot open the database to write licenses");
                return batch.iter().map(|_| Err(DbError::Writer(format!("cannot open the database: {e}")))).collect();
            }
        };
        let answers = write(&mut conn, batch);
        self.checkpoints.nudge();
        *unpoisoned(&self.conn) = Some(conn);
        answers
    }
}

impl BatchWriter for SqliteBatches {
    type Held = PoolConnection<sqlx::Sqlite>;

    async fn hold(&self) -> DbResult<Self::Held> {
        Ok(self.pool.acquire().await?)
    }

    // Blocks this thread for the batch's transaction: the leader is the writer, and handing
    // the batch to another thread is the cost this avoids.
    #[allow(clippy::unused_async)]
    async fn write(&self, _held: &mut Self::Held, batch: &[Issue]) -> Vec<DbResult<LicenseRow>> {
        self.write_now(batch)
    }
}

/// A write connection as sqlx's is set up (the file is in WAL mode already).
fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = super::open_writer(path)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// Writes the batch in one transaction; if that fails, each license in one of its own. One
/// answer per license, in order.
fn write(conn: &mut Connection, batch: &[Issue]) -> Vec<DbResult<LicenseRow>> {
    match transaction(conn, batch) {
        Ok(rows) => rows.into_iter().map(Ok).collect(),
        Err(_) => batch
            .iter()
            .map(|issue| {
                let rows = transaction(conn, std::slice::from_ref(issue))?;
                rows.into_iter().next().ok_or_else(|| DbError::Writer("a license was not written".into()))
            })
            .collect(),
    }
}

fn transaction(conn: &mut Connection, batch: &[Issue]) -> DbResult<Vec<LicenseRow>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = batch.iter().map(|issue| write_one(&tx, issue)).collect::<DbResult<Vec<_>>>()?;
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
