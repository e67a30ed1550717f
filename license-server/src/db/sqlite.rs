//! The SQLite backend: the default, a single file in the data folder.
//!
//! WAL mode lets readers run beside the writer. Writes go through a pool of exactly one
//! connection, which serialises write transactions inside the process: that is what makes
//! the read-then-write transactions of [`portable`](super::portable) safe here without row
//! locks (SQLite has no `FOR UPDATE`), and it keeps writers from spinning in SQLite's busy
//! handler under load, which would wreck tail latency.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::DbResult;

/// Repository over a SQLite file.
pub struct SqliteRepository {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteRepository {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`) and migrates it.
    pub async fn connect(url: &str) -> DbResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses at most the last transactions on power loss, never
            // consistency; FULL would fsync on every license issued.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        Ok(SqliteRepository { read, write })
    }
}

portable_repository!(
    SqliteRepository,
    backend = "sqlite",
    // Write transactions are already serialised by the one-connection write pool.
    lock_customer = "SELECT 1 FROM customers WHERE id = $1",
    lock_title = "SELECT 1 FROM titles WHERE id = $1",
);
