//! One store's credentials never reach another store's data: every cross-tenant request is
//! answered as if the resource did not exist.

use fount_sdk::DeviceKey;
use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn stores_are_isolated(server: TestServer) {
        let a = Fixture::new(&server).await;
        let issued = a.licensed(&server).await;
        let license_id = issued["id"].as_str().unwrap();
        let b = server.store(5).await;
        let title = &a.title_id;

        // Store B's API key on store A's data.
        problem(server.get(&format!("/v1/titles/{title}"), Some(&b.key)).await, StatusCode::NOT_FOUND, "not-found").await;
        let list = ok_json(server.get("/v1/titles", Some(&b.key)).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        let upload = server.http.post(server.url(&format!("/v1/titles/{title}/tracks"))).bearer_auth(&b.key).header("content-type", "audio/mpeg").body(sample_mp3()).send().await.unwrap();
        problem(upload, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post("/v1/entitlements", Some(&b.key), json!({"customer": "mallory", "title": title, "kind": "purchase"})).await, StatusCode::NOT_FOUND, "not-found").await;
        let ents = ok_json(server.get("/v1/entitlements", Some(&a.store.key)).await, StatusCode::OK).await;
        let ent_id = ents["items"][0]["id"].as_str().unwrap();
        problem(server.post(&format!("/v1/entitlements/{ent_id}/revoke"), Some(&b.key), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get("/v1/customers/alice/devices", Some(&b.key)).await, StatusCode::NOT_FOUND, "not-found").await;
        let revoke_device = format!("/v1/customers/alice/devices/{}/revoke", a.device.device_id());
        problem(server.post(&revoke_device, Some(&b.key), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post(&format!("/v1/licenses/{license_id}/revoke"), Some(&b.key), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
        let b_licenses = ok_json(server.get("/v1/licenses", Some(&b.key)).await, StatusCode::OK).await;
        assert_eq!(b_licenses["items"].as_array().unwrap().len(), 0);
        let b_ents = ok_json(server.get("/v1/entitlements?customer=alice", Some(&b.key)).await, StatusCode::OK).await;
        assert_eq!(b_ents["items"].as_array().unwrap().len(), 0);

        // A customer of store B (even with the same external id) cannot use store A's title
        // or A's customer's license.
        let b_token = server.token(&b, "alice").await;
        let device = new_device();
        ok_json(server.register(&b_token, &device).await, StatusCode::CREATED).await;
        problem(server.acquire(&b_token, title, &device).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post(&format!("/v1/me/licenses/{license_id}/renew"), Some(&b_token), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.post(&format!("/v1/me/licenses/{license_id}/return"), Some(&b_token), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;

        // Store A's data is unchanged by all of it.
        let still = ok_json(server.get(&format!("/v1/licenses/{license_id}/status"), None).await, StatusCode::OK).await;
        assert_eq!(still["status"], "active");
        let devices = ok_json(server.get("/v1/customers/alice/devices", Some(&a.store.key)).await, StatusCode::OK).await;
        assert_eq!(devices["items"][0]["status"], "active");
    }

    async fn credentials_are_not_interchangeable(server: TestServer) {
        let f = Fixture::new(&server).await;
        // A customer token is not an API key, nor the reverse.
        problem(server.get("/v1/titles", Some(&f.token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        problem(server.post("/v1/me/licenses", Some(&f.store.key), json!({"title": f.title_id, "device": "x"})).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // A wrong secret for a real key id.
        let mut wrong = f.store.key.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        problem(server.get("/v1/titles", Some(&wrong)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        problem(server.get("/v1/titles", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let resp = server.get("/v1/titles", Some("garbage")).await;
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // A license (signed by the same key) is not a customer token.
        let issued = f.licensed(&server).await;
        problem(server.post("/v1/me/devices", Some(issued["license"].as_str().unwrap()), json!({"jwk": {}})).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}
