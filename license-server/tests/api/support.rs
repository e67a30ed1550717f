//! The harness: a server per test, stores made with the real CLI, and helpers for the calls
//! every test makes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fount_sdk::encoding::b64;
use fount_sdk::{DeviceKey, SoftwareDeviceKey};
use fount_server::config::Settings;
use fount_server::state::AppState;
use reqwest::{Response, StatusCode};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each test body once on SQLite and once on PostgreSQL, as `<name>::sqlite` and
/// `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($(#[$meta:meta])* async fn $name:ident($server:ident: TestServer) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($server: $crate::support::TestServer) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::support::TestServer::start($crate::support::Backend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::support::TestServer::start($crate::support::Backend::Postgres).await).await
                }
            }
        )*
    };
}

/// The HTTP client every test uses: a server that hangs fails the test in seconds, with the
/// request named, rather than holding up the whole test command.
pub fn http_client() -> reqwest::Client {
    // reqwest is built with rustls and no provider of its own (the server's choice): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// The demo's audiobook, a real MP3 with three chapters.
pub fn sample_mp3() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/media/sample.mp3")).expect("sample.mp3")
}

/// A running server with its own data folder and database.
pub struct TestServer {
    pub base: String,
    pub backend: Backend,
    pub http: reqwest::Client,
    pub data: PathBuf,
    database_url: Option<String>,
    master_key: String,
    /// `None` for a front of processes this harness did not start in-process (see
    /// [`TestServer::attach`]).
    handle: Option<actix_web::dev::ServerHandle>,
    /// Pauses this server's workers' claiming.
    pub pause: Option<fount_server::queue::Pause>,
    /// What the command line and worker processes are given besides the data and database
    /// (the bucket's locations, for a server on one).
    pub env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

/// The test bucket (scripts/garage.sh): its name, and its website endpoint, which serves
/// objects publicly by URL as a CDN in front of a bucket would.
pub struct TestBucket {
    pub bucket: String,
    pub web: String,
}

/// The test bucket, from the environment scripts/test.sh sets.
pub fn test_bucket() -> TestBucket {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run scripts/test.sh, which starts a throwaway Garage (scripts/garage.sh)")
        })
    };
    TestBucket { bucket: var("FOUNT_TEST_S3_BUCKET"), web: var("FOUNT_TEST_S3_WEB") }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command; the server's thread ends on its own.
        if let Some(handle) = &self.handle {
            drop(handle.stop(false));
        }
    }
}

