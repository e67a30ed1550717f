//! `fount-server demo`, run as the binary a new user runs.

use std::process::Stdio;
use std::time::Duration;

use fount_sdk::{ClockGuard, DeviceKey, Publication, VerifiedLicense};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::*;

struct Demo(tokio::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts the demo and waits for the line announcing its URL.
async fn start_demo(data: &std::path::Path, port: u16) -> (Demo, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fount-server"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env_remove("FOUNT_DATABASE_URL")
        .env_remove("FOUNT_MASTER_KEY")
        .env("FOUNT_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start fount-server demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first =
        tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.expect("demo starts").unwrap().unwrap();
    // Keep draining stdout so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (Demo(child), first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_a_ready_store_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (demo, line) = start_demo(dir.path(), port).await;
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(line, format!("Fount demo is running at {base}/"));
    let http = http_client();
    let mut healthy = false;
    for _ in 0..100 {
        if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the demo answers /health");

    let facts: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap()).unwrap();
    assert_eq!(facts["base_url"], base);
    for field in ["store_id", "api_key", "title_id", "customer_id", "manifest_url"] {
        assert!(facts[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
    // The widget: the demo's own page shows it, and the example store's origins may frame it.
    assert_eq!(facts["title_id"], "fount-sampler");
    assert_eq!(facts["widget_url"], format!("{base}/demo"));
    assert_eq!(facts["allowed_origins"], json!([base, "http://localhost:8000", "http://127.0.0.1:8000"]));
    let page = http.get(format!("{base}/demo")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<div data-fount-title="fount-sampler""#), "{page}");
    assert!(page.contains(r#"<script src="/widget.js" async></script>"#), "{page}");
    // The snippet to copy names this server.
    assert!(page.contains(&format!("{base}/widget.js")), "{page}");
    let player = http.get(format!("{base}/widget/player?title=fount-sampler")).send().await.unwrap();
    let csp = player.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains(&format!("frame-ancestors {base} http://localhost:8000 http://127.0.0.1:8000")), "{csp}");
    let key = facts["api_key"].as_str().unwrap();
    let title = facts["title_id"].as_str().unwrap();
    let customer = facts["customer_id"].as_str().unwrap();

    // The sample title has at least two chapters.
    let manifest = http.get(facts["manifest_url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(Publication::from_json(&manifest).unwrap().chapters().len() >= 2);
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    crate::readium::assert_valid_manifest(&manifest);
    // The sample's id is not a UUID; its identifier is one all the same.
    let identifier = manifest["metadata"]["identifier"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(identifier.strip_prefix("urn:uuid:").unwrap()).is_ok(), "{identifier}");
    assert_eq!(manifest["metadata"]["language"], "en");

    // With the facts in demo.json, a store backend and an app go the whole way.
    let post = |path: String, bearer: String, body: Value| {
        http.post(format!("{base}{path}")).bearer_auth(bearer).json(&body).send()
    };
    ok_json(
        post("/v1/entitlements".into(), key.into(), json!({"customer": customer, "title": title, "kind": "purchase"}))
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let token = ok_json(
        post(format!("/v1/customers/{customer}/tokens"), key.into(), json!({})).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let token = token["token"].as_str().unwrap().to_owned();
    let device = new_device();
    let jwk = serde_json::to_value(device.public_key().to_jwk()).unwrap();
    ok_json(post("/v1/me/devices".into(), token.clone(), json!({"jwk": jwk})).await.unwrap(), StatusCode::CREATED)
        .await;
    let issued = ok_json(
        post("/v1/me/licenses".into(), token, json!({"title": title, "device": device.device_id().as_str()}))
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let jwks = fount_sdk::Jwks::from_json(
        &http.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap().bytes().await.unwrap(),
    )
    .unwrap();
    let license = VerifiedLicense::verify(issued["license"].as_str().unwrap(), &jwks).unwrap();
    assert!(license.authorize(&device.device_id(), &mut ClockGuard::new(0), now()).is_ok());

    // The operator allows a shop's origin.
    let patched = http
        .patch(format!("{base}/v1/store"))
        .bearer_auth(key)
        .json(&json!({"add_allowed_origins": ["https://shop.example"]}))
        .send()
        .await
        .unwrap();
    let origins = ok_json(patched, StatusCode::OK).await["allowed_origins"].clone();

    // A second demo on the running one's port refuses before it touches anything.
    let second = fount(
        dir.path(),
        &[
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            dir.path().to_str().unwrap(),
            "--allow-origin",
            "https://other.example",
        ],
        &[],
    )
    .await;
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let store =
        ok_json(http.get(format!("{base}/v1/store")).bearer_auth(key).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(store["allowed_origins"], origins, "the second demo changed the store's origins");

    // A second start on the same folder finds the same store and key, and keeps the origins
    // the operator allowed.
    drop(demo);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_again, _) = start_demo(dir.path(), port).await;
    let again: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap()).unwrap();
    assert_eq!(again["store_id"], facts["store_id"]);
    assert_eq!(again["api_key"], facts["api_key"]);
    let store =
        ok_json(http.get(format!("{base}/v1/store")).bearer_auth(key).send().await.unwrap(), StatusCode::OK).await;
    assert!(store["allowed_origins"].as_array().unwrap().contains(&json!("https://shop.example")), "{store}");
}
