//! A database that goes away: every request that needs it is answered `503 unavailable` with
//! `Retry-After`, never a 500, and the server recovers by itself when the database is back.
//! PostgreSQL is cut off by a TCP proxy between the server and it, as a network partition or
//! a restarting database would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::support::*;

/// A TCP proxy the test can cut (close every connection, refuse new ones) and restore.
struct Proxy {
    addr: std::net::SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy =
            Proxy { addr: listener.local_addr().unwrap(), upstream: upstream.to_owned(), tasks: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(conn.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        self.serve(TcpListener::bind(self.addr).await.expect("rebind the proxy's port"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_is_503_and_coming_back_heals() {
    let admin = std::env::var("FOUNT_TEST_POSTGRES_URL").expect("FOUNT_TEST_POSTGRES_URL (run scripts/test.sh)");
    let upstream = admin.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port").to_owned();
    let proxy = Proxy::start(&upstream).await;
    let proxied = proxy.addr.to_string();
    let server = TestServer::start_with(Backend::Postgres, move |s| {
        s.database_url = s.database_url.take().map(|u| u.replace(&upstream, &proxied));
        s.database_timeout = Duration::from_secs(2);
    })
    .await;
    let f = Fixture::new(&server).await;
    f.licensed(&server).await;

    proxy.cut();
    let started = Instant::now();
    for (what, resp) in [
        ("store API", server.get("/v1/titles", Some(&f.store.key)).await),
        ("customer API", server.acquire(&f.token, &f.title_id, &f.device).await),
        ("public", server.get(&format!("/pub/{}/manifest.json", f.title_id), None).await),
        ("readiness", server.get("/health/ready", None).await),
    ] {
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let p = problem(resp, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        assert!(retry_after.is_some_and(|s| s.parse::<u32>().is_ok()), "{what}: no Retry-After");
        assert!(!p["detail"].as_str().unwrap().contains("postgres"), "{what}: {p}");
    }
    assert!(started.elapsed() < Duration::from_secs(40), "answering took {:?}", started.elapsed());
    // Liveness does not depend on the database: the process is fine, restarting it would not help.
    assert_eq!(server.get("/health/live", None).await.status(), StatusCode::OK);

    proxy.restore().await;
    let mut healed = false;
    for _ in 0..50 {
        if server.get("/v1/titles", Some(&f.store.key)).await.status() == StatusCode::OK {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healed, "the server did not recover once the database was back");
    ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
    server.grant(&f.store, "bob", &f.title_id, json!({})).await;
}

/// A database that turns read-only (a failover to a standby, a full disk policy): writes are
/// 503 saying so, readiness fails, liveness and reads go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_postgres_is_503_and_not_ready() {
    let server = TestServer::start(Backend::Postgres).await;
    let f = Fixture::new(&server).await;
    let url = server.database_url().unwrap().to_owned();
    let db = url.rsplit('/').next().unwrap().to_owned();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {db} SET default_transaction_read_only = on")))
        .execute(&admin)
        .await
        .unwrap();
    // Sessions pick the setting up when they start: end the server's.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&db)
    .execute(&admin)
    .await
    .unwrap();
    let mut detail = String::new();
    for _ in 0..5 {
        let resp = server
            .post(
                "/v1/entitlements",
                Some(&f.store.key),
                json!({"customer": "bob", "title": f.title_id, "kind": "purchase"}),
            )
            .await;
        assert!(resp.headers().contains_key("retry-after"));
        let p = problem(resp, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        detail = p["detail"].as_str().unwrap().to_owned();
        if detail.contains("read-only") {
            break;
        }
    }
    assert!(detail.contains("the database is read-only"), "{detail}");
    problem(server.get("/health/ready", None).await, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(server.get("/health/live", None).await.status(), StatusCode::OK);
    assert_eq!(server.get("/v1/titles", Some(&f.store.key)).await.status(), StatusCode::OK);
    // Writable again: ready again. (This session started read-only too: lift it here first.)
    let mut session = admin.acquire().await.unwrap();
    sqlx::query("SET default_transaction_read_only = off").execute(&mut *session).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {db} SET default_transaction_read_only = off")))
        .execute(&mut *session)
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&db)
    .execute(&mut *session)
    .await
    .unwrap();
    let mut ready = false;
    for _ in 0..20 {
        if server.get("/health/ready", None).await.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "not ready again after the database took writes again");
}
