//! Copying the license writer's WAL into the database file, on a thread of its own.
//!
//! In WAL mode a commit appends pages to the `-wal` file, and a *checkpoint* copies them back
//! into the database file. SQLite runs one inside the commit that takes the WAL past 1,000
//! pages, on the committing connection's thread: with `synchronous=NORMAL`, a sync of the
//! WAL, a copy of every page not yet copied, and a sync of the database file. The license
//! writer commits on an HTTP worker (group commit's leader,
//! [`group_commit`](crate::db::group_commit)), so under load that worker stopped for 5 to
//! 12 ms about five times a second, and every request on it with it (docs/benchmarks.md,
//! "Checkpoints beside the writer").
//!
//! So after each commit the writer nudges the [`Checkpointer`]: a thread that waits for a
//! nudge, lets commits gather for [`PERIOD`], and runs a `PASSIVE` checkpoint, which neither
//! waits for nor blocks readers and writers. When the writer's own checkpoint comes due, it
//! finds at most a period's pages left to copy.
//!
//! **Why the writer keeps its own checkpoints.** Only a checkpoint that ends with every
//! page copied lets the next write start the WAL over from its beginning; one running beside
//! a stream of commits never does, as pages keep arriving while it copies. With the writer's
//! checkpoints turned off and this thread alone, the WAL grew without end (to 17 MB for
//! 10 MB committed, in a test like this module's of a bounded WAL). The writer's own
//! checkpoint, run between its commits, is the one that lets the WAL start over; this thread
//! only makes it short. If the thread ends (it logs why), the writer checkpoints as SQLite
//! does by default.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How long commits gather after a nudge before their pages are copied: long enough that a
/// page written many times over is copied once, short enough that the writer's own
/// checkpoint, due every 1,000 pages (about five times a second at 7,700 licenses/s), finds
/// little left.
pub(super) const PERIOD: Duration = Duration::from_millis(100);

/// The handle of a checkpoint thread; dropping it ends the thread.
pub(super) struct Checkpointer {
    nudges: SyncSender<()>,
    // Detached when dropped: the thread ends on its own once the sender is gone.
    #[cfg_attr(not(test), expect(dead_code, reason = "the tests wait for the thread to end"))]
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread for the file at `path`. Its connection is opened at the first
    /// nudge, so a process that never writes licenses (a `fount-server worker`, a command)
    /// holds none.
    pub(super) fn start(path: PathBuf) -> std::io::Result<Self> {
        // One pending nudge is all it takes: the checkpoint after it copies every page
        // committed before it ran.
        let (nudges, nudged) = sync_channel(1);
        let thread = std::thread::Builder::new().name("fount-sqlite-ckpt".into()).spawn(move || run(&path, &nudged))?;
        Ok(Checkpointer { nudges, thread })
    }

    /// Tells the thread that pages were committed. Never blocks.
    pub(super) fn nudge(&self) {
        // Full: a nudge already waits, and the checkpoint after it copies these pages too.
        // Disconnected: the thread has ended, and the writer's own checkpoints do it all.
        let _ = self.nudges.try_send(());
    }
}

fn run(path: &Path, nudged: &Receiver<()>) {
    let mut conn = None;
    // Until the handle is dropped: a nudge, a period for commits to gather, a checkpoint.
    while nudged.recv().is_ok() {
        let open = gather(nudged);
        let conn = match conn.take().map_or_else(|| super::open_writer(path), Ok) {
            Ok(connected) => conn.insert(connected),
            Err(e) => {
                tracing::error!(error = %e, "cannot open the database for checkpoints; the license writer checkpoints by itself");
                return;
            }
        };
        checkpoint(conn);
        if !open {
            return;
        }
    }
}

