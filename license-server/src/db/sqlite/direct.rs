//! Reads on the calling thread, for the hottest lookups (a license request's device and
//! entitlement).
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement to it
//! and its rows back. On two busy cores each hand-off waits for the scheduler, twice per
//! statement; a profile of issuance put 44% of the server's CPU in those hand-offs and
//! their wake-ups (docs/benchmarks.md, "Issuance"). The lookups here are single rows by an
//! index, answered from SQLite's page cache or the OS's in microseconds: less than the
//! hand-off itself. So they run right where they are asked for, on a rusqlite connection
//! taken from a small stack of idle ones.
//!
//! A read in WAL mode never waits for the writer, so the calling thread blocks only on the
//! file's pages; the busy timeout covers the rare moments SQLite makes readers wait (a WAL
//! file being reset, recovery after a crash).

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, Params};

use super::rows::FromSqlite;
#[cfg(doc)]
use super::rows::numbered;
use crate::db::DbResult;
use crate::db::group_commit::unpoisoned;

/// Idle connections kept for reuse; a burst beyond this opens more and closes them after.
const IDLE: usize = 8;

/// Read-only connections to one SQLite file, opened when first needed.
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the file at `path` (which must exist: the write pool creates it).
    pub(super) fn new(path: PathBuf) -> Self {
        Readers { path, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = super::open_direct(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.pragma_update(None, "cache_size", super::READ_CACHE)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one), then keeps it for the next.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> DbResult<T> {
        let taken = unpoisoned(&self.idle).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        // A connection still inside a transaction (one whose end failed) would answer every
        // later read from that old snapshot: it is closed, not kept.
        if conn.is_autocommit() {
            let mut idle = unpoisoned(&self.idle);
            if idle.len() < IDLE {
                idle.push(conn);
            }
        }
        Ok(result?)
    }

    /// The one row `sql` selects, if any (its placeholders as [`numbered`] spells them).
    pub(super) fn optional<T: FromSqlite>(&self, sql: &str, params: impl Params) -> DbResult<Option<T>> {
        self.with(|conn| one(conn, sql, params))
    }

    /// Two rows, each as [`optional`](Self::optional) selects it, from one snapshot.
    ///
    /// One read transaction instead of two: each one SQLite begins takes a lock on the WAL
    /// index and, when the writer has committed since (hundreds of times a second under
    /// issuance), drops the connection's page cache, so the second read would fetch its pages
    /// again.
    pub(super) fn pair<A: FromSqlite, B: FromSqlite>(
        &self,
        a: (&str, impl Params),
        b: (&str, impl Params),
    ) -> DbResult<(Option<A>, Option<B>)> {
        self.with(|conn| {
            conn.prepare_cached("BEGIN")?.execute([])?;
            let rows = one(conn, a.0, a.1).and_then(|a| Ok((a, one(conn, b.0, b.1)?)));
            // A read-only transaction: ending it either way only releases the snapshot. A read
            // that failed says more than an end that failed after it, so its error wins.
            let ended = conn.prepare_cached("COMMIT").and_then(|mut end| end.execute([]));
            let rows = rows?;
            ended?;
            Ok(rows)
        })
    }
}

fn one<T: FromSqlite>(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached(sql)?.query_row(params, T::from_sqlite).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL database with one row, and its readers.
    fn readers(dir: &std::path::Path) -> (Connection, Readers) {
        let path = dir.join("read.db");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)")
            .expect("schema");
        (writer, Readers::new(path))
    }

    /// A one-column row, for these tests.
    #[derive(Debug, PartialEq)]
    struct N(i64);

    impl FromSqlite for N {
        fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
            row.get("n").map(N)
        }
    }

    fn count(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
    }

    #[test]
    fn a_connection_left_inside_a_transaction_is_not_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (writer, readers) = readers(dir.path());
        // A read whose transaction never ends, as after a COMMIT that failed.
        let stuck = readers.with(|conn| {
            conn.execute_batch("BEGIN")?;
            count(conn)
        });
        assert_eq!(stuck.expect("read"), 1);
        assert!(unpoisoned(&readers.idle).is_empty(), "the connection in a transaction was kept");

        writer.execute("INSERT INTO t VALUES (2)", []).expect("insert");
        // Had it been kept, this read would see its old snapshot: one row.
        assert_eq!(readers.with(count).expect("read"), 2);
        assert_eq!(unpoisoned(&readers.idle).len(), 1, "a connection that ended its reads is kept");
        let pair: (Option<N>, Option<N>) =
            readers.pair(("SELECT count(*) AS n FROM t", []), ("SELECT max(n) AS n FROM t", [])).expect("pair");
        assert_eq!(pair, (Some(N(2)), Some(N(2))));
        assert_eq!(unpoisoned(&readers.idle).len(), 1, "pair ends its transaction");
    }
}
