//! Connections: an answer sent before its request body was read never leaves the connection
//! stuck, and a body that stalls times out. Over plain sockets, where every read has a
//! deadline (see `raw_http`).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::raw_http::*;
use crate::support::*;

/// What a connection must do after an early answer: answer the next request, or close. Never
/// hang.
async fn after_early_answer(conn: &mut RawConn, first: &RawResponse, host: &str) {
    conn.send(head("GET", "/health", host, "").as_bytes()).await;
    match conn.next().await {
        Next::Response(r) => {
            assert_eq!(r.status, 200, "the request after the early answer got {}", r.status);
            assert_ne!(first.header("connection"), Some("close"), "the server said close but kept answering");
        }
        Next::Closed => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_never_leaves_a_connection_stuck() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.limits.upload_bytes = 100_000).await;
    let store = server.store(5).await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Big"})).await, StatusCode::CREATED).await;
    let upload = format!("/v1/titles/{}/tracks", title["id"].as_str().unwrap());
    let host = server.base.trim_start_matches("http://").to_owned();
    let audio = sample_mp3();
    assert!(audio.len() > 100_000, "the sample must be over the test's upload limit");
    let auth = format!("authorization: Bearer {}\r\n", store.key);
    let json_body = br#"{"title":"x"}"#.repeat(2000);

    // (what, request bytes, expected status); each tried ten times, as the hang came and went.
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "chunked upload over the limit",
            {
                let mut r = head(
                    "POST",
                    &upload,
                    &host,
                    &format!("{auth}content-type: audio/mpeg\r\ntransfer-encoding: chunked\r\n"),
                )
                .into_bytes();
                r.extend(chunked(&audio, 16 * 1024));
                r
            },
            413,
        ),
        (
            "upload with a content-length over the limit",
            {
                let mut r = head(
                    "POST",
                    &upload,
                    &host,
                    &format!("{auth}content-type: audio/mpeg\r\ncontent-length: {}\r\n", audio.len()),
                )
                .into_bytes();
                r.extend_from_slice(&audio);
                r
            },
            413,
        ),
        (
            "a body without credentials",
            {
                let mut r = head(
                    "POST",
                    "/v1/titles",
                    &host,
                    &format!("content-type: application/json\r\ncontent-length: {}\r\n", json_body.len()),
                )
                .into_bytes();
                r.extend_from_slice(&json_body);
                r
            },
            401,
        ),
        (
            "a chunked body without credentials",
            {
                let mut r = head(
                    "POST",
                    "/v1/titles",
                    &host,
                    "content-type: application/json\r\ntransfer-encoding: chunked\r\n",
                )
                .into_bytes();
                r.extend(chunked(&json_body, 1000));
                r
            },
            401,
        ),
        (
            "a body to no route",
            {
                let mut r = head(
                    "POST",
                    "/v1/no-such-thing",
                    &host,
                    &format!("content-type: application/json\r\ncontent-length: {}\r\n", json_body.len()),
                )
                .into_bytes();
                r.extend_from_slice(&json_body);
                r
            },
            404,
        ),
        (
            "an upload of the wrong type",
            {
                let mut r = head(
                    "POST",
                    &upload,
                    &host,
                    &format!("{auth}content-type: application/json\r\ncontent-length: {}\r\n", json_body.len()),
                )
                .into_bytes();
                r.extend_from_slice(&json_body);
                r
            },
            415,
        ),
    ];
    // Each case ten times (the hang came and went), in three ways: the body sent whole before
    // the answer is read; streamed while the answer comes back; and pipelined, with the next
    // request right behind the body. All at once, as each unread body costs a linger.
    let mut tries = tokio::task::JoinSet::new();
    for (what, request, status) in cases {
        for attempt in 0..10 {
            let (base, host, request) = (server.base.clone(), host.clone(), request.clone());
            tries.spawn(async move {
                let mode = ["sent whole", "streamed", "pipelined"][attempt % 3];
                let label = format!("{what}, {mode} (attempt {attempt})");
                let mut conn = RawConn::open(&base, &label).await;
                let sending = match mode {
                    "sent whole" => {
                        conn.send(&request).await;
                        None
                    }
                    "streamed" => Some(conn.send_paced(request, 8 * 1024, Duration::from_millis(2))),
                    _ => {
                        let mut both = request;
                        both.extend(head("GET", "/health", &host, "").into_bytes());
                        conn.send(&both).await;
                        None
                    }
                };
                let first = conn.response().await;
                assert_eq!(first.status, status, "{label}: {}", String::from_utf8_lossy(&first.body));
                assert_eq!(first.header("content-type"), Some("application/problem+json"), "{label}");
                if let Some(sending) = sending {
                    tokio::time::timeout(READ_DEADLINE, sending).await.expect("sending took too long").expect("sender");
                }
                if mode == "pipelined" {
                    // The GET already went: answered, or the connection closed.
                    if let Next::Response(r) = conn.next().await {
                        assert_eq!(r.status, 200, "{label}: the pipelined GET got {}", r.status);
                    }
                } else {
                    after_early_answer(&mut conn, &first, &host).await;
                }
            });
        }
    }
    while let Some(done) = tries.join_next().await {
        done.expect("a try panicked");
    }
    // The refused uploads added nothing.
    let title = ok_json(
        server.get(&format!("/v1/titles/{}", title["id"].as_str().unwrap()), Some(&store.key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(title["tracks"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_body_closes_the_connection_after_the_answer() {
    let server = TestServer::start(Backend::Sqlite).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    // The client announces a body and sends only part of it; the server refuses the request
    // (no credentials) without reading on, so it must say it closes, and close.
    let mut conn = RawConn::open(&server.base, "half a body, refused").await;
    let mut request =
        head("POST", "/v1/titles", &host, "content-type: application/json\r\ncontent-length: 100000\r\n").into_bytes();
    request.extend_from_slice(&[b' '; 1000]);
    conn.send(&request).await;
    let first = conn.response().await;
    assert_eq!(first.status, 401);
    assert_eq!(first.header("connection"), Some("close"));
    let started = Instant::now();
    assert!(matches!(conn.next().await, Next::Closed), "the connection stayed open after an unread body");
    assert!(started.elapsed() < Duration::from_secs(4), "closing took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_times_out() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.limits.body_idle = Duration::from_secs(1)).await;
    let store = server.store(5).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let auth = format!("authorization: Bearer {}\r\n", store.key);
    for (what, framing) in
        [("content-length", "content-length: 1000\r\n"), ("chunked", "transfer-encoding: chunked\r\n")]
    {
        let mut conn = RawConn::open(&server.base, &format!("a stalled {what} body")).await;
        let mut request =
            head("POST", "/v1/titles", &host, &format!("{auth}content-type: application/json\r\n{framing}"))
                .into_bytes();
        request.extend_from_slice(if what == "chunked" { b"5\r\n{\"tit" } else { b"{\"tit" });
        conn.send(&request).await;
        let started = Instant::now();
        let answer = conn.response().await;
        assert_eq!(answer.status, 408, "{what}: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["type"], "/problems/request-timeout");
        assert!(started.elapsed() < Duration::from_secs(4), "{what}: the timeout took {:?}", started.elapsed());
        assert!(matches!(conn.next().await, Next::Closed), "{what}: the connection stayed open");
    }
    // Bodies that do arrive, slowly but steadily, are read.
    let mut conn = RawConn::open(&server.base, "a slow but steady body").await;
    let body = br#"{"title":"Slow"}"#;
    conn.send(
        head(
            "POST",
            "/v1/titles",
            &host,
            &format!("{auth}content-type: application/json\r\ncontent-length: {}\r\n", body.len()),
        )
        .as_bytes(),
    )
    .await;
    for part in body.chunks(4) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        conn.send(part).await;
    }
    assert_eq!(conn.response().await.status, 201);
}

/// Hundreds of clients that announce a body and never send it, against a server allowed 256
/// open files: each stalled body is refused after the body timeout, the server never accepts
/// more connections than it has files for, and its health check is answered all along,
/// within the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_do_not_starve_the_server() {
    let server = ServerProcess::serve(Some(256), &[("FOUNT_BODY_TIMEOUT_SECONDS", "2")]).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for i in 0..400 {
        let mut conn = RawConn::open(&server.base, &format!("stalled client {i}")).await;
        let mut request =
            head("POST", "/widget/demo/session", &host, "content-type: application/json\r\ncontent-length: 100\r\n")
                .into_bytes();
        request.extend_from_slice(b"{\"ti");
        conn.send(&request).await;
        stalled.push(conn);
    }
    let started = Instant::now();
    let health = http_client().get(format!("{}/health", server.base)).send().await.expect("/health answers");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(15), "/health took {:?}", started.elapsed());
    // Every stalled client is answered 408 (or, queued past its own patience, closed).
    for conn in &mut stalled {
        if let Next::Response(r) = conn.next_within(Duration::from_secs(20)).await {
            assert_eq!(r.status, 408);
        }
    }
}

/// Requests the HTTP parser itself refuses are answered as problem+json too, then closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parser_s_own_refusals_are_problems() {
    let server = TestServer::start(Backend::Sqlite).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a header without a colon",
            format!("GET /health HTTP/1.1\r\nhost: {host}\r\nnot a header\r\n\r\n").into_bytes(),
            400,
            "malformed-request",
        ),
        (
            "a broken chunk size",
            {
                let mut r = head(
                    "POST",
                    "/widget/demo/session",
                    &host,
                    "content-type: application/json\r\ntransfer-encoding: chunked\r\n",
                )
                .into_bytes();
                r.extend_from_slice(b"zz\r\nabc\r\n");
                r
            },
            400,
            "incomplete-body",
        ),
        (
            "Content-Length beside chunked",
            head("POST", "/widget/demo/session", &host, "content-length: 5\r\ntransfer-encoding: chunked\r\n")
                .into_bytes(),
            400,
            "malformed-request",
        ),
        (
            "a head over 128 KiB",
            head("GET", "/health", &host, &format!("x-big: {}\r\n", "a".repeat(140_000))).into_bytes(),
            431,
            "headers-too-large",
        ),
        (
            "headers under actix's limit but over Fount's",
            head("GET", "/health", &host, &format!("x-big: {}\r\n", "a".repeat(40_000))).into_bytes(),
            431,
            "headers-too-large",
        ),
        (
            "a target over 8 KiB",
            head("GET", &format!("/health?{}", "a".repeat(9_000)), &host, "").into_bytes(),
            414,
            "uri-too-long",
        ),
        ("an unknown method", head("BREW", "/health", &host, "").into_bytes(), 405, "method-not-allowed"),
        ("no such route", head("GET", "/no/such/route", &host, "").into_bytes(), 404, "not-found"),
    ];
    for (what, request, status, slug) in cases {
        let mut conn = RawConn::open(&server.base, what).await;
        conn.send(&request).await;
        let answer = conn.response().await;
        assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{what}");
        assert_eq!(answer.json()["type"], format!("/problems/{slug}"), "{what}: {}", answer.json());
        assert!(answer.json()["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
    }
}
