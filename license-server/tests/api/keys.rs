//! Signing-key rotation, the key set, and the API description.

use fount_sdk::{ClockGuard, DeviceKey, VerifiedLicense};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn rotation_keeps_old_licenses_valid(server: TestServer) {
        let f = Fixture::new(&server).await;
        let before = f.licensed(&server).await;
        let jwks = server.jwks().await;
        assert_eq!(jwks.keys.len(), 1);
        let old_kid = jwks.keys[0].kid.clone();

        let out = server.cli(&["keys", "rotate"]).await;
        assert!(out.contains("new signing key"));
        // The running server picks the new key up (it reloads every second in tests).
        let mut jwks = server.jwks().await;
        for _ in 0..50 {
            if jwks.keys.len() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            jwks = server.jwks().await;
        }
        assert_eq!(jwks.keys.len(), 2);

        // A license issued now carries the new kid; the old license still verifies.
        let after = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        let header: Value = serde_json::from_slice(&fount_sdk::encoding::unb64(after["license"].as_str().unwrap().split('.').next().unwrap(), "h").unwrap()).unwrap();
        assert_ne!(header["kid"], old_kid);
        assert_eq!(header["typ"], "fount-license+jwt");
        assert_eq!(header["alg"], "EdDSA");
        for issued in [&before, &after] {
            let l = VerifiedLicense::verify(issued["license"].as_str().unwrap(), &jwks).unwrap();
            assert!(l.authorize(&f.device.device_id(), &mut ClockGuard::new(0), now()).is_ok());
        }
        // Customer tokens minted before the rotation still work.
        ok_json(server.register(&f.token, &new_device()).await, StatusCode::CREATED).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let server = TestServer::start(Backend::Sqlite).await;
    let doc = ok_json(server.get("/openapi.json", None).await, StatusCode::OK).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{} paths", paths.len());
    // Every documented operation is routed: calling it never reaches the catch-all 404 or a 405.
    for (path, ops) in paths {
        let concrete = path.replace('{', "x").replace('}', "");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = server.http.request(m, server.url(&concrete)).send().await.unwrap();
            assert_ne!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if resp.status() == StatusCode::NOT_FOUND {
                let body: Value = resp.json().await.unwrap();
                assert_ne!(body["detail"], "no such resource", "{method} {path} is documented but not routed");
            }
        }
    }
    // Problems are documented as a schema, security schemes declared.
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}
