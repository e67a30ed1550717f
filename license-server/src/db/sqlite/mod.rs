//! The SQLite backend: the default, a single file in the data folder.
//!
//! WAL mode lets readers run beside the writer. Writes go through a pool of exactly one
//! connection, which serialises write transactions inside the process: that is what makes
//! the read-then-write transactions of [`portable`](super::portable) safe here without row
//! locks (SQLite has no `FOR UPDATE`), and it keeps writers from spinning in SQLite's busy
//! handler, whose sleeps would wreck tail latency.
//!
//! The queue's workers write through the same connection, after the requests: see
//! [`SqliteRepository::on_background`].
//!
//! With one write connection, what matters is how long each write holds it. Writes run on a
//! thread of their own: were they awaited on the HTTP workers, the connection would stay
//! checked out until a busy worker got round to polling the finished query, and every other
//! writer would queue behind that (measured: 30 % fewer licenses per second; see
//! docs/benchmarks.md).
//!
//! Issuance, the hottest path, bypasses sqlx where its threads cost most: the license's
//! device and entitlement are read on the calling thread ([`direct`]), and licenses are
//! written in batches, many to a transaction ([`issuance`]), whose pages a thread of their
//! own copies from the WAL into the database file ([`checkpoints`]). All three use rusqlite
//! on the same file, linked to the same SQLite as sqlx.

use std::future::Future;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::group_commit::{Issue, Issuer};
use super::{DbError, DbResult};
use crate::load::Load;

mod checkpoints;
mod direct;
mod issuance;
mod rows;

/// The page cache of each read connection (`PRAGMA cache_size`, negative: KiB). Requests
/// read small, hot tables (devices, entitlements), whose pages stay cached; the rest comes
/// from the OS's page cache. With SQLite's default, 2,000 KiB, eight readers' caches filled
/// with pages of the event log, up to 2 MB each (docs/benchmarks.md, "The soak", which traces
/// the rest of that growth to the C allocator and to scans of the whole log, both since
/// gone). The one write connection keeps the default.
const READ_CACHE: &str = "-512";

/// How many sqlx read connections a process keeps: twice its cores, from 4 to 8. Each is a
/// thread of its own with its page cache, and more of them than the cores can run add memory
/// (and threads to wake) rather than reads (docs/benchmarks.md, "The soak").
fn read_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    u32::try_from(cores.saturating_mul(2)).unwrap_or(u32::MAX).clamp(4, 8)
}

