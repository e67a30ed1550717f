//! Several `serve` replicas and `worker` processes on one PostgreSQL and one bucket, behind
//! nginx (round-robin), as docs/operations.md ("Replicas") runs them: the whole path from
//! upload to playing through the load balancer, a store-settings change seen by every
//! replica within a second, and a replica killed under load.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fount_sdk::DeviceKey as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::client::{client_at, plays_back};
use crate::support::*;

/// nginx in front of `upstreams`, with the configuration docs/operations.md shows.
struct Nginx {
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start_on(port: u16, upstreams: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // One process (`master_process off`), so killing it leaves no workers behind. Were it
        // started by root with workers, they would run as an unprivileged user: the folder
        // must be theirs to reach.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let servers: String =
            upstreams.iter().map(|u| format!("    server {};\n", u.trim_start_matches("http://"))).collect();
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
  upstream fount {{\n{servers}  }}\n  server {{\n    listen 127.0.0.1:{port};\n{LOCATION}  }}\n}}\n",
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let nginx = ["/usr/sbin/nginx", "nginx"].into_iter().find(|p| Path::new(p).is_file()).unwrap_or("nginx");
        let child = tokio::process::Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .kill_on_drop(true)
            .spawn()
            .expect("nginx (apt-get install nginx; scripts/test.sh installs it)");
        wait_healthy(&format!("http://127.0.0.1:{port}")).await;
        Nginx { child, _dir: dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The `location` of docs/operations.md's nginx configuration, to the letter.
const LOCATION: &str = "    client_max_body_size 1g;
    location / {
      proxy_pass http://fount;
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
    }
";

struct Cluster {
    front: TestServer,
    replicas: Vec<(Fount, String)>,
    _workers: Vec<Fount>,
    _nginx: Nginx,
    _data: Vec<tempfile::TempDir>,
}

/// `replicas` servers (no workers of their own) and `workers` worker processes, each with a
/// data folder of its own as on separate machines, sharing a fresh PostgreSQL database, the
/// test bucket and a master key; nginx in front.
async fn cluster(replicas: usize, workers: usize) -> Cluster {
    let database_url = fresh_postgres_database().await;
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key).expect("rng");
    let master_key = fount_sdk::encoding::b64(key);
    let bucket = test_bucket().bucket;
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let nginx_port = free_port();
    let front = format!("http://127.0.0.1:{nginx_port}");
    let shared = vec![
        ("FOUNT_DATABASE_URL".to_owned(), database_url.clone()),
        ("FOUNT_MASTER_KEY".to_owned(), master_key.clone()),
        ("FOUNT_ASSETS".to_owned(), format!("s3://{bucket}/{prefix}/assets")),
        ("FOUNT_UPLOADS".to_owned(), format!("s3://{bucket}/{prefix}/uploads")),
        ("FOUNT_PUBLIC_URL".to_owned(), front.clone()),
        ("FOUNT_TRUST_FORWARDED_FOR".to_owned(), "true".to_owned()),
    ];
    let env: Vec<(&str, &str)> = shared.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut data = Vec::new();
    let mut folder = || {
        let dir = tempfile::tempdir().expect("tempdir");
        let path: PathBuf = dir.path().to_owned();
        data.push(dir);
        path
    };
    // All at once: the first to take PostgreSQL's advisory lock migrates, the others wait.
    let mut servers = Vec::new();
    for _ in 0..replicas {
        let base = format!("127.0.0.1:{}", free_port());
        let fount = Fount::spawn(&["serve", "--listen", &base, "--workers", "0"], &folder(), &env);
        servers.push((fount, format!("http://{base}")));
    }
    let workers: Vec<Fount> = (0..workers).map(|_| Fount::spawn(&["worker"], &folder(), &env)).collect();
    for (_, base) in &servers {
        wait_healthy(base).await;
    }
    let bases: Vec<String> = servers.iter().map(|(_, b)| b.clone()).collect();
    let nginx = Nginx::start_on(nginx_port, &bases).await;
    Cluster {
        front: TestServer::attach(&front, database_url, master_key, shared),
        replicas: servers,
        _workers: workers,
        _nginx: nginx,
        _data: data,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_upload_to_playing_through_the_load_balancer() {
    let c = cluster(3, 2).await;
    // Started together on a new database, they agreed on one signing key.
    let mut published = Vec::new();
    for (_, base) in &c.replicas {
        let jwks: serde_json::Value =
            c.front.http.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        published.push(jwks);
    }
    assert_eq!(published[0]["keys"].as_array().map(Vec::len), Some(1), "{published:?}");
    assert!(published.iter().all(|j| *j == published[0]), "{published:?}");
    let store = c.front.store(5).await;
    let audio = sample_mp3();
    // Uploaded to one replica, packaged by a worker process from the uploads bucket, published.
    let title = c.front.title_with_audio(&store, audio.clone()).await;
    let id = title["id"].as_str().unwrap();
    c.front.grant(&store, "ana", id, json!({})).await;
    let token = c.front.token(&store, "ana").await;
    let app = client_at(&c.front.base).await.unwrap();
    app.register_device(&token, "phone").await.unwrap();
    app.acquire_license(&token, id).await.unwrap();
    plays_back(&app, id, &audio).await;
    // Every replica answers for the same data: the manifest and the sealed file from each.
    let manifest = c.front.manifest(id).await;
    for (_, base) in &c.replicas {
        let here = c.front.http.get(format!("{base}/pub/{id}/manifest.json")).send().await.unwrap();
        assert_eq!(here.status(), StatusCode::OK, "{base}");
        assert_eq!(here.json::<serde_json::Value>().await.unwrap(), manifest, "{base}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_is_seen_by_every_replica_within_a_second() {
    let c = cluster(3, 1).await;
    let store = c.front.store(5).await;
    let title = c.front.title_with_audio(&store, sample_mp3()).await;
    let id = title["id"].as_str().unwrap();
    let origin = "https://new-shop.example";
    let embed = |base: &str| format!("{base}/widget/embed?title={id}&origin={origin}");
    // Each replica reads the store, and caches it.
    for (_, base) in &c.replicas {
        let answer: serde_json::Value = c.front.http.get(embed(base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(answer["reason"], "origin-not-allowed", "{base}: {answer}");
    }
    let changed = c
        .front
        .send(reqwest::Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"add_allowed_origins": [origin]})))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let at = Instant::now();
    for (_, base) in &c.replicas {
        loop {
            let answer: serde_json::Value = c.front.http.get(embed(base)).send().await.unwrap().json().await.unwrap();
            if answer["reason"].is_null() {
                break;
            }
            assert!(at.elapsed() < Duration::from_secs(1), "{base} still answers {answer} a second after the change");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    println!("every replica saw the change within {:?}", at.elapsed());

    // A key rotation too: every replica publishes the new key (and accepts what it signs)
    // within a second.
    let keys = |jwks: &serde_json::Value| jwks["keys"].as_array().map_or(0, Vec::len);
    c.front.cli(&["keys", "rotate"]).await;
    let at = Instant::now();
    for (_, base) in &c.replicas {
        loop {
            let jwks: serde_json::Value =
                c.front.http.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
            if keys(&jwks) == 2 {
                break;
            }
            assert!(at.elapsed() < Duration::from_secs(1), "{base} still publishes {jwks} a second after the rotation");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_only_the_requests_it_was_answering() {
    let mut c = cluster(3, 1).await;
    let store = c.front.store(20).await;
    let title = c.front.title_with_audio(&store, sample_mp3()).await;
    let id = title["id"].as_str().unwrap().to_owned();
    c.front.grant(&store, "ana", &id, json!({})).await;
    let token = c.front.token(&store, "ana").await;
    const CLIENTS: usize = 8;
    let mut devices = Vec::new();
    for _ in 0..CLIENTS {
        let device = new_device();
        assert_eq!(c.front.register(&token, &device).await.status(), StatusCode::CREATED);
        devices.push(device.device_id().as_str().to_owned());
    }

    // Each client issues licenses one after the other; every answer is recorded with its time.
    let answers: Arc<Mutex<Vec<(Instant, u16)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for device in devices {
        let (http, url, token, id) = (c.front.http.clone(), c.front.url("/v1/me/licenses"), token.clone(), id.clone());
        let (answers, stop) = (answers.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent =
                    http.post(&url).bearer_auth(&token).json(&json!({"title": id, "device": device})).send().await;
                let status = sent.map_or(0, |r| r.status().as_u16());
                answers.lock().unwrap().push((Instant::now(), status));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Instant::now();
    c.replicas[1].0.kill9().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let failed: Vec<_> = answers.iter().filter(|(_, s)| *s != 201 && *s != 200).collect();
    let after =
        answers.iter().filter(|(t, s)| *t > killed + Duration::from_millis(200) && (*s == 200 || *s == 201)).count();
    println!(
        "{} licenses asked for, {} failed when the replica was killed, {after} issued after",
        answers.len(),
        failed.len()
    );
    assert!(answers.len() > 100, "only {} answers in four seconds", answers.len());
    // At most what the killed replica was answering: one request per client.
    assert!(failed.len() <= CLIENTS, "{} requests failed: {failed:?}", failed.len());
    for (at, status) in &failed {
        assert_eq!(*status, 502, "a failure that is not the killed replica's");
        assert!(*at >= killed, "a failure before the kill");
    }
    assert!(after > 50, "only {after} licenses issued after the kill");
    // The others keep serving.
    for (_, base) in [&c.replicas[0], &c.replicas[2]] {
        wait_healthy(base).await;
    }
}
