//! Assets and uploads in a bucket of a real S3-compatible server (Garage, started by
//! scripts/test.sh): packaging by a worker that reads the upload from the bucket and writes
//! the sealed file there in multipart uploads, ranges served from the bucket, deletion, and
//! manifests that link a CDN in front of the bucket, which the SDK then plays from.
//!
//! The bucket is read back with curl's own SigV4 signing, not with the code under test.

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::client::{client_at, plays_back};
use crate::support::*;

/// curl against the S3 API, signed with the test key; the status and the body (or the
/// headers, for `-I`).
async fn s3(method_args: &[&str], path: &str) -> (u16, Vec<u8>) {
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run scripts/test.sh"));
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-s", "-m", "10", "--aws-sigv4", "aws:amz:garage:s3", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .arg("--user")
        .arg(format!("{}:{}", var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")))
        .args(method_args)
        .args(["-w", "\n%{http_code}"])
        .arg(format!("{}/{}/{path}", var("AWS_ENDPOINT"), test_bucket().bucket));
    let out = run_bounded(cmd).await;
    assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
    let mut body = out.stdout;
    let at = body.iter().rposition(|&b| b == b'\n').expect("curl printed the status");
    let status = std::str::from_utf8(&body[at + 1..]).unwrap().trim().parse().expect("a status");
    body.truncate(at);
    (status, body)
}

/// The keys under `prefix` in the bucket (ListObjectsV2).
async fn keys(prefix: &str) -> Vec<String> {
    let (status, body) = s3(&[], &format!("?list-type=2&prefix={}%2F", prefix.replace('/', "%2F"))).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let text = String::from_utf8(body).unwrap();
    text.split("<Key>").skip(1).map(|k| k.split("</Key>").next().unwrap().to_owned()).collect()
}

/// A new app of `token`'s customer licenses the title and reads every byte of it, which equals
/// `audio`.
async fn licensed_app_plays(server: &TestServer, token: &str, title: &str, audio: &[u8]) {
    let app = client_at(&server.base).await.unwrap();
    app.register_device(token, "phone").await.unwrap();
    app.acquire_license(token, title).await.unwrap();
    plays_back(&app, title, audio).await;
}

async fn title(server: &TestServer, store: &TestStore) -> String {
    let title = ok_json(
        server
            .post("/v1/titles", Some(&store.key), json!({"title": "On a bucket", "price": "5.00", "currency": "EUR"}))
            .await,
        reqwest::StatusCode::CREATED,
    )
    .await;
    title["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_are_sealed_into_the_bucket_and_served_from_it() {
    let (server, prefix) = TestServer::start_on_bucket(Backend::Sqlite, |_, _| {}).await;
    let store = server.store(5).await;
    let id = title(&server, &store).await;
    // Longer than two parts of a multipart upload (8 MiB each).
    let audio = long_mp3(20_000_000);
    let (track, _) = server.upload(&store, &id, "long.mp3", "audio/mpeg", audio.clone()).await;
    assert_eq!(track["status"], "published", "{track}");
    let file = track["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let sealed_length = track["sealed_length"].as_u64().unwrap();

    // The sealed file is in the bucket, written in parts; the upload is gone from its own
    // prefix; nothing stayed on the local disk.
    let (status, head) = s3(&["-I"], &format!("{prefix}/assets/{file}")).await;
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains(&format!("content-length: {sealed_length}")), "{head}");
    let etag = head.lines().find(|l| l.starts_with("etag:")).expect("an ETag");
    assert!(etag.contains("-3\""), "a multipart upload of three parts has an ETag ending in -3: {etag}");
    assert_eq!(keys(&format!("{prefix}/uploads")).await, Vec::<String>::new());
    assert!(!server.data.join("assets").exists() && !server.data.join("uploads").exists());
    let scratch: Vec<_> = std::fs::read_dir(server.data.join("scratch")).unwrap().collect();
    assert!(scratch.is_empty(), "files left in scratch: {scratch:?}");

    // Served from the bucket: whole (its SHA-256 is the track's), by range, and 416 beyond.
    let (_, object) = s3(&[], &format!("{prefix}/assets/{file}")).await;
    assert_eq!(hex::encode(sha2::Sha256::digest(&object)), track["sha256"].as_str().unwrap());
    let url = track["url"].as_str().unwrap();
    let whole = server.http.get(url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap(), object);
    let part = server.http.get(url).header("range", "bytes=9000000-9265000").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), object[9_000_000..=9_265_000]);
    let beyond = server.http.get(url).header("range", format!("bytes={sealed_length}-")).send().await.unwrap();
    problem(beyond, reqwest::StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable").await;

    // A licensed app plays it back.
    server.grant(&store, "ana", &id, json!({})).await;
    let token = server.token(&store, "ana").await;
    licensed_app_plays(&server, &token, &id, &audio).await;

    // The command line works on the bucket too: deleting a track deletes its object.
    let other = title(&server, &store).await;
    let (short, _) = server.upload(&store, &other, "short.mp3", "audio/mpeg", sample_mp3()).await;
    let short_file = short["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert!(keys(&format!("{prefix}/assets")).await.contains(&format!("{prefix}/assets/{short_file}")));
    server.cli(&["track", "delete", "--title", &other, "--position", "0"]).await;
    assert!(!keys(&format!("{prefix}/assets")).await.contains(&format!("{prefix}/assets/{short_file}")));
    assert_eq!(s3(&["-I"], &format!("{prefix}/assets/{short_file}")).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_link_a_cdn_in_front_of_the_bucket() {
    let web = test_bucket().web;
    let (server, prefix) = TestServer::start_on_bucket(Backend::Postgres, |s, prefix| {
        s.assets_public_url = Some(format!("{web}/{prefix}/assets"));
    })
    .await;
    let store = server.store(5).await;
    let id = title(&server, &store).await;
    let audio = sample_mp3();
    let (track, _) = server.upload(&store, &id, "book.mp3", "audio/mpeg", audio.clone()).await;
    let file = track["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();

    let manifest: Value = server.manifest(&id).await;
    let href = manifest["readingOrder"][0]["href"].as_str().unwrap();
    assert_eq!(href, format!("{web}/{prefix}/assets/{file}"), "{manifest}");
    for link in manifest["toc"].as_array().unwrap() {
        assert!(link["href"].as_str().unwrap().starts_with(href), "{link}");
    }
    // The CDN (the bucket's public website endpoint) serves it by range, with no credentials.
    let part = server.http.get(href).header("range", "bytes=0-99").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().len(), 100);

    // The app follows the manifest there, and plays.
    server.grant(&store, "ana", &id, json!({})).await;
    let token = server.token(&store, "ana").await;
    licensed_app_plays(&server, &token, &id, &audio).await;
}