/// Options of a pool of `size` sqlx connections, every one opened by `connect_with` and kept
/// for the process's life.
///
/// sqlx runs each SQLite connection on a thread it spawns when opening it, and a new thread
/// takes the scheduling priority of the one that spawned it. Opened on demand, a connection
/// could be opened by the queue's workers, whose threads run at a lower priority beside
/// `serve` ([`crate::queue::Priority::Background`]), and every request later handed that
/// connection would wait behind the requests' own threads: in the soak, one of four read
/// connections ran at nice 10 (docs/benchmarks.md, "The soak's targets, met"). So all of
/// them are opened at start, by the thread that connects, and none is closed for being idle
/// or old (a connection to a local file does not go stale). Only a connection sqlx closes
/// after an error is opened again on demand, wherever the next caller runs.
///
/// No ping before handing out a connection either: it cannot have gone stale, and each ping
/// is one more hand-off to the connection's thread.
fn pool_of(size: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

/// How long a connection waits on SQLite's lock before giving up with `SQLITE_BUSY`: sqlx's
/// and rusqlite's alike.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a rusqlite connection to the file at `path` ([`direct`], [`issuance`]): no mutex of
/// SQLite's own, as each connection is used by one thread at a time; URIs as sqlx takes them.
fn open_direct(path: &std::path::Path, flags: rusqlite::OpenFlags) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        flags | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// A rusqlite connection that writes (the license writer's, the checkpointer's), with the
/// writers' durability: as the sqlx connections, with WAL, NORMAL syncs the WAL before a
/// checkpoint and the database file after it, and loses at most the last transactions on
/// power loss, never consistency (a license is answered only once committed).
fn open_writer(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = open_direct(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// The hottest reads' SQL, with SQLite's numbered placeholders.
static ACTIVE_DEVICE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| rows::numbered(super::portable::ACTIVE_DEVICE));
static USABLE_ENTITLEMENT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| rows::numbered(super::portable::USABLE_ENTITLEMENT));

/// Repository over a SQLite file.
pub struct SqliteRepository {
    read: SqlitePool,
    write: SqlitePool,
    jobs: super::queue::LocalSignal,
    load: Arc<Load>,
    writer: tokio::runtime::Handle,
    readers: direct::Readers,
    issuer: Issuer<issuance::SqliteBatches>,
    // Dropping the sender ends the writer thread.
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// One machine, no channel: caches rely on expiry (see [`super::changes`]).
#[async_trait::async_trait]
impl super::Changes for SqliteRepository {
    async fn announce(&self, _change: &super::changes::Change) -> DbResult<()> {
        Ok(())
    }

    async fn change_feed(&self) -> DbResult<Option<Box<dyn super::changes::ChangeFeed>>> {
        Ok(None)
    }
}

impl SqliteRepository {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`) and migrates it.
    pub async fn connect(url: &str, load: Arc<Load>) -> DbResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses at most the last transactions on power loss, never
            // consistency; FULL would fsync on every license issued.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let path = options.get_filename().to_owned();
        let write = pool_of(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = pool_of(read_connections())
            .connect_with(options.create_if_missing(false).read_only(true).pragma("cache_size", READ_CACHE))
            .await?;
        let (writer, stop) = writer_thread()?;
        let batches =
            issuance::SqliteBatches::new(write.clone(), path.clone()).map_err(|e| DbError::Writer(e.to_string()))?;
        let issuer = Issuer::new(batches);
        let readers = direct::Readers::new(path);
        Ok(SqliteRepository { read, write, jobs: Default::default(), load, writer, readers, issuer, _stop: stop })
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

    /// Writes a license and its `license.issued` event (see `issue_license`) in the
    /// issuer's next batch ([`group_commit`](super::group_commit), [`issuance`]).
    async fn issue_with_event(
        &self,
        license: super::LicenseRow,
        event_id: String,
        middle: String,
        actor: String,
        now: i64,
    ) -> DbResult<super::LicenseRow> {
        self.issuer.issue(Issue { license, event_id, middle, actor, now }).await
    }

    // The reads below block this thread for the microseconds an indexed row takes, which is
    // the point ([`direct`]); `async` to match PostgreSQL's.
    #[allow(clippy::unused_async)]
    async fn read_active_device(&self, customer_id: &str, jkt: &str) -> DbResult<Option<super::DeviceRow>> {
        self.readers.optional(&ACTIVE_DEVICE, (customer_id, jkt))
    }

    #[allow(clippy::unused_async)]
    async fn read_usable_entitlement(
        &self,
        customer_id: &str,
        title_id: &str,
        now: i64,
    ) -> DbResult<Option<super::EntitlementRow>> {
        self.readers.optional(&USABLE_ENTITLEMENT, (customer_id, title_id, now))
    }

    /// Both reads on this thread, in one read transaction ([`direct::Readers::pair`]): each
    /// costs less than a round trip would.
    #[allow(clippy::unused_async)]
    async fn read_device_and_entitlement(
        &self,
        customer_id: &str,
        jkt: &str,
        title_id: &str,
        now: i64,
    ) -> DbResult<(Option<super::DeviceRow>, Option<super::EntitlementRow>)> {
        self.readers.pair((&ACTIVE_DEVICE, (customer_id, jkt)), (&USABLE_ENTITLEMENT, (customer_id, title_id, now)))
    }

    /// Runs a write of the queue's workers on the writer thread in its turn
    /// ([`Load::turn`]): a worker's transaction then seldom stands between a request and the
    /// one write connection.
    async fn on_background<T, F, Fut>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(SqlitePool) -> Fut,
        Fut: Future<Output = DbResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        let mut turn = self.load.turn().await;
        let write = f(self.write.clone());
        let (result, ran) = self
            .writer
            .spawn(async move {
                let started = std::time::Instant::now();
                let result = write.await;
                (result, started.elapsed())
            })
            .await
            .map_err(|e| DbError::Writer(e.to_string()))?;
        if let Some(turn) = turn.as_mut() {
            turn.ran_for(ran);
        }
        result
    }
}

/// Begins a write transaction, taking the database's write lock at once: a transaction that
/// read first and then wrote could otherwise fail with `SQLITE_BUSY` when another process
/// (a `fount-server worker` on the same file) wrote in between, which no busy timeout retries.
async fn begin_write(pool: &SqlitePool) -> DbResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Wakes other processes' workers: SQLite cannot, so they poll (this process's own are woken
/// through its `LocalSignal`).
#[allow(clippy::unused_async)]
async fn signal_jobs(_conn: &mut sqlx::SqliteConnection) -> DbResult<()> {
    Ok(())
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
    conn = sqlx::SqliteConnection,
    // Write transactions are already serialised by the one-connection write pool.
    lock_customer = "SELECT 1 FROM customers WHERE id = $1",
    lock_title = "SELECT 1 FROM titles WHERE id = $1",
    // BEGIN IMMEDIATE already holds the database's write lock.
    lock_signing_keys = "SELECT 1",
);

portable_event_log!(
    SqliteRepository,
    // Writes are serial: every committed event's place is final.
    visible = "1 = 1",
    // Not `(txid, seq) > ($1, $2)`, which PostgreSQL answers with a seek in the index on
    // `(txid, seq)`: SQLite's planner (3.51) seeks on `txid` alone and filters the rest, so
    // every read after a position walked the log from its start (a fan-out step over a log of
    // 3.6 million events took 0.4 s of CPU, more as the log grew; docs/benchmarks.md, "The
    // soak's targets, met"). `txid` is 0 for every event here and so for every position read from the log,
    // and positions from clients are checked to be non-negative: comparing `seq` within the
    // same `txid` is the same condition, and it seeks to `seq`.
    after = "txid = $1 AND seq > $2",
    type_in = "type IN (SELECT value FROM json_each($4))",
    // The one write connection serialises cursor moves within a process, and BEGIN IMMEDIATE
    // across processes.
    lock_cursor = "SELECT txid, position FROM cursors WHERE name = $1",
);

portable_queue!(
    SqliteRepository,
    claim = "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $1, lease_until = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') \
               AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts)) \
               ORDER BY priority DESC, run_at, id LIMIT $4) \
             RETURNING *",
    fenced = "(id, attempts) IN (SELECT value ->> 0, value ->> 1 FROM json_each($1))",
    probes = "INSERT INTO queue_probes (job_id, key, worker, done_at) SELECT value ->> 0, value ->> 1, $2, $3 FROM json_each($1)",
    waker = |this| Ok(Box::new(this.jobs.waker())),
);

portable_webhooks!(
    SqliteRepository,
    conn = sqlx::SqliteConnection,
    visible = "1 = 1",
    // As in `portable_event_log!` above, a condition SQLite seeks to.
    after = "txid = $1 AND seq > $2",
    through = "txid = $3 AND seq <= $4",
    lock_cursor = "SELECT txid, position FROM cursors WHERE name = $1",
);

portable_feeds!(
    SqliteRepository,
    conn = sqlx::SqliteConnection,
    // In WAL mode a read transaction keeps the snapshot of its first read to its end.
    snapshot = "BEGIN",
);

portable_console!(SqliteRepository);

portable_charts!(SqliteRepository);

portable_bookmarks!(SqliteRepository);