/// Waits out [`PERIOD`], taking the nudges that come meanwhile; false if the handle was
/// dropped (the checkpoint still runs, for what was committed before).
fn gather(nudged: &Receiver<()>) -> bool {
    let started = Instant::now();
    loop {
        match nudged.recv_timeout(PERIOD.saturating_sub(started.elapsed())) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// One `PASSIVE` checkpoint: it copies what no reader still needs and never waits.
fn checkpoint(conn: &Connection) {
    let started = Instant::now();
    // (busy, pages in the WAL, pages copied); busy is 1 when another connection was
    // checkpointing, whose copy serves as well.
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    }) {
        Ok((busy, pages, copied)) => {
            tracing::trace!(busy, pages, copied, took_us = started.elapsed().as_micros(), "checkpoint");
        }
        Err(e) => tracing::warn!(error = %e, "a checkpoint failed; the next nudge tries again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    /// A WAL database with a table, and a writer connection as the license writer's: its
    /// own checkpoints at SQLite's default.
    fn database(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("wal.db");
        let writer = Connection::open(&path).expect("open");
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("WAL");
        assert_eq!(mode, "wal");
        writer.execute_batch("CREATE TABLE t (b BLOB); PRAGMA synchronous = NORMAL").expect("schema");
        (path, writer)
    }

    /// Commits of two pages each, `commits` of them over `over`, nudging after each if
    /// `checkpointer` is given; the WAL's largest size in bytes.
    fn write(
        path: &Path,
        writer: &Connection,
        commits: u32,
        over: Duration,
        checkpointer: Option<&Checkpointer>,
    ) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let pause = over.checked_div(commits).expect("some commits");
        let mut largest = 0;
        for _ in 0..commits {
            writer.execute("INSERT INTO t (b) VALUES (zeroblob(6000))", []).expect("insert");
            if let Some(checkpointer) = checkpointer {
                checkpointer.nudge();
            }
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            std::thread::sleep(pause);
        }
        largest
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).expect("the database file").len()
    }

    #[test]
    fn a_nudge_copies_the_commits_before_sqlite_s_own_checkpoint_comes_due() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, writer) = database(dir.path());
        let before = size(&path);
        // Two pages a commit, 200 in the WAL: a fifth of what makes SQLite checkpoint by itself.
        write(&path, &writer, 100, Duration::from_millis(100), None);
        std::thread::sleep(2 * PERIOD);
        assert_eq!(size(&path), before, "nothing copies the WAL without a checkpoint");

        let checkpointer = Checkpointer::start(path.clone()).expect("thread");
        checkpointer.nudge();
        let deadline = Instant::now() + Duration::from_secs(5);
        // Each row's blob overflows to a page of its own, so the file grows by 100 pages at least.
        while size(&path) < before + 100 * PAGE {
            assert!(Instant::now() < deadline, "the nudged thread copied {} pages", (size(&path) - before) / PAGE);
            std::thread::sleep(Duration::from_millis(10));
        }
        let rows: i64 = writer.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 100, "no commit lost");
    }

    #[test]
    fn the_wal_stays_bounded_while_the_thread_copies_beside_a_stream_of_commits() {
        // 1,200 commits of two pages over 1.5 s: 2,400 pages, 10 MB, were the WAL never
        // started over.
        let (commits, over) = (1_200, Duration::from_millis(1_500));
        let everything = 2 * PAGE * u64::from(commits);
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, writer) = database(dir.path());
        let checkpointer = Checkpointer::start(path.clone()).expect("thread");
        let largest = write(&path, &writer, commits, over, Some(&checkpointer));
        // SQLite's own checkpoint, due every 1,000 pages (4.1 MB of frames), starts the WAL
        // over. It is skipped, and tried again at the next commit, while the thread holds the
        // checkpoint lock, so the WAL passes 1,000 pages by what is committed during one of
        // the thread's checkpoints: about 1,225 pages (5.0 MB) once in CI, with the other unit
        // tests on the same two cores. A WAL that never starts over holds everything, and
        // more (17 MB for these 10 MB, with the writer's checkpoints off).
        assert!(largest < everything * 3 / 4, "the WAL grew to {largest} of {everything} bytes");
    }

    #[test]
    fn the_thread_ends_with_its_handle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _writer) = database(dir.path());
        let checkpointer = Checkpointer::start(path).expect("thread");
        checkpointer.nudge();
        let Checkpointer { nudges, thread } = checkpointer;
        drop(nudges);
        // The nudge's checkpoint runs, then the thread returns: within a period and a copy.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "the checkpoint thread outlived its handle");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
