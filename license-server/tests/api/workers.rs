//! The queue with real processes on one database: `fount-server worker` processes and a
//! `serve` share the work and do each job exactly once; a worker killed with `kill -9` loses
//! none of the jobs it held; a worker told to stop finishes or hands back what it holds.
//!
//! The jobs are the queue's probes (`fount-server queue probe`), which record their key in
//! the transaction that completes them: a job done twice would show as two executions.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

/// A data folder made with `fount-server init`, on a fresh PostgreSQL database or on SQLite;
/// and the environment its processes need.
async fn installation(postgres: bool) -> (tempfile::TempDir, Vec<(String, String)>) {
    let data = tempfile::tempdir().expect("tempdir");
    let mut env = Vec::new();
    if postgres {
        env.push(("FOUNT_DATABASE_URL".to_owned(), fresh_postgres_database().await));
    }
    cli(data.path(), &env, &["init"]).await;
    (data, env)
}

fn refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Runs a `fount-server` command on the installation; its standard output.
async fn cli(data: &Path, env: &[(String, String)], args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    let path = data.to_str().expect("utf-8 path");
    all.extend(["--data", path]);
    let out = fount(data, &all, &refs(env)).await;
    assert!(out.status.success(), "fount-server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn probes(data: &Path, env: &[(String, String)], prefix: &str) -> Value {
    serde_json::from_str(&cli(data, env, &["queue", "probes", "--prefix", prefix]).await).expect("JSON")
}

async fn queue_status(data: &Path, env: &[(String, String)]) -> Value {
    serde_json::from_str(&cli(data, env, &["queue", "status", "--json"]).await).expect("JSON")
}

fn worker(data: &Path, env: &[(String, String)], extra: &[&str]) -> Fount {
    let mut args = vec!["worker"];
    args.extend(extra);
    Fount::spawn(&args, data, &refs(env))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_and_a_server_do_twenty_thousand_jobs_each_exactly_once() {
    let (data, env) = installation(true).await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _serve = Fount::spawn(&["serve", "--listen", &listen, "--workers", "4"], data.path(), &refs(&env));
    wait_healthy(&format!("http://{listen}")).await;
    let mut workers: Vec<Fount> = (0..3).map(|_| worker(data.path(), &env, &["--workers", "8"])).collect();
    let prefix = cli(data.path(), &env, &["queue", "probe", "--count", "20000"]).await.trim().to_owned();
    let done = eventually("20,000 probes done", Duration::from_secs(300), || async {
        let p = probes(data.path(), &env, &prefix).await;
        (p["keys"] == 20_000).then_some(p)
    })
    .await;
    assert_eq!(done["executions"], 20_000, "a job was done twice: {done}");
    // The work was shared by the four processes.
    let by_worker = done["workers"].as_object().expect("workers");
    assert_eq!(by_worker.len(), 4, "every process took a share: {done}");
    let status = queue_status(data.path(), &env).await;
    assert_eq!(
        (status["queued"].as_i64(), status["running"].as_i64(), status["dead"].as_i64()),
        (Some(0), Some(0), Some(0)),
        "{status}"
    );
    // Told to stop, an idle worker ends at once, and cleanly.
    for w in &mut workers {
        let code = w.terminate(Duration::from_secs(20)).await;
        assert!(code.success(), "{code}");
    }
}

/// A worker holding jobs is killed; another takes each of them once its lease ends, and each
/// is done once.
async fn killed_worker(postgres: bool) {
    let (data, mut env) = installation(postgres).await;
    env.push(("FOUNT_JOB_LEASE_SECONDS".into(), "2".into()));
    let mut a = worker(data.path(), &env, &["--workers", "8"]);
    let a_pid = a.pid();
    let prefix =
        cli(data.path(), &env, &["queue", "probe", "--count", "8", "--work-ms", "4000"]).await.trim().to_owned();
    eventually("worker A holds the eight probes", Duration::from_secs(30), || async {
        (queue_status(data.path(), &env).await["running"] == 8).then_some(())
    })
    .await;
    a.kill9().await;
    let b = worker(data.path(), &env, &["--workers", "8"]);
    let done = eventually("the killed worker's probes done by another", Duration::from_secs(60), || async {
        let p = probes(data.path(), &env, &prefix).await;
        (p["keys"] == 8).then_some(p)
    })
    .await;
    assert_eq!(done["executions"], 8, "{done}");
    let by_worker = done["workers"].as_object().expect("workers");
    let b_pid = b.pid();
    assert_eq!(by_worker.len(), 1, "{done}");
    let (who, n) = by_worker.iter().next().expect("a worker");
    assert!(
        who.contains(&format!("-{b_pid}-")) && !who.contains(&format!("-{a_pid}-")),
        "{who} did them, not B ({b_pid})"
    );
    assert_eq!(n, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_jobs_are_done_by_another_postgres() {
    killed_worker(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_jobs_are_done_by_another_sqlite() {
    killed_worker(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_finishes_or_hands_back_its_jobs() {
    let (data, env) = installation(true).await;
    // Jobs of 1 s finish within the grace period; jobs of 60 s do not, and are handed back at
    // once (not after their lease) for another worker.
    let mut a = worker(data.path(), &env, &["--workers", "4", "--shutdown-grace-seconds", "3"]);
    let quick =
        cli(data.path(), &env, &["queue", "probe", "--count", "2", "--work-ms", "1000"]).await.trim().to_owned();
    let slow =
        cli(data.path(), &env, &["queue", "probe", "--count", "2", "--work-ms", "60000"]).await.trim().to_owned();
    eventually("worker A holds the four probes", Duration::from_secs(30), || async {
        (queue_status(data.path(), &env).await["running"] == 4).then_some(())
    })
    .await;
    let stopped = std::time::Instant::now();
    let code = a.terminate(Duration::from_secs(30)).await;
    assert!(code.success(), "{code}");
    assert!(stopped.elapsed() < Duration::from_secs(15), "stopping took {:?}", stopped.elapsed());
    assert_eq!(probes(data.path(), &env, &quick).await["executions"], 2, "the quick jobs were finished");
    let status = queue_status(data.path(), &env).await;
    assert_eq!(
        (status["running"].as_i64(), status["queued"].as_i64()),
        (Some(0), Some(2)),
        "the slow ones are queued again: {status}"
    );
    assert_eq!(probes(data.path(), &env, &slow).await["executions"], 0);
}

/// The threads of process `pid` named starting with `prefix`, with their nice values.
#[cfg(target_os = "linux")]
fn threads_named(pid: u32, prefix: &str) -> Vec<i64> {
    let mut nice = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads").flatten() {
        // A thread that ended since the listing has no files left.
        let (Ok(comm), Ok(stat)) =
            (std::fs::read_to_string(task.path().join("comm")), std::fs::read_to_string(task.path().join("stat")))
        else {
            continue;
        };
        if comm.starts_with(prefix) {
            // After the name's closing parenthesis: state is field 3 of proc(5)'s stat, nice 19.
            let rest = &stat[stat.rfind(')').expect("stat has the name in parentheses") + 1..];
            nice.push(rest.split_whitespace().nth(16).expect("nice field").parse().expect("nice is a number"));
        }
    }
    nice
}

/// Beside `serve`, the queue's workers run at a lower priority, and a thread takes the
/// priority of the thread that starts it: a SQLite connection opened on demand by a worker
/// (sqlx runs each on a thread of its own) would serve requests at the workers' priority.
/// So every connection is opened at start and kept: as many sqlx threads as connections,
/// all at the requests' priority, after the workers have fanned out and polled a while.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_s_database_threads_keep_the_requests_priority_beside_the_workers() {
    let server = ServerProcess::serve(None, &[]).await;
    let pid = server.child.id().expect("the server runs");
    let workers = eventually("the workers' thread starts", Duration::from_secs(10), || async {
        let nice = threads_named(pid, "fount-workers");
        (!nice.is_empty()).then_some(nice)
    })
    .await;
    assert_eq!(workers, [10], "the workers' thread runs at a lower priority");
    // Five fan-out steps and more polls of the queue, each reading on the read pool.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let readers = (cores * 2).clamp(4, 8);
    let sqlx = threads_named(pid, "sqlx-sqlite-wor");
    assert_eq!(sqlx.len(), 1 + readers, "one writer and {readers} readers, all opened at start: {sqlx:?}");
    assert!(sqlx.iter().all(|&n| n == 0), "every connection at the requests' priority: {sqlx:?}");
}
