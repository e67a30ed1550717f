//! The origin (`FOUNT_ORIGIN_LISTEN`): the asset folder's sealed files by name, sent with
//! `sendfile`, beside the API. Real server, real sockets; a player follows a manifest there.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client::{client_at, plays_back};
use crate::raw_http::{Next, RawConn, head};
use crate::support::*;

/// A server with an origin on a port of its own, linked from manifests; the origin's URL.
async fn with_origin(tweak: impl FnOnce(&mut fount_server::config::Settings)) -> (TestServer, String) {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let public = origin.clone();
    let server = TestServer::start_with(Backend::Sqlite, move |s| {
        s.origin_listen = Some(([127, 0, 0, 1], port).into());
        s.assets_public_url = Some(public);
        tweak(s);
    })
    .await;
    (server, origin)
}

/// A published title's id, its one track's name on the origin, and the audio.
async fn published(server: &TestServer, store: &TestStore) -> (String, String, Vec<u8>) {
    let created = ok_json(
        server
            .post(
                "/v1/titles",
                Some(&store.key),
                json!({"title": "From the origin", "price": "5.00", "currency": "EUR"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let audio = sample_mp3();
    let (track, _) = server.upload(store, &id, "book.mp3", "audio/mpeg", audio.clone()).await;
    let file = track["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    (id, file, audio)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_serves_sealed_files_as_the_api_does() {
    let (server, origin) = with_origin(|_| {}).await;
    let store = server.store(5).await;
    let (id, file, audio) = published(&server, &store).await;
    let manifest: Value = server.manifest(&id).await;
    let href = manifest["readingOrder"][0]["href"].as_str().unwrap();
    assert_eq!(href, format!("{origin}/{file}"), "{manifest}");

    // The same bytes as the API's route.
    let from_api = server.http.get(server.url(&format!("/pub/{id}/tracks/{file}"))).send().await.unwrap();
    let sealed = from_api.bytes().await.unwrap();
    let whole = server.http.get(href).header("origin", "https://shop.example").send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/vnd.fount.sealed");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let date = httpdate::parse_http_date(headers["date"].to_str().unwrap()).expect("an HTTP date");
    let off = std::time::SystemTime::now().duration_since(date).unwrap_or_default();
    assert!(off < std::time::Duration::from_secs(60), "the origin's date is {off:?} old");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{file}-{:x}\"", headers["content-length"].to_str().unwrap().parse::<u64>().unwrap()));
    assert_eq!(whole.bytes().await.unwrap(), sealed);
    let size = sealed.len();

    // One range, a suffix, and a range past the end.
    let part = server.http.get(href).header("range", "bytes=100-4195").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], format!("bytes 100-4195/{size}").as_str());
    assert_eq!(part.bytes().await.unwrap(), sealed[100..4196]);
    let tail = server.http.get(href).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap(), sealed[size - 10..]);
    let outside = server.http.get(href).header("range", format!("bytes={size}-")).send().await.unwrap();
    assert_eq!(outside.headers()["content-range"], format!("bytes */{size}").as_str());
    let refused = problem(outside, StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable").await;
    assert!(refused["detail"].as_str().unwrap().contains(&size.to_string()), "{refused}");

    // Validators: a current copy is 304; a stale If-Range gets the whole file.
    let cached = server.http.get(href).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let weak = server.http.get(href).header("if-none-match", format!("W/{etag}")).send().await.unwrap();
    assert_eq!(weak.status(), StatusCode::NOT_MODIFIED, "If-None-Match compares weakly");
    assert_eq!(cached.headers()["etag"], etag.as_str());
    let changed =
        server.http.get(href).header("range", "bytes=0-9").header("if-range", "\"another\"").send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.bytes().await.unwrap().len(), size);

    // HEAD: the headers of the whole file, no body.
    let head_only = server.http.head(href).send().await.unwrap();
    assert_eq!(head_only.status(), StatusCode::OK);
    assert_eq!(head_only.headers()["content-length"], size.to_string().as_str());
    assert!(head_only.bytes().await.unwrap().is_empty());

    // A CORS preflight, another method, and names that are not sealed files.
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, href)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range, if-none-match")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(!preflight.headers().contains_key("content-length"), "a 204 has no Content-Length (RFC 9110 §8.6)");
    assert_eq!(preflight.headers()["access-control-allow-methods"], "GET, HEAD");
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("range"));
    let delete = server.http.delete(href).send().await.unwrap();
    assert_eq!(delete.headers()["allow"], "GET, HEAD, OPTIONS");
    problem(delete, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    for path in ["/", "/nothing-here.fsa", "/.hidden.fsa.partial", "/master.key", "/a%2f..%2fb.fsa"] {
        let missing = server.http.get(format!("{origin}{path}")).send().await.unwrap();
        problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    }

    // A player follows the manifest to the origin, and plays.
    server.grant(&store, "ana", &id, json!({})).await;
    let token = server.token(&store, "ana").await;
    let app = client_at(&server.base).await.unwrap();
    app.register_device(&token, "phone").await.unwrap();
    app.acquire_license(&token, &id).await.unwrap();
    plays_back(&app, &id, &audio).await;

    // A removed file stops being served once the workers' open files are checked again.
    std::fs::remove_file(server.data.join("assets").join(&file)).unwrap();
    eventually("the removed file's 404", Duration::from_secs(15), || async {
        let gone = server.http.get(href).header("range", "bytes=0-0").send().await.unwrap();
        (gone.status() == StatusCode::NOT_FOUND).then_some(())
    })
    .await;

    // Every answer is counted on the API's /metrics.
    let metrics = server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("fount_origin_responses_total{status=\"206\"}")), "{metrics}");
    assert!(metrics.contains("fount_origin_sent_bytes_total"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_keeps_connections_and_refuses_what_it_does_not_read() {
    let (server, origin) = with_origin(|s| {
        s.limits.head_timeout = Duration::from_secs(1);
        s.limits.keep_alive = Duration::from_secs(1);
    })
    .await;
    let store = server.store(5).await;
    let (_, file, _) = published(&server, &store).await;
    let host = origin.trim_start_matches("http://");
    let path = format!("/{file}");

    // Pipelined requests on one connection are answered in order, and it stays open.
    let mut conn = RawConn::open(&origin, "pipelined").await;
    let two = format!(
        "{}{}",
        head("GET", &path, host, "range: bytes=0-9\r\n"),
        head("GET", &path, host, "range: bytes=10-29\r\n")
    );
    conn.send(two.as_bytes()).await;
    let first = conn.response().await;
    assert_eq!((first.status, first.body.len()), (206, 10));
    let second = conn.response().await;
    assert_eq!((second.status, second.body.len()), (206, 20));
    assert_eq!(second.header("content-range").unwrap().split('/').next(), Some("bytes 10-29"));
    // Idle past the keep-alive: closed.
    assert!(matches!(conn.next_within(Duration::from_secs(4)).await, Next::Closed));

    // HEAD gets heads only, errors included: a body would be read as the next answer.
    let mut conn = RawConn::open(&origin, "HEAD").await;
    let req = format!(
        "{}{}{}",
        head("HEAD", "/nothing-here.fsa", host, ""),
        head("HEAD", &path, host, "range: bytes=999999999-\r\n"),
        head("GET", &path, host, "range: bytes=0-3\r\n")
    );
    conn.send(req.as_bytes()).await;
    let missing = conn.head_response().await;
    assert_eq!(missing.status, 404);
    assert!(missing.header("content-length").is_some_and(|l| l != "0"));
    assert_eq!(conn.head_response().await.status, 416);
    let after = conn.response().await;
    assert_eq!((after.status, after.body.len()), (206, 4));

    // What reqwest would tidy away: a path that climbs, a request without Host.
    let mut conn = RawConn::open(&origin, "climbing").await;
    conn.send(head("GET", "/../sqlite.db", host, "").as_bytes()).await;
    assert_eq!(conn.response().await.status, 404);
    conn.send(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes()).await;
    assert_eq!(conn.response().await.json()["type"], "/problems/malformed-request");

    // A request announcing a body: 400, and the connection closed (its body never read as a
    // request of its own).
    for framing in ["content-length: 40\r\n", "transfer-encoding: chunked\r\n"] {
        let mut conn = RawConn::open(&origin, framing).await;
        let smuggled = head("GET", &path, host, "");
        let req = format!("{}{smuggled}", head("GET", &path, host, framing));
        conn.send(req.as_bytes()).await;
        let refused = conn.response().await;
        assert_eq!(refused.status, 400, "{framing}");
        assert_eq!(refused.json()["type"], "/problems/malformed-request");
        assert_eq!(refused.header("connection"), Some("close"));
        assert!(matches!(conn.next().await, Next::Closed), "{framing}: a second answer");
    }

    // A head too large, one that is not HTTP/1.x, and one that never ends.
    let mut conn = RawConn::open(&origin, "large head").await;
    conn.send(head("GET", &path, host, &format!("x-filler: {}\r\n", "a".repeat(9000))).as_bytes()).await;
    let large = conn.response().await;
    assert_eq!((large.status, large.json()["type"].as_str()), (431, Some("/problems/headers-too-large")));
    let mut conn = RawConn::open(&origin, "not HTTP/1").await;
    conn.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    assert_eq!(conn.response().await.status, 400);
    let mut conn = RawConn::open(&origin, "slow head").await;
    conn.send(format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n").as_bytes()).await;
    let slow = conn.response().await;
    assert_eq!((slow.status, slow.json()["type"].as_str()), (408, Some("/problems/request-timeout")));
    assert!(matches!(conn.next().await, Next::Closed));

    // HTTP/1.0 asking for keep-alive is told it is kept.
    let mut conn = RawConn::open(&origin, "HTTP/1.0 keep-alive").await;
    for _ in 0..2 {
        conn.send(format!("GET {path} HTTP/1.0\r\nconnection: keep-alive\r\nrange: bytes=0-0\r\n\r\n").as_bytes())
            .await;
        let kept = conn.response().await;
        assert_eq!((kept.status, kept.header("connection")), (206, Some("keep-alive")));
    }

    // HTTP/1.0 without keep-alive: one answer, then closed.
    let mut conn = RawConn::open(&origin, "HTTP/1.0").await;
    conn.send(format!("GET {path} HTTP/1.0\r\nrange: bytes=0-0\r\n\r\n").as_bytes()).await;
    assert_eq!(conn.response().await.status, 206);
    assert!(matches!(conn.next().await, Next::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_needs_a_folder() {
    // With the assets in a bucket the origin has nothing to send: the server says so at start.
    let dir = tempfile::tempdir().unwrap();
    let out = fount(
        dir.path(),
        &["serve", "--data", "d", "--listen", "127.0.0.1:0", "--origin-listen", "127.0.0.1:0"],
        &[
            ("FOUNT_ASSETS", "s3://fount-media/sealed"),
            ("AWS_ENDPOINT", "http://127.0.0.1:9"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "garage"),
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FOUNT_ORIGIN_LISTEN serves an asset folder"), "{stderr}");
}
