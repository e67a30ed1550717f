//! The SQLite backend: the default, a single file in the data folder.
//!
//! WAL mode lets readers run beside the writer. Writes go through a pool of exactly one
//! connection, which serialises write transactions inside the process: that is what makes
//! the read-then-write transactions of [`portable`](super::portable) safe here without row
//! locks (SQLite has no `FOR UPDATE`), and it keeps writers from spinning in SQLite's busy
//! handler, whose sleeps would wreck tail latency.
//!
//! With one write connection, what matters is how long each write holds it. Writes run on a
//! thread of their own: were they awaited on the HTTP workers, the connection would stay
//! checked out until a busy worker got round to polling the finished query, and every other
//! writer would queue behind that (measured: 30 % fewer licenses per second; see
//! docs/benchmarks.md).

use std::future::Future;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{DbError, DbResult};

/// Repository over a SQLite file.
pub struct SqliteRepository {
    read: SqlitePool,
    write: SqlitePool,
    writer: tokio::runtime::Handle,
    // Dropping the sender ends the writer thread.
    _stop: tokio::sync::oneshot::Sender<()>,
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
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.create_if_missing(false).read_only(true))
            .await?;
        let (writer, stop) = writer_thread()?;
        Ok(SqliteRepository { read, write, writer, _stop: stop })
    }

    /// Runs a write on the writer thread.
    async fn on_writer<T, F, Fut>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(SqlitePool) -> Fut,
        Fut: Future<Output = DbResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.spawn(f(self.write.clone())).await.map_err(|e| DbError::Writer(e.to_string()))?
    }
}

/// A thread running a one-thread runtime until the returned sender is dropped.
fn writer_thread() -> DbResult<(tokio::runtime::Handle, tokio::sync::oneshot::Sender<()>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::Writer(e.to_string()))?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("fount-sqlite-writer".into())
        .spawn(move || {
            let _ = runtime.block_on(stopped);
        })
        .map_err(|e| DbError::Writer(e.to_string()))?;
    Ok((handle, stop))
}

portable_repository!(
    SqliteRepository,
    backend = "sqlite",
    // Write transactions are already serialised by the one-connection write pool.
    lock_customer = "SELECT 1 FROM customers WHERE id = $1",
    lock_title = "SELECT 1 FROM titles WHERE id = $1",
);
