//! The store's own settings: allowed widget origins, limits, the Stripe webhook secret.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn settings_are_read_and_changed(server: TestServer) {
        let store = server.store(5).await;
        let view = ok_json(server.get("/v1/store", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(view["id"], store.id.as_str());
        assert_eq!(view["allowed_origins"], json!([]));
        assert_eq!(view["stripe_webhook"], false);
        assert_eq!(view["stripe_webhook_url"], server.url(&format!("/v1/stores/{}/webhooks/stripe", store.id)));

        let patch = json!({
            "allowed_origins": ["https://Shop.example", "http://localhost:8000"],
            "device_limit": 3,
            "stripe_webhook_secret": "whsec_abcdefghijklmnop",
        });
        let changed = ok_json(server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(patch)).await, StatusCode::OK).await;
        assert_eq!(changed["allowed_origins"], json!(["https://shop.example", "http://localhost:8000"]));
        assert_eq!(changed["device_limit"], 3);
        assert_eq!(changed["stripe_webhook"], true);
        // The secret is write-only.
        assert!(!changed.to_string().contains("whsec_"));
        let again = ok_json(server.get("/v1/store", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(again, changed);
        // Members not given keep their value.
        let renamed = ok_json(
            server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"name": "Renamed"}))).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(renamed["name"], "Renamed");
        assert_eq!(renamed["device_limit"], 3);
        assert_eq!(renamed["allowed_origins"], changed["allowed_origins"]);
    }

    async fn origins_are_added_and_removed_one_by_one(server: TestServer) {
        let store = server.store(5).await;
        let patch = |body: serde_json::Value| server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(body));
        let origins = |v: &serde_json::Value| v["allowed_origins"].clone();
        let v = ok_json(patch(json!({"allowed_origins": ["https://a.example", "https://b.example", "https://c.example"]})).await, StatusCode::OK).await;
        assert_eq!(origins(&v), json!(["https://a.example", "https://b.example", "https://c.example"]));
        // Adding one keeps the others; written with a trailing slash, in capitals, with the
        // default port, it is the same origin browsers send.
        let v = ok_json(patch(json!({"add_allowed_origins": ["HTTPS://Shop.Example:443/", "https://a.example/"]})).await, StatusCode::OK).await;
        assert_eq!(origins(&v), json!(["https://a.example", "https://b.example", "https://c.example", "https://shop.example"]));
        let v = ok_json(patch(json!({"remove_allowed_origins": ["https://b.example/"]})).await, StatusCode::OK).await;
        assert_eq!(origins(&v), json!(["https://a.example", "https://c.example", "https://shop.example"]));
        // Both at once, and IPv6 literal hosts.
        let v = ok_json(patch(json!({"add_allowed_origins": ["http://[::1]:8000"], "remove_allowed_origins": ["https://a.example"]})).await, StatusCode::OK).await;
        assert_eq!(origins(&v), json!(["https://c.example", "https://shop.example", "http://[::1]:8000"]));
        // The player's frame-ancestors follow.
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let player = server.get(&format!("/widget/player?title={}", title["id"].as_str().unwrap()), None).await;
        let csp = player.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.ends_with("frame-ancestors https://c.example https://shop.example http://[::1]:8000"), "{csp}");
    }

    async fn bad_settings_are_refused(server: TestServer) {
        let store = server.store(5).await;
        let cases = [
            (json!({"allowed_origins": ["https://shop.example/path"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"add_allowed_origins": ["https://shop.example?x=1"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"remove_allowed_origins": "https://shop.example"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid-body"),
            (json!({"allowed_origins": ["javascript:alert(1)"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"allowed_origins": ["*"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"allowed_origins": "https://shop.example"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid-body"),
            (json!({"device_limit": 0}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"offline_seconds": 60}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"stripe_webhook_secret": "sk_live_not_a_webhook_secret"}), StatusCode::UNPROCESSABLE_ENTITY, "validation-failed"),
            (json!({"demo": true}), StatusCode::UNPROCESSABLE_ENTITY, "invalid-body"),
        ];
        for (body, status, slug) in cases {
            let resp = server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(body.clone())).await;
            problem(resp, status, slug).await;
        }
        let origins: Vec<String> = (0..21).map(|i| format!("https://s{i}.example")).collect();
        let resp = server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"allowed_origins": origins}))).await;
        problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.send(Method::PATCH, "/v1/store", None, Some(json!({}))).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // Nothing changed.
        let view = ok_json(server.get("/v1/store", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(view["allowed_origins"], json!([]));
        assert_eq!(view["device_limit"], 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_secret_is_sealed_at_rest() {
    let server = TestServer::start(Backend::Sqlite).await;
    let store = server.store(5).await;
    let secret = "whsec_NeverStoredInTheClear0123456789";
    let resp =
        server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"stripe_webhook_secret": secret}))).await;
    ok_json(resp, StatusCode::OK).await;
    // Checkpoint-independent: look in the database file and its write-ahead log.
    for entry in std::fs::read_dir(&server.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                path.display()
            );
        }
    }
}