/// A new, empty database on the test PostgreSQL; its URL.
pub async fn fresh_postgres_database() -> String {
    let admin = std::env::var("FOUNT_TEST_POSTGRES_URL").expect(
        "FOUNT_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a throwaway PostgreSQL, \
         or point it at a server where the tests may create databases",
    );
    let name = format!("fount_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.expect("connect to the test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.expect("create database");
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("a database URL ends in /<database>");
    format!("{base}/{name}")
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after `tweak` adjusts its settings.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        };
        let mut key = [0u8; 32];
        SystemRandom::new().fill(&mut key).expect("rng");
        let master_key = b64(key);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = Settings::new(addr, dir.path().to_owned());
        settings.database_url = database_url.clone();
        settings.master_key = Some(master_key.clone());
        settings.key_reload = std::time::Duration::from_secs(1);
        settings.queue.grace = std::time::Duration::from_secs(2);
        tweak(&mut settings);
        let base = settings.public_url.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let state = AppState::open(settings).await.expect("server state");
                // As `serve` does: workers beside the HTTP server.
                let workers = (state.settings.queue.workers > 0).then(|| {
                    fount_server::queue::Workers::start(state.clone(), fount_server::queue::Priority::Background)
                        .expect("workers")
                });
                let server = fount_server::server::serve_on(state, listener).expect("server");
                let _ = tx.send((server.handle(), workers.as_ref().map(fount_server::queue::Workers::pause_handle)));
                let _ = server.await;
                if let Some(w) = workers {
                    w.stop().await;
                }
            })
        });
        let (handle, pause) = rx.await.expect("the server thread started");
        TestServer {
            base,
            backend,
            http: http_client(),
            data: dir.path().to_owned(),
            database_url,
            master_key,
            handle: Some(handle),
            pause,
            env: Vec::new(),
            _dir: dir,
        }
    }

    /// The helpers of a test server, for servers running elsewhere at `base` (replicas
    /// behind a load balancer): the command line reaches their database with `master_key`
    /// and `env`.
    pub fn attach(base: &str, database_url: String, master_key: String, env: Vec<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        TestServer {
            base: base.to_owned(),
            backend: Backend::Postgres,
            http: http_client(),
            data: dir.path().to_owned(),
            database_url: Some(database_url),
            master_key,
            handle: None,
            pause: None,
            env,
            _dir: dir,
        }
    }

    /// A server whose assets and uploads are in the test bucket, under a prefix of its own
    /// (returned: `<prefix>/assets` and `<prefix>/uploads`).
    pub async fn start_on_bucket(backend: Backend, tweak: impl FnOnce(&mut Settings, &str)) -> (Self, String) {
        use fount_server::config::Location;
        let bucket = test_bucket().bucket;
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let assets = Location::Bucket { bucket: bucket.clone(), prefix: format!("{prefix}/assets") };
        let uploads = Location::Bucket { bucket: bucket.clone(), prefix: format!("{prefix}/uploads") };
        let env =
            vec![("FOUNT_ASSETS".to_owned(), assets.to_string()), ("FOUNT_UPLOADS".to_owned(), uploads.to_string())];
        let mut server = Self::start_with(backend, |s| {
            s.assets = Some(assets);
            s.uploads = Some(uploads);
            tweak(s, &prefix);
        })
        .await;
        server.env = env;
        (server, prefix)
    }

    /// The master key of this server's data.
    pub fn master_key(&self) -> &str {
        &self.master_key
    }

    /// The PostgreSQL database of this server, if it has one.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// Waits until `GET /v1/events` lists every event written before the call. On PostgreSQL
    /// an event is listed once every transaction that began before it has ended (the ordering
    /// rule, docs/events.md). Transaction ids are the whole cluster's, so a worker's open
    /// transaction, or another test's in its own database, holds a fresh event back for a
    /// moment. This waits until every id given out before the call has ended. SQLite lists an
    /// event as soon as it commits.
    pub async fn settle_events(&self) {
        use sqlx::Connection;
        let Some(url) = &self.database_url else { return };
        let within = std::time::Duration::from_secs(10);
        let mut conn = tokio::time::timeout(within, sqlx::PgConnection::connect(url))
            .await
            .expect("connecting to the test PostgreSQL took over 10 s")
            .expect("connect to the test PostgreSQL");
        // Every id below the first one not yet given out has ended once the oldest still
        // running is at least that.
        const NEXT: &str = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint";
        const OLDEST: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
        let given: i64 = sqlx::query_scalar(NEXT).fetch_one(&mut conn).await.expect("read the snapshot");
        let deadline = std::time::Instant::now() + within;
        while sqlx::query_scalar::<_, i64>(OLDEST).fetch_one(&mut conn).await.expect("read the snapshot") < given {
            assert!(
                std::time::Instant::now() < deadline,
                "a transaction begun before this point was still open after {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(conn.close().await);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs the real `fount-server` binary against this server's data; returns stdout.
    pub async fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_output(args).await;
        assert!(out.status.success(), "fount-server {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs the real `fount-server` binary against this server's data; returns what it did.
    pub async fn cli_output(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fount-server"));
        cmd.args(args).arg("--data").arg(&self.data).env("FOUNT_MASTER_KEY", &self.master_key).env("FOUNT_LOG", "warn");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        match &self.database_url {
            Some(url) => cmd.env("FOUNT_DATABASE_URL", url),
            None => cmd.env_remove("FOUNT_DATABASE_URL"),
        };
        run_bounded(cmd).await
    }

    /// A `fount-server worker` process on this server's data and database.
    pub fn spawn_worker(&self, args: &[&str]) -> Fount {
        let mut all = vec!["worker"];
        all.extend(args);
        let mut env = vec![("FOUNT_MASTER_KEY", self.master_key.as_str()), ("FOUNT_PUBLIC_URL", self.base.as_str())];
        if let Some(url) = &self.database_url {
            env.push(("FOUNT_DATABASE_URL", url.as_str()));
        }
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Fount::spawn(&all, &self.data, &env)
    }

    /// A new store with an API key, made with `fount-server store create` and `apikey create`.
    pub async fn store(&self, device_limit: i64) -> TestStore {
        let limit = device_limit.to_string();
        let store: Value = serde_json::from_str(
            &self.cli(&["store", "create", "--name", "Test Store", "--device-limit", &limit]).await,
        )
        .expect("store json");
        let id = store["id"].as_str().expect("store id").to_owned();
        let key = self.cli(&["apikey", "create", "--store", &id]).await.trim().to_owned();
        TestStore { id, key }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        let mut req = self.http.get(self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Response {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send().await.expect("request")
    }

    /// Any method, with an optional JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    /// A demo store (`store create --demo`) with an API key.
    pub async fn demo_store(&self) -> TestStore {
        let store: Value =
            serde_json::from_str(&self.cli(&["store", "create", "--name", "Demo Store", "--demo"]).await)
                .expect("json");
        assert_eq!(store["demo"], true);
        let id = store["id"].as_str().expect("store id").to_owned();
        let key = self.cli(&["apikey", "create", "--store", &id]).await.trim().to_owned();
        TestStore { id, key }
    }

    /// Creates a title and uploads `audio` to it; returns the title's JSON.
    pub async fn title_with_audio(&self, store: &TestStore, audio: Vec<u8>) -> Value {
        let title = ok_json(
            self.post(
                "/v1/titles",
                Some(&store.key),
                json!({"title": "A Book", "author": "An Author", "price": "9.99", "currency": "EUR"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = title["id"].as_str().expect("id").to_owned();
        let (track, _) = self.upload(store, &id, "book.mp3", "audio/mpeg", audio).await;
        assert_eq!(track["status"], "published", "{track}");
        self.manifest(&id).await;
        ok_json(self.get(&format!("/v1/titles/{id}"), Some(&store.key)).await, StatusCode::OK).await
    }

    /// Uploads a file to a title (`202`), waits for its packaging job to finish, and returns
    /// the track as it then is and the finished job.
    pub async fn upload(
        &self,
        store: &TestStore,
        title: &str,
        file: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> (Value, Value) {
        let resp = self
            .http
            .post(self.url(&format!("/v1/titles/{title}/tracks?filename={file}")))
            .bearer_auth(&store.key)
            .header("content-type", media_type)
            .body(bytes)
            .send()
            .await
            .expect("upload");
        let accepted = ok_json(resp, StatusCode::ACCEPTED).await;
        assert_eq!(accepted["track"]["status"], "processing", "{accepted}");
        assert!(accepted["track"]["url"].is_null(), "{accepted}");
        let job = self.wait_for_job(store, accepted["job"]["id"].as_str().expect("job id")).await;
        assert_eq!(job["state"], "completed", "{job}");
        let position = accepted["track"]["position"].as_i64().expect("position");
        let title = ok_json(self.get(&format!("/v1/titles/{title}"), Some(&store.key)).await, StatusCode::OK).await;
        let track = title["tracks"]
            .as_array()
            .expect("tracks")
            .iter()
            .find(|t| t["position"] == position)
            .cloned()
            .unwrap_or_else(|| panic!("track {position} is gone: {title}"));
        (track, job)
    }

    /// Polls a job of `store` until it is completed or dead (at most a minute).
    pub async fn wait_for_job(&self, store: &TestStore, id: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let job = ok_json(self.get(&format!("/v1/jobs/{id}"), Some(&store.key)).await, StatusCode::OK).await;
            if job["state"] == "completed" || job["state"] == "dead" {
                return job;
            }
            assert!(std::time::Instant::now() < deadline, "job {id} did not finish within a minute: {job}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A title's manifest, checked against the Readium schema.
    pub async fn manifest(&self, title: &str) -> Value {
        let manifest = ok_json(self.get(&format!("/pub/{title}/manifest.json"), None).await, StatusCode::OK).await;
        crate::readium::assert_valid_manifest(&manifest);
        manifest
    }

    pub async fn token(&self, store: &TestStore, customer: &str) -> String {
        let v = ok_json(
            self.post(&format!("/v1/customers/{customer}/tokens"), Some(&store.key), json!({})).await,
            StatusCode::CREATED,
        )
        .await;
        v["token"].as_str().expect("token").to_owned()
    }

    pub async fn grant(&self, store: &TestStore, customer: &str, title: &str, extra: Value) -> Value {
        let mut body = json!({"customer": customer, "title": title, "kind": "purchase"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        ok_json(self.post("/v1/entitlements", Some(&store.key), body).await, StatusCode::CREATED).await
    }

    pub async fn register(&self, token: &str, device: &dyn DeviceKey) -> Response {
        let jwk = serde_json::to_value(device.public_key().to_jwk()).expect("jwk");
        self.post("/v1/me/devices", Some(token), json!({"jwk": jwk, "name": "test device"})).await
    }

    pub async fn acquire(&self, token: &str, title: &str, device: &dyn DeviceKey) -> Response {
        self.post("/v1/me/licenses", Some(token), json!({"title": title, "device": device.device_id().as_str()})).await
    }

    pub async fn jwks(&self) -> fount_sdk::Jwks {
        let bytes = self.get("/.well-known/jwks.json", None).await.bytes().await.expect("jwks");
        fount_sdk::Jwks::from_json(&bytes).expect("jwks parses")
    }
}

/// A store and its API key.
#[derive(Debug, Clone)]
pub struct TestStore {
    pub id: String,
    pub key: String,
}

/// Asserts the status and returns the JSON body.
pub async fn ok_json(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts an RFC 9457 problem with this status and type slug; returns it.
pub async fn problem(resp: Response, status: StatusCode, slug: &str) -> Value {
    let got = resp.status();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert_eq!(content_type, "application/problem+json", "body: {text}");
    let v: Value = serde_json::from_str(&text).expect("problem JSON");
    assert_eq!(v["type"], format!("/problems/{slug}"), "body: {text}");
    assert_eq!(v["status"], status.as_u16());
    assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(v["detail"].as_str().is_some_and(|t| !t.is_empty()));
    v
}

/// A device key of the default kind.
pub fn new_device() -> SoftwareDeviceKey {
    SoftwareDeviceKey::generate_p256(&SystemRandom::new()).expect("device key")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    fount_server::state::now()
}

/// A store with a title (the sample audiobook), a customer token and a registered device;
/// no entitlement yet.
pub struct Fixture {
    pub store: TestStore,
    pub title: Value,
    pub title_id: String,
    pub customer: String,
    pub token: String,
    pub device: SoftwareDeviceKey,
}

impl Fixture {
    pub async fn new(server: &TestServer) -> Self {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let title_id = title["id"].as_str().expect("id").to_owned();
        let customer = "alice".to_owned();
        let token = server.token(&store, &customer).await;
        let device = new_device();
        ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
        Fixture { store, title, title_id, customer, token, device }
    }

    /// Grants a purchase and acquires a license; returns the issued-license JSON.
    pub async fn licensed(&self, server: &TestServer) -> Value {
        server.grant(&self.store, &self.customer, &self.title_id, json!({})).await;
        ok_json(server.acquire(&self.token, &self.title_id, &self.device).await, StatusCode::CREATED).await
    }
}

/// A `fount-server` process, killed when dropped.
pub struct ServerProcess {
    pub base: String,
    pub child: tokio::process::Child,
    pub data: tempfile::TempDir,
}

impl ServerProcess {
    /// Runs `fount-server serve` on a free port with its own data folder, under `ulimit -n
    /// files` when given, with `env` set; returns once `/health` answers.
    pub async fn serve(files: Option<u32>, env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let limit = files.map_or_else(String::new, |n| format!("ulimit -n {n} && "));
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg("-c")
            .arg(format!("{limit}exec \"$0\" serve --listen 127.0.0.1:{port} --data \"$1\""))
            .arg(env!("CARGO_BIN_EXE_fount-server"))
            .arg(data.path())
            .env_remove("FOUNT_DATABASE_URL")
            .env_remove("FOUNT_MASTER_KEY")
            .env("FOUNT_LOG", "warn")
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start fount-server");
        let base = format!("http://127.0.0.1:{port}");
        let http = http_client();
        for _ in 0..200 {
            if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
                return ServerProcess { base, child, data };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("fount-server did not answer /health within 20 s");
    }
}

/// Runs a command to its end, within a minute.
pub async fn run_bounded(mut cmd: tokio::process::Command) -> std::process::Output {
    cmd.kill_on_drop(true);
    let what = format!("{:?}", cmd.as_std());
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} ran over a minute"))
        .expect("run the command")
}

/// `fount-server ARGS` in `cwd`, with a clean environment of `FOUNT_*` but for `env`.
pub async fn fount(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fount-server"));
    cmd.args(args).current_dir(cwd).env("FOUNT_LOG", "warn");
    for var in ["FOUNT_DATA", "FOUNT_DATABASE_URL", "FOUNT_MASTER_KEY", "FOUNT_LISTEN"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_bounded(cmd).await
}

/// A `fount-server` process (`serve`, `worker`) on a data folder, killed when dropped.
pub struct Fount {
    pub child: tokio::process::Child,
    pub what: String,
}

impl Fount {
    /// Starts `fount-server ARGS --data DATA`, logging warnings only, with `env` set and the
    /// rest of the `FOUNT_*` environment cleared.
    pub fn spawn(args: &[&str], data: &Path, env: &[(&str, &str)]) -> Self {
        Self::start(Self::command(args, data, env), args)
    }

    /// As [`Fount::spawn`], its stderr (the log) written to `log`.
    pub fn spawn_logging(args: &[&str], data: &Path, env: &[(&str, &str)], log: &Path) -> Self {
        let mut cmd = Self::command(args, data, env);
        cmd.stderr(std::fs::File::create(log).expect("log file"));
        Self::start(cmd, args)
    }

    fn command(args: &[&str], data: &Path, env: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fount-server"));
        cmd.args(args).arg("--data").arg(data).env("FOUNT_LOG", "warn").kill_on_drop(true);
        for var in ["FOUNT_DATA", "FOUNT_DATABASE_URL", "FOUNT_MASTER_KEY", "FOUNT_LISTEN", "FOUNT_WORKERS"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn start(mut cmd: tokio::process::Command, args: &[&str]) -> Self {
        let child = cmd.spawn().expect("start fount-server");
        Fount { child, what: args.join(" ") }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// `kill -9`, and waits for it to be gone.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait())
            .await
            .expect("the killed process ended")
            .expect("wait");
    }

    /// SIGTERM, and waits up to `within` for it to end; its exit status.
    pub async fn terminate(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        let pid = self.pid().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("fount-server {} did not stop within {within:?} of SIGTERM", self.what))
            .expect("wait")
    }
}

/// Waits until `base`/health answers 200 (at most 30 s).
pub async fn wait_healthy(base: &str) {
    let http = http_client();
    for _ in 0..300 {
        if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{base} did not answer /health within 30 s");
}

/// A free port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `within`; panics naming
/// `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, within: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A minimal webhook receiver: answers every request 204 and counts them. It stands for a
/// receiver on another machine (the burst test measures beside it), so it runs on a thread of its own at a low priority, out of
/// the way of the server and the client being measured.
pub async fn counting_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19).expect("nice");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(
            async move { receive(tokio::net::TcpListener::from_std(listener).expect("listener"), counter).await },
        );
    });
    (url, count)
}

async fn receive(listener: tokio::net::TcpListener, counter: Arc<AtomicUsize>) {
    {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // One request: its head, then as many body bytes as it says.
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                        .unwrap_or(0);
                    while buf.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..end + 4 + length);
                    counter.fetch_add(1, Ordering::Relaxed);
                    if socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    }
}

/// An MP3 of at least `len` bytes: the sample, then its audio frames again and again (what a
/// long audiobook looks like to the prober and the packager).
pub fn long_mp3(len: usize) -> Vec<u8> {
    let sample = sample_mp3();
    // The ID3v2 tag's size is four 7-bit bytes after its 10-byte header's first six.
    let tag = if sample.starts_with(b"ID3") {
        10 + sample[6..10].iter().fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7f))
    } else {
        0
    };
    let frames = &sample[tag..];
    let mut out = sample.clone();
    while out.len() < len {
        out.extend_from_slice(frames);
    }
    out
}
