//! `/metrics`, scraped from a real `serve` process and a real `worker` process after a run of
//! requests and jobs, parsed by the Prometheus reference client's parser (PyPI
//! `prometheus-client`), and its counters asserted exactly: each process is this test's own,
//! so nothing else adds to them. Also: request ids in answers, problems and JSON logs.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// A sample: its value, if the text has one with this name and these labels (others ignored).
fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

/// Scrapes `base`/metrics with `token` and parses it with prometheus-client.
async fn scrape(base: &str, token: &str) -> Vec<Value> {
    let resp = http_client().get(format!("{base}/metrics")).bearer_auth(token).send().await.expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = resp.text().await.expect("text");
    let python = std::env::var("FOUNT_TEST_PYTHON")
        .expect("FOUNT_TEST_PYTHON is not set: run scripts/test.sh, which installs prometheus-client in a venv");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metrics/parse.py");
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("start the parser");
    let mut stdin = child.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, text.as_bytes()).await.expect("write");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the parser ended within 30 s")
        .expect("parser");
    assert!(
        out.status.success(),
        "prometheus-client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("samples")
}

async fn metrics(backend: Backend) {
    // Setup through the in-process server (it runs no workers); the traffic measured goes to
    // a `serve` process on the same data, and the jobs to a `worker` process.
    let mut server = TestServer::start_with(backend, |s| s.queue.workers = 0).await;
    let store = server.store(3).await;
    let (hook, delivered) = counting_receiver().await;
    let token = "metrics-token-for-this-test";
    let (port, metrics_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let mut env = vec![
        ("FOUNT_MASTER_KEY", server.master_key()),
        ("FOUNT_METRICS_TOKEN", token),
        ("FOUNT_ALLOW_PRIVATE_URLS", "true"),
        ("FOUNT_LOG", "info,sqlx=warn"),
        ("FOUNT_LOG_FORMAT", "json"),
    ];
    if let Some(url) = server.database_url() {
        env.push(("FOUNT_DATABASE_URL", url));
    }
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut serve =
        Fount::spawn_logging(&["serve", "--listen", &listen, "--workers", "0"], &server.data, &env, log.path());
    let mut quiet = env.clone();
    quiet.push(("FOUNT_LOG", "warn"));
    let mut worker = Fount::spawn(&["worker", "--metrics-listen", &metrics_listen], &server.data, &quiet);
    let base = format!("http://{listen}");
    wait_healthy(&base).await;
    server.base = base.clone();

    ok_json(
        server.post("/v1/webhooks", Some(&store.key), json!({"url": hook, "types": ["entitlement.granted"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Counted"})).await, StatusCode::CREATED)
            .await;
    let title = title["id"].as_str().unwrap();
    server.grant(&store, "reader", title, json!({})).await;
    let customer = server.token(&store, "reader").await;
    let device = new_device();
    assert_eq!(server.register(&customer, &device).await.status(), StatusCode::CREATED);
    assert_eq!(server.register(&customer, &device).await.status(), StatusCode::OK);
    let first = ok_json(server.acquire(&customer, title, &device).await, StatusCode::CREATED).await;
    ok_json(server.acquire(&customer, title, &device).await, StatusCode::CREATED).await;
    let renew = format!("/v1/me/licenses/{}/renew", first["id"].as_str().unwrap());
    ok_json(server.post(&renew, Some(&customer), json!({})).await, StatusCode::OK).await;

    // A problem names its request, in its body and in a header, and a client's id is kept.
    let resp = server.get("/v1/titles/no-such-title", Some(&store.key)).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(body["request_id"], id.as_str());
    let resp = server
        .http
        .get(format!("{base}/v1/titles/no-such-title"))
        .bearer_auth(&store.key)
        .header("x-request-id", "edge-7f3a")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.headers()["x-request-id"], "edge-7f3a");
    assert_eq!(problem(resp, StatusCode::NOT_FOUND, "not-found").await["request_id"], "edge-7f3a");
    // An id that is not a short safe token is replaced, not echoed.
    let resp = server
        .http
        .get(format!("{base}/health/live"))
        .header("x-request-id", "a b <script>")
        .send()
        .await
        .expect("get");
    assert_ne!(resp.headers()["x-request-id"], "a b <script>");

    eventually("the worker delivered the grant's webhook", Duration::from_secs(30), || async {
        (delivered.load(Ordering::Relaxed) >= 1).then_some(())
    })
    .await;

    // Without the token: refused, as a problem.
    let resp = http_client().get(format!("{base}/metrics")).send().await.expect("scrape");
    problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let s = scrape(&base, token).await;
    let count = |labels: &[(&str, &str)]| value(&s, "fount_http_requests_total", labels).unwrap_or(0.0);
    assert_eq!(count(&[("route", "/v1/me/licenses"), ("method", "POST"), ("status", "201")]), 2.0);
    assert_eq!(count(&[("route", "/v1/me/licenses/{license}/renew"), ("method", "POST"), ("status", "200")]), 1.0);
    assert_eq!(count(&[("route", "/v1/me/devices"), ("method", "POST"), ("status", "201")]), 1.0);
    assert_eq!(count(&[("route", "/v1/me/devices"), ("method", "POST"), ("status", "200")]), 1.0);
    assert_eq!(count(&[("route", "/v1/titles/{title}"), ("method", "GET"), ("status", "404")]), 2.0);
    assert_eq!(count(&[("route", "/metrics"), ("method", "GET"), ("status", "401")]), 1.0);
    let lat = [("route", "/v1/me/licenses"), ("method", "POST"), ("status", "201")];
    assert_eq!(value(&s, "fount_http_request_duration_seconds_count", &lat), Some(2.0));
    let inf = [("route", "/v1/me/licenses"), ("method", "POST"), ("status", "201"), ("le", "+Inf")];
    assert_eq!(value(&s, "fount_http_request_duration_seconds_bucket", &inf), Some(2.0));
    assert!(value(&s, "fount_http_request_duration_seconds_sum", &lat).is_some_and(|v| v > 0.0 && v < 10.0));
    assert_eq!(value(&s, "fount_licenses_issued_total", &[("kind", "acquired")]), Some(2.0));
    assert_eq!(value(&s, "fount_licenses_issued_total", &[("kind", "renewed")]), Some(1.0));
    assert_eq!(value(&s, "fount_devices_registered_total", &[]), Some(1.0));
    for pool in ["read", "write"] {
        assert!(value(&s, "fount_db_connections_max", &[("pool", pool)]).is_some_and(|v| v >= 1.0), "{pool}");
        assert!(value(&s, "fount_db_connections", &[("pool", pool), ("state", "idle")]).is_some(), "{pool}");
    }
    for kind in ["track.package", "webhook.deliver", "feed.sync"] {
        assert_eq!(value(&s, "fount_queue_jobs", &[("kind", kind), ("state", "dead")]), Some(0.0), "{kind}");
        assert!(value(&s, "fount_queue_oldest_due_seconds", &[("kind", kind)]).is_some(), "{kind}");
    }
    // The serve process ran no job: its workers' counters are absent.
    assert_eq!(value(&s, "fount_webhook_attempts_total", &[]), None);

    // The worker's own listener: the delivery it made.
    let w = scrape(&format!("http://{metrics_listen}"), token).await;
    assert_eq!(value(&w, "fount_webhook_attempts_total", &[("result", "delivered")]), Some(1.0));
    assert_eq!(value(&w, "fount_licenses_issued_total", &[]), None);
    assert!(value(&w, "fount_queue_jobs", &[("kind", "webhook.deliver"), ("state", "queued")]).is_some());

    // JSON logs: every line an object, the access log's lines carrying the request id.
    serve.terminate(Duration::from_secs(20)).await;
    worker.terminate(Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(log.path()).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
        .collect();
    let logged = lines
        .iter()
        .find(|l| l["target"] == "fount::http" && l["spans"][0]["request_id"] == "edge-7f3a")
        .unwrap_or_else(|| panic!("no access log line with the request id in:\n{text}"));
    assert_eq!(logged["fields"]["status"], 404);
    assert_eq!(logged["fields"]["route"], "/v1/titles/{title}");
    assert!(!text.contains(&store.key), "the API key reached the log");
    assert!(!text.contains(&customer), "a customer token reached the log");
}

#[tokio::test]
async fn metrics_sqlite() {
    metrics(Backend::Sqlite).await;
}

#[tokio::test]
async fn metrics_postgres() {
    metrics(Backend::Postgres).await;
}
