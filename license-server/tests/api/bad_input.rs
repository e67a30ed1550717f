//! Bad input gets a 4xx problem+json naming the problem, never a 5xx.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

async fn raw(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = server.http.request(method, server.url(path)).header("content-type", content_type).body(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.send().await.unwrap()
}

on_both_databases! {
    async fn malformed_wrong_typed_and_oversized_json(server: TestServer) {
        let f = Fixture::new(&server).await;
        let key = Some(f.store.key.as_str());
        let post = reqwest::Method::POST;
        problem(raw(&server, post.clone(), "/v1/titles", key, "application/json", b"{\"title\": ".to_vec()).await, StatusCode::BAD_REQUEST, "malformed-json").await;
        problem(raw(&server, post.clone(), "/v1/titles", key, "application/json", b"not json".to_vec()).await, StatusCode::BAD_REQUEST, "malformed-json").await;
        let p = problem(server.post("/v1/titles", key, json!({"title": 42})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        assert!(p["detail"].as_str().unwrap().contains("invalid type"), "{p}");
        problem(server.post("/v1/titles", key, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        problem(server.post("/v1/titles", key, json!({"title": "x", "colour": "red"})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        problem(server.post("/v1/entitlements", key, json!({"customer": "a", "title": f.title_id, "kind": "forever"})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        problem(server.post("/v1/entitlements", key, json!({"customer": "a", "title": f.title_id, "kind": "rental"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/entitlements", key, json!({"customer": "a", "title": f.title_id, "kind": "purchase", "ends_at": 5})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/entitlements", key, json!({"customer": "has spaces", "title": f.title_id, "kind": "purchase"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/entitlements", key, json!({"customer": "a", "title": "no-such-title", "kind": "purchase"})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post("/v1/titles", key, json!({"title": "x", "checkout_url": "javascript:alert(1)"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/titles", key, json!({"title": "x", "price": "9.99"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/customers/bob/tokens", key, json!({"ttl_seconds": 10})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(raw(&server, post.clone(), "/v1/titles", key, "text/plain", b"{}".to_vec()).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
        let big = json!({"title": "x".repeat(70 * 1024)});
        let p = problem(server.post("/v1/titles", key, big).await, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
        assert_eq!(p["limit"], 64 * 1024);
        // Customer endpoints too.
        let token = Some(f.token.as_str());
        problem(raw(&server, post.clone(), "/v1/me/licenses", token, "application/json", b"[".to_vec()).await, StatusCode::BAD_REQUEST, "malformed-json").await;
        problem(server.post("/v1/me/licenses", token, json!({"title": [], "device": 1})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        problem(server.post("/v1/me/licenses/not-a-license/renew", token, json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
    }

    async fn routing_and_query_errors(server: TestServer) {
        let f = Fixture::new(&server).await;
        problem(server.get("/v1/nothing-here", None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(raw(&server, reqwest::Method::DELETE, "/v1/titles", Some(&f.store.key), "application/json", vec![]).await, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
        problem(server.get("/v1/licenses?customer=a&bogus=1", Some(&f.store.key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        problem(server.get("/v1/licenses/nope/status", None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get("/pub/nope/manifest.json", None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get(&format!("/pub/{}/tracks/..%2Fmaster.key", f.title_id), None).await, StatusCode::NOT_FOUND, "not-found").await;
        // Every problem type has a page.
        let page = server.get("/problems/device-limit-reached", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("Device limit reached"));
    }

    async fn uploads_too_large_empty_or_not_audio(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/titles/{}/tracks", f.title_id);
        let upload = |body: Vec<u8>, content_type: &'static str| raw(&server, reqwest::Method::POST, &path, Some(&f.store.key), content_type, body);
        problem(upload(b"just some text, no audio in here".repeat(100), "audio/mpeg").await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
        problem(upload(Vec::new(), "audio/mpeg").await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
        problem(upload(sample_mp3(), "application/json").await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
        // Half an MP3 is still audio up to where it stops; a file of random bytes is not.
        let mut noise = vec![0u8; 50_000];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut noise).unwrap();
        problem(upload(noise, "audio/mpeg").await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
        // Nothing was added by the failures: the title still has its one track.
        let title = ok_json(server.get(&format!("/v1/titles/{}", f.title_id), Some(&f.store.key)).await, StatusCode::OK).await;
        assert_eq!(title["tracks"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_over_the_limit_is_413() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.limits.upload_bytes = 100_000).await;
    let store = server.store(5).await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Big"})).await, StatusCode::CREATED).await;
    let path = format!("/v1/titles/{}/tracks", title["id"].as_str().unwrap());
    let resp = raw(&server, reqwest::Method::POST, &path, Some(&store.key), "audio/mpeg", sample_mp3()).await;
    let p = problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    assert_eq!(p["limit"], 100_000);
    // Without a Content-Length (chunked), the limit is enforced while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = sample_mp3().chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = server
        .http
        .post(server.url(&path))
        .bearer_auth(&store.key)
        .header("content-type", "audio/mpeg")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await;
    match resp {
        Ok(resp) => {
            problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
        }
        // The server may close the connection before the client finishes sending; what it
        // must not do is accept the upload.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    let title = ok_json(
        server.get(&format!("/v1/titles/{}", title["id"].as_str().unwrap()), Some(&store.key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(title["tracks"].as_array().unwrap().len(), 0);
}

on_both_databases! {
    /// A NUL character (which PostgreSQL cannot store) in any id, query or JSON text, on every
    /// operation of the API description, is refused with a 4xx problem.
    async fn nul_anywhere_is_a_4xx(server: TestServer) {
        let f = Fixture::new(&server).await;
        let api: serde_json::Value = ok_json(server.get("/openapi.json", None).await, StatusCode::OK).await;
        let mut tried = 0;
        for (path, item) in api["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let bearer = match op["security"][0].as_object().and_then(|s| s.keys().next()).map(String::as_str) {
                    Some("api_key") => Some(f.store.key.as_str()),
                    Some("customer_token") => Some(f.token.as_str()),
                    _ => None,
                };
                let with_nul_ids = path.split('/').map(|seg| if seg.starts_with('{') { "a%00b" } else { seg }).collect::<Vec<_>>().join("/");
                let query: Vec<String> = op["parameters"].as_array().into_iter().flatten()
                    .filter(|p| p["in"] == "query").map(|p| format!("{}=a%00b", p["name"].as_str().unwrap())).collect();
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let has_body = op.get("requestBody").is_some_and(|b| b["content"].get("application/json").is_some());
                let mut targets = Vec::new();
                if path.contains('{') || has_body {
                    targets.push((with_nul_ids.clone(), has_body.then(|| br#"{"title":"a\u0000b"}"#.to_vec())));
                }
                if !query.is_empty() {
                    // Real ids, NUL only in the query.
                    let real = path.replace("{title}", &f.title_id).replace("{customer}", &f.customer);
                    targets.push((format!("{real}?{}", query.join("&")), None));
                }
                if has_body && !path.contains('{') {
                    targets.push((path.clone(), Some(br#"{"customer":"x\u0000","title":"y","kind":"purchase","name":"n\u0000"}"#.to_vec())));
                }
                for (target, body) in targets {
                    let mut req = server.http.request(method.clone(), server.url(&target));
                    if let Some(b) = bearer {
                        req = req.bearer_auth(b);
                    }
                    if let Some(body) = body {
                        req = req.header("content-type", "application/json").body(body);
                    }
                    let resp = req.send().await.unwrap();
                    let status = resp.status();
                    let text = resp.text().await.unwrap();
                    assert!(status.is_client_error(), "{method} {target}: {status} {text}");
                    tried += 1;
                }
            }
        }
        assert!(tried >= 25, "only {tried} requests were tried");
    }

    async fn lenient_bodies_are_refused(server: TestServer) {
        let f = Fixture::new(&server).await;
        let key = Some(f.store.key.as_str());
        let post = reqwest::Method::POST;
        // A malformed body is not "no body": no default token from garbage.
        let p = problem(raw(&server, post.clone(), "/v1/customers/bob/tokens", key, "application/json", b"{ttl".to_vec()).await, StatusCode::BAD_REQUEST, "malformed-json").await;
        assert!(p["detail"].as_str().unwrap().contains("key must be a string"), "{p}");
        problem(raw(&server, post.clone(), "/v1/customers/bob/tokens", key, "application/json", b"[]".to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        // No body at all still means the defaults.
        ok_json(raw(&server, post.clone(), "/v1/customers/bob/tokens", key, "application/json", Vec::new()).await, StatusCode::CREATED).await;
        // A JSON array is not the object a PATCH describes.
        let p = problem(raw(&server, reqwest::Method::PATCH, "/v1/store", key, "application/json", br#"["https://a.example"]"#.to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        assert!(p["detail"].as_str().unwrap().contains("JSON object"), "{p}");
        // Times from the year 292 billion, or before 1970.
        let p = problem(server.post("/v1/entitlements", key, json!({"customer": "c", "title": f.title_id, "kind": "rental", "ends_at": 9_223_372_036_854_775_807i64})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert!(p["detail"].as_str().unwrap().contains("ends_at"), "{p}");
        problem(server.post("/v1/entitlements", key, json!({"customer": "c", "title": f.title_id, "kind": "purchase", "starts_at": -5})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        // Nothing was granted by any of it.
        let list = ok_json(server.get("/v1/entitlements?customer=c", key).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
    }
}
