//! The device limit, including under a burst of concurrent registrations.

use fount_sdk::DeviceKey;
use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn hundred_concurrent_registrations_give_exactly_the_limit(server: TestServer) {
        let store = server.store(5).await;
        let token = server.token(&store, "dave").await;
        let devices: Vec<_> = (0..100).map(|_| new_device()).collect();
        let results = futures_util::future::join_all(devices.iter().map(|d| {
            let jwk = serde_json::to_value(d.public_key().to_jwk()).unwrap();
            server.http.post(server.url("/v1/me/devices")).bearer_auth(&token).json(&json!({"jwk": jwk})).send()
        }))
        .await;
        let mut created = 0;
        let mut refused = 0;
        for r in results {
            let r = r.expect("response");
            match r.status() {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {
                    let p = problem(r, StatusCode::CONFLICT, "device-limit-reached").await;
                    assert_eq!(p["limit"], 5);
                    refused += 1;
                }
                other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
            }
        }
        assert_eq!((created, refused), (5, 95));
        let list = ok_json(server.get("/v1/customers/dave/devices", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 5);
    }

    async fn same_key_is_idempotent_and_revoking_frees_a_place(server: TestServer) {
        let store = server.store(2).await;
        let token = server.token(&store, "erin").await;
        let (a, b, c) = (new_device(), new_device(), new_device());
        let first = ok_json(server.register(&token, &a).await, StatusCode::CREATED).await;
        assert_eq!(first["id"], a.device_id().as_str());
        assert_eq!(first["key_type"], "EC");
        ok_json(server.register(&token, &a).await, StatusCode::OK).await;
        ok_json(server.register(&token, &b).await, StatusCode::CREATED).await;
        problem(server.register(&token, &c).await, StatusCode::CONFLICT, "device-limit-reached").await;
        let path = format!("/v1/customers/erin/devices/{}/revoke", a.device_id());
        let revoked = ok_json(server.post(&path, Some(&store.key), json!({})).await, StatusCode::OK).await;
        assert_eq!(revoked["status"], "revoked");
        ok_json(server.register(&token, &c).await, StatusCode::CREATED).await;
        problem(server.post(&path, Some(&store.key), json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
    }

    async fn bad_keys_are_refused(server: TestServer) {
        let store = server.store(5).await;
        let token = server.token(&store, "fay").await;
        for jwk in [
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            json!({"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "oct", "k": "AAAA"}),
            json!("not an object"),
        ] {
            problem(server.post("/v1/me/devices", Some(&token), json!({"jwk": jwk})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        }
        // A real key marked for another purpose is refused, saying why; marked for its own,
        // accepted (and the marks not kept).
        let device = new_device();
        let mut jwk = serde_json::to_value(device.public_key().to_jwk()).unwrap();
        jwk["alg"] = json!("ES256");
        let p = problem(server.post("/v1/me/devices", Some(&token), json!({"jwk": jwk.clone()})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert!(p["detail"].as_str().unwrap().contains("not for ECDH-ES"), "{p}");
        jwk["alg"] = json!("ECDH-ES");
        jwk["use"] = json!("enc");
        let registered = ok_json(server.post("/v1/me/devices", Some(&token), json!({"jwk": jwk})).await, StatusCode::CREATED).await;
        assert_eq!(registered["id"], device.device_id().as_str());
    }
}
