//! The widget's server side: the loader, the player page and its headers, the demo store's
//! visitor sessions and test checkout. (The widget itself runs in headless Chromium:
//! widget/test/, run by scripts/test-widget.sh.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The CSP directive `name`'s value.
fn directive(csp: &str, name: &str) -> String {
    csp.split(';').map(str::trim).find_map(|d| d.strip_prefix(&format!("{name} "))).unwrap_or_default().to_owned()
}

on_both_databases! {
    async fn the_player_page_is_framed_only_by_allowed_origins(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let path = format!("/widget/player?title={}", title["id"].as_str().unwrap());

        let resp = server.get(&path, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let csp = header(&resp, "content-security-policy");
        // No origin configured: nobody may frame it.
        assert_eq!(directive(&csp, "frame-ancestors"), "'none'");
        assert_eq!(directive(&csp, "script-src"), "'self' 'wasm-unsafe-eval'");
        assert_eq!(directive(&csp, "default-src"), "'none'");
        assert_eq!(directive(&csp, "connect-src"), "'self'");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
        assert_eq!(header(&resp, "cache-control"), "no-store");
        assert!(header(&resp, "access-control-allow-origin").is_empty());

        let patch = json!({"allowed_origins": ["https://shop.example", "http://localhost:8000"]});
        ok_json(server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(patch)).await, StatusCode::OK).await;
        let resp = server.get(&path, None).await;
        let csp = header(&resp, "content-security-policy");
        assert_eq!(directive(&csp, "frame-ancestors"), "https://shop.example http://localhost:8000");
        let page = resp.text().await.unwrap();
        assert!(page.contains("A Book"));
        assert!(page.contains(r#"src="/widget/assets/player.js""#));

        problem(server.get("/widget/player?title=no-such-title", None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get("/widget/player", None).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        // A title with nothing to play yet is not shown.
        let empty = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Soon"})).await, StatusCode::CREATED).await;
        let soon = format!("/widget/player?title={}", empty["id"].as_str().unwrap());
        problem(server.get(&soon, None).await, StatusCode::NOT_FOUND, "not-found").await;
    }

    async fn what_a_store_types_cannot_inject_into_the_player(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let id = title["id"].as_str().unwrap();
        let evil = "</script><script>alert(1)</script><b onmouseover=x>";
        ok_json(
            server.send(Method::PATCH, &format!("/v1/titles/{id}"), Some(&store.key), Some(json!({"title": evil, "author": evil}))).await,
            StatusCode::OK,
        )
        .await;
        let page = server.get(&format!("/widget/player?title={id}&theme=%22%3E%3Cscript%3E&accent=red;x"), None).await.text().await.unwrap();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<b onmouseover"), "{page}");
        assert!(page.contains(r#"data-theme="auto""#));
        // The configuration block parses back to the same name.
        let start = page.find(r#"id="fount-config">"#).unwrap() + r#"id="fount-config">"#.len();
        let end = start + page[start..].find("</script>").unwrap();
        let config: Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(config["title"]["name"], evil);
        assert_eq!(config["accent"], Value::Null);
    }

    async fn a_demo_store_has_visitor_sessions_and_a_test_checkout(server: TestServer) {
        let store = server.demo_store().await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let id = title["id"].as_str().unwrap();
        let visitor = json!({"title": id, "visitor": "0123456789abcdef0123"});
        let session = ok_json(server.post("/widget/demo/session", None, visitor.clone()).await, StatusCode::OK).await;
        assert_eq!(session["customer"], "visitor-0123456789abcdef0123");
        let token = session["token"].as_str().unwrap();
        let device = new_device();
        ok_json(server.register(token, &device).await, StatusCode::CREATED).await;
        problem(server.acquire(token, id, &device).await, StatusCode::FORBIDDEN, "not-entitled").await;

        let page = server.get(&format!("/widget/demo/checkout?title={id}"), None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(directive(&header(&page, "content-security-policy"), "frame-ancestors"), "'none'");
        let paid = ok_json(server.post("/widget/demo/checkout", None, visitor.clone()).await, StatusCode::OK).await;
        assert_eq!(paid["new"], true);
        let again = ok_json(server.post("/widget/demo/checkout", None, visitor.clone()).await, StatusCode::OK).await;
        assert_eq!(again["new"], false);
        assert_eq!(again["entitlement"], paid["entitlement"]);
        ok_json(server.acquire(token, id, &device).await, StatusCode::CREATED).await;

        for bad in ["short", "not-hex-at-all-zz", &"a".repeat(65)] {
            let body = json!({"title": id, "visitor": bad});
            problem(server.post("/widget/demo/session", None, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
            problem(server.post("/widget/demo/checkout", None, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        }
        problem(
            server.post("/widget/demo/session", None, json!({"title": id, "visitor": "0123456789abcdef", "admin": true})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        )
        .await;
    }

    async fn a_real_store_has_neither(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let visitor = json!({"title": title["id"], "visitor": "0123456789abcdef"});
        problem(server.post("/widget/demo/session", None, visitor.clone()).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post("/widget/demo/checkout", None, visitor).await, StatusCode::NOT_FOUND, "not-found").await;
        let checkout = format!("/widget/demo/checkout?title={}", title["id"].as_str().unwrap());
        problem(server.get(&checkout, None).await, StatusCode::NOT_FOUND, "not-found").await;
        assert!(ok_json(server.get("/v1/entitlements?customer=visitor-0123456789abcdef", Some(&store.key)).await, StatusCode::OK)
            .await["items"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loader_and_assets_are_cacheable_and_compressed() {
    let server = TestServer::start(Backend::Sqlite).await;
    // reqwest here decodes nothing: the bodies are the bytes on the wire.
    let fetch = |path: &'static str, accept: Option<&'static str>| {
        let mut req = server.http.get(server.url(path));
        if let Some(accept) = accept {
            req = req.header("accept-encoding", accept);
        }
        req.send()
    };
    let plain = fetch("/widget.js", Some("identity")).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(header(&plain, "vary"), "accept-encoding");
    let plain_tag = header(&plain, "etag");
    // The loader as built: minified when the player's package is (scripts/build-wasm.sh).
    let source = plain.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&source).contains("/widget/player"), "the loader frames the player");

    // Compressed ahead of time: Brotli for a browser (Chromium's header), gzip for a client
    // that takes only that; each decodes to the file, and each form has its own tag.
    let mut tags = vec![plain_tag];
    for (accept, coding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0.5, gzip;q=0.9", "gzip")] {
        let resp = fetch("/widget.js", Some(accept)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(header(&resp, "content-type").starts_with("text/javascript"));
        assert_eq!(header(&resp, "content-encoding"), coding, "{accept}");
        assert_eq!(header(&resp, "vary"), "accept-encoding");
        assert_eq!(header(&resp, "cross-origin-resource-policy"), "cross-origin");
        let etag = header(&resp, "etag");
        assert!(etag.starts_with('"') && etag.ends_with(&format!("-{coding}\"")), "{etag}");
        let body = resp.bytes().await.unwrap();
        assert!(body.len() <= 3 * 1024, "the loader is {} bytes as {coding}", body.len());
        let decoded = match coding {
            "br" => {
                let mut out = Vec::new();
                brotli::BrotliDecompress(&mut &body[..], &mut out).unwrap();
                out
            }
            _ => {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out).unwrap();
                out
            }
        };
        assert_eq!(decoded, &source[..], "{coding}");
        let revalidated = server
            .http
            .get(server.url("/widget.js"))
            .header("accept-encoding", accept)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&revalidated, "etag"), etag);
        tags.push(etag);
    }
    assert_ne!(tags[1], tags[2], "each form has its own tag");
    assert!(!tags[1..].contains(&tags[0]), "the plain file's tag is its own: {tags:?}");
    // Another form's tag is not this one's: the client gets the body.
    let other = server
        .http
        .get(server.url("/widget.js"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &tags[1])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // No header at all: the plain file.
    let bare = fetch("/widget.js", None).await.unwrap();
    assert!(bare.headers().get("content-encoding").is_none());

    for path in ["/widget/assets/player.js", "/widget/assets/player.css", "/widget/sw.js", "/widget/sdk/src/index.js"] {
        assert_eq!(server.get(path, None).await.status(), StatusCode::OK, "{path}");
    }
    let sw = server.get("/widget/sw.js", None).await;
    assert!(header(&sw, "content-security-policy").contains("script-src 'self'"));
    for path in [
        "/widget/assets/../../master.key",
        "/widget/assets/secret.js",
        "/widget/sdk/src/other.js",
        "/widget/sdk/../Cargo.toml",
    ] {
        let status = server.get(path, None).await.status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // The server never serves decrypted audio.
    assert_eq!(server.get("/widget/stream/any/0", None).await.status(), StatusCode::NOT_FOUND);
}
