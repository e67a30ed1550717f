//! The queue as the operator sees it (its API, with an operator key): depth, failures, dead
//! jobs retried by hand; and jobs as a store sees them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

async fn operator(server: &TestServer, key: &str, path: &str) -> Value {
    ok_json(server.get(path, Some(key)).await, StatusCode::OK).await
}

on_both_databases! {
    async fn the_operator_sees_the_queue_and_retries_dead_jobs(server: TestServer) {
        let key = server.cli(&["operator-key", "create", "--label", "ops"]).await.trim().to_owned();
        assert!(key.starts_with("fok_"), "{key}");
        let store = server.store(5).await;
        // Only an operator key opens the operator API.
        problem(server.get("/v1/operator/queue", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        problem(server.get("/v1/operator/queue", Some(&store.key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let stats = operator(&server, &key, "/v1/operator/queue").await;
        assert_eq!(stats["dead"], 0);

        // Probes that fail twice are retried, then done once each.
        let retried = server.cli(&["queue", "probe", "--count", "5", "--fail-times", "2", "--retry-ms", "100"]).await.trim().to_owned();
        let done = eventually("the retried probes", Duration::from_secs(30), || async {
            let p: Value = serde_json::from_str(&server.cli(&["queue", "probes", "--prefix", &retried]).await).unwrap();
            (p["keys"] == 5).then_some(p)
        }).await;
        assert_eq!(done["executions"], 5);

        // A probe failing every one of its 10 attempts dies, and the operator sees why.
        let doomed = server.cli(&["queue", "probe", "--fail-times", "100", "--retry-ms", "50"]).await.trim().to_owned();
        let dead = eventually("the dead job", Duration::from_secs(30), || async {
            let page = operator(&server, &key, "/v1/operator/jobs?state=dead").await;
            page["items"].as_array().and_then(|i| i.first().cloned())
        }).await;
        assert_eq!(dead["kind"], "queue.probe");
        assert_eq!((dead["attempts"].as_i64(), dead["max_attempts"].as_i64()), (Some(10), Some(10)));
        assert!(dead["last_error"].as_str().unwrap().contains("asked to fail"), "{dead}");
        let stats = operator(&server, &key, "/v1/operator/queue").await;
        assert_eq!(stats["dead"], 1);
        let kinds = stats["kinds"].as_array().unwrap();
        assert!(kinds.iter().any(|k| k["kind"] == "queue.probe" && k["dead"] == 1), "{stats}");
        assert!(stats["completed_last_hour"].as_i64().unwrap() >= 5);
        let id = dead["id"].as_str().unwrap();
        let one = operator(&server, &key, &format!("/v1/operator/jobs/{id}")).await;
        assert_eq!(one["state"], "dead");
        // Retried by hand: queued again with its attempts reset; it dies again, 10 attempts later.
        let again = ok_json(server.post(&format!("/v1/operator/jobs/{id}/retry"), Some(&key), json!({})).await, StatusCode::OK).await;
        assert_eq!((again["state"].as_str(), again["attempts"].as_i64()), (Some("queued"), Some(0)));
        eventually("dead again", Duration::from_secs(30), || async {
            let j = operator(&server, &key, &format!("/v1/operator/jobs/{id}")).await;
            (j["state"] == "dead" && j["attempts"] == 10).then_some(())
        }).await;
        // Only dead jobs can be retried; unknown ones are not found.
        let done_job = operator(&server, &key, "/v1/operator/jobs?state=completed&limit=1").await;
        let done_id = done_job["items"][0]["id"].as_str().unwrap();
        problem(server.post(&format!("/v1/operator/jobs/{done_id}/retry"), Some(&key), json!({})).await, StatusCode::CONFLICT, "conflict").await;
        problem(server.post("/v1/operator/jobs/job_nope/retry", Some(&key), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get("/v1/operator/jobs?state=lost", Some(&key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        problem(server.get("/v1/operator/jobs?kind=nope", Some(&key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        // The probes belong to no store: a store cannot read them.
        problem(server.get(&format!("/v1/jobs/{id}"), Some(&store.key)).await, StatusCode::NOT_FOUND, "not-found").await;
        let _ = doomed;

        // A revoked key stops working at once.
        let listed: Value = serde_json::from_str(&server.cli(&["operator-key", "list", "--json"]).await).unwrap();
        assert_eq!(listed[0]["label"], "ops");
        server.cli(&["operator-key", "revoke", "--id", &key]).await;
        problem(server.get("/v1/operator/queue", Some(&key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // A label is optional.
        let unlabelled = server.cli(&["operator-key", "create"]).await.trim().to_owned();
        assert_eq!(operator(&server, &unlabelled, "/v1/operator/queue").await["dead"], 1);
    }

    async fn an_upload_is_a_job_the_store_follows(server: TestServer) {
        let store = server.store(5).await;
        let other = server.store(5).await;
        let title = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
        let id = title["id"].as_str().unwrap();
        let resp = server.http.post(server.url(&format!("/v1/titles/{id}/tracks?name=Opening")))
            .bearer_auth(&store.key).header("content-type", "audio/mpeg").body(sample_mp3()).send().await.unwrap();
        let accepted = ok_json(resp, StatusCode::ACCEPTED).await;
        assert_eq!(accepted["track"]["status"], "processing");
        assert_eq!(accepted["job"]["kind"], "track.package");
        let job_id = accepted["job"]["id"].as_str().unwrap();
        // Not in the manifest until published.
        let job = server.wait_for_job(&store, job_id).await;
        assert_eq!(job["state"], "completed");
        assert_eq!(job["result"]["position"], 0);
        assert_eq!(job["result"]["warnings"], json!([]));
        let manifest = server.manifest(id).await;
        assert_eq!(manifest["readingOrder"][0]["title"], "Opening");
        problem(server.get(&format!("/v1/jobs/{job_id}"), Some(&other.key)).await, StatusCode::NOT_FOUND, "not-found").await;

        server.settle_events().await;
        let events = ok_json(server.get("/v1/events?types=track.added,track.published,track.failed", Some(&store.key)).await, StatusCode::OK).await;
        let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["track.added", "track.published"]);
    }
}

/// With no worker running, an upload waits, `processing`; the file it left is then found
/// unusable by a worker in another process: the track fails, with why, and never reaches the
/// manifest.
async fn a_worker_elsewhere_fails_an_unusable_file(backend: Backend) {
    let server = TestServer::start_with(backend, |s| s.queue.workers = 0).await;
    let store = server.store(5).await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
    let id = title["id"].as_str().unwrap();
    let resp = server
        .http
        .post(server.url(&format!("/v1/titles/{id}/tracks")))
        .bearer_auth(&store.key)
        .header("content-type", "audio/mpeg")
        .body(sample_mp3())
        .send()
        .await
        .unwrap();
    let accepted = ok_json(resp, StatusCode::ACCEPTED).await;
    let job_id = accepted["job"]["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = ok_json(server.get(&format!("/v1/jobs/{job_id}"), Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!((job["state"].as_str(), job["attempts"].as_i64()), (Some("queued"), Some(0)), "no worker: {job}");
    problem(server.get(&format!("/pub/{id}/manifest.json"), None).await, StatusCode::NOT_FOUND, "not-found").await;
    // The kept upload is spoiled before a worker gets to it.
    let uploads: Vec<_> = std::fs::read_dir(server.data.join("uploads")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(uploads.len(), 1);
    std::fs::write(&uploads[0], b"no longer audio".repeat(100)).unwrap();
    let _worker = server.spawn_worker(&["--workers", "2"]);
    let job = server.wait_for_job(&store, job_id).await;
    assert_eq!(job["state"], "completed", "the job did its work: it found the file unusable");
    let title = ok_json(server.get(&format!("/v1/titles/{id}"), Some(&store.key)).await, StatusCode::OK).await;
    let track = &title["tracks"][0];
    assert_eq!(track["status"], "failed", "{title}");
    assert!(track["error"].as_str().unwrap().contains("not a supported audio file"), "{track}");
    assert!(track["url"].is_null());
    assert_eq!(job["result"]["error"], track["error"]);
    problem(server.get(&format!("/pub/{id}/manifest.json"), None).await, StatusCode::NOT_FOUND, "not-found").await;
    server.settle_events().await;
    let events = ok_json(
        server.get("/v1/events?types=track.added,track.published,track.failed", Some(&store.key)).await,
        StatusCode::OK,
    )
    .await;
    let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["track.added", "track.failed"]);
    assert!(!uploads[0].exists(), "the spoiled upload was removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_elsewhere_fails_an_unusable_file_sqlite() {
    a_worker_elsewhere_fails_an_unusable_file(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_elsewhere_fails_an_unusable_file_postgres() {
    a_worker_elsewhere_fails_an_unusable_file(Backend::Postgres).await;
}
