//! Every way a license must be refused, each asserting the exact error: by the SDK for what a
//! device checks offline, by the server for what it checks at issuance.

use fount_sdk::encoding::{b64, unb64};
use fount_sdk::{ClockGuard, DeviceKey, Error, KeyId, SigningKey, StatusDocument, VerifiedLicense};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

fn license_of(issued: &serde_json::Value) -> &str {
    issued["license"].as_str().unwrap()
}

on_both_databases! {
    async fn used_by_another_device(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let license = VerifiedLicense::verify(license_of(&issued), &server.jwks().await).unwrap();
        let other = new_device();
        let err = license.authorize(&other.device_id(), &mut ClockGuard::new(0), now()).unwrap_err();
        assert_eq!(err, Error::WrongDevice);
        // Even past the binding check, the other device's key cannot unwrap the content key.
        let playable = license.authorize(&f.device.device_id(), &mut ClockGuard::new(0), now()).unwrap();
        let kid = KeyId::parse(&license.claims().keys[0].kid).unwrap();
        assert_eq!(playable.content_key(&kid, &other).unwrap_err(), Error::KeyUnwrap);
        // And the server will not issue to a device the customer has not registered.
        problem(server.acquire(&f.token, &f.title_id, &other).await, StatusCode::FORBIDDEN, "device-not-registered").await;
    }

    async fn one_byte_changed(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let compact = license_of(&issued);
        let jwks = server.jwks().await;
        // Change one byte of the claims (push the renew-by a year out) and re-encode.
        let parts: Vec<&str> = compact.split('.').collect();
        let payload = String::from_utf8(unb64(parts[1], "t").unwrap()).unwrap();
        let changed = payload.replacen("\"renew_by\":1", "\"renew_by\":2", 1);
        assert_ne!(payload, changed);
        let forged = format!("{}.{}.{}", parts[0], b64(changed.as_bytes()), parts[2]);
        assert_eq!(VerifiedLicense::verify(&forged, &jwks).unwrap_err(), Error::BadSignature);
        // A flipped bit in the signature.
        let mut sig = unb64(parts[2], "t").unwrap();
        sig[10] ^= 0x01;
        let forged = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
        assert_eq!(VerifiedLicense::verify(&forged, &jwks).unwrap_err(), Error::BadSignature);
    }

    async fn signed_by_an_unknown_key(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let jwks = server.jwks().await;
        let genuine = VerifiedLicense::verify(license_of(&issued), &jwks).unwrap();
        let rogue = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&SystemRandom::new()).unwrap()).unwrap();
        let mut claims = genuine.claims().clone();
        claims.exp = None;
        claims.renew_by = i64::MAX;
        let forged = fount_sdk::license::sign(&claims, &rogue).unwrap();
        assert_eq!(VerifiedLicense::verify(&forged, &jwks).unwrap_err(), Error::UnknownSigningKey);
    }

    async fn rental_past_its_end(server: TestServer) {
        let f = Fixture::new(&server).await;
        let t = now();
        server.grant(&f.store, &f.customer, &f.title_id, json!({"kind": "rental", "starts_at": t - 100, "ends_at": t - 10})).await;
        problem(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::FORBIDDEN, "rental-ended").await;

        // A rental still running gets a license that ends with it; the SDK refuses it after.
        let end = t + 600;
        server.grant(&f.store, &f.customer, &f.title_id, json!({"kind": "rental", "ends_at": end})).await;
        let issued = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        assert_eq!(issued["expires_at"], end);
        let license = VerifiedLicense::verify(license_of(&issued), &server.jwks().await).unwrap();
        assert_eq!(license.claims().exp, Some(end));
        assert!(license.claims().renew_by <= end);
        let id = f.device.device_id();
        assert!(license.authorize(&id, &mut ClockGuard::new(0), end - 1).is_ok());
        assert_eq!(license.authorize(&id, &mut ClockGuard::new(0), end).unwrap_err(), Error::Expired(end));
    }

    async fn before_not_before(server: TestServer) {
        let f = Fixture::new(&server).await;
        let start = now() + 3600;
        server.grant(&f.store, &f.customer, &f.title_id, json!({"kind": "rental", "starts_at": start, "ends_at": start + 3600})).await;
        // Downloading ahead is allowed; playing is not, until the start.
        let issued = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        let license = VerifiedLicense::verify(license_of(&issued), &server.jwks().await).unwrap();
        assert_eq!(license.claims().nbf, start);
        let id = f.device.device_id();
        assert_eq!(license.authorize(&id, &mut ClockGuard::new(0), now()).unwrap_err(), Error::NotYetValid(start));
        assert!(license.authorize(&id, &mut ClockGuard::new(0), start + 1).is_ok());
    }

    async fn clock_rolled_back(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let license = VerifiedLicense::verify(license_of(&issued), &server.jwks().await).unwrap();
        let id = f.device.device_id();
        let t = now();
        // The device has seen `t` before; a clock now reading an hour earlier is refused.
        let mut clock = ClockGuard::new(t);
        assert_eq!(license.authorize(&id, &mut clock, t - 3600).unwrap_err(), Error::ClockRolledBack { now: t - 3600, trusted: t });
        // A fresh device with its clock set back to before the license was signed: the
        // license's own iat exposes it.
        let iat = license.claims().iat;
        let err = license.authorize(&id, &mut ClockGuard::new(0), iat - 86_400).unwrap_err();
        assert_eq!(err, Error::ClockRolledBack { now: iat - 86_400, trusted: iat });
    }

    async fn revoked_then_status_check(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let id = issued["id"].as_str().unwrap();
        let status_path = format!("/v1/licenses/{id}/status");
        let before = StatusDocument::from_json(&server.get(&status_path, None).await.bytes().await.unwrap()).unwrap();
        assert_eq!(before.ensure_usable(id), Ok(()));
        assert!(before.link("renew").is_some());

        let revoked = ok_json(server.post(&format!("/v1/licenses/{id}/revoke"), Some(&f.store.key), json!({})).await, StatusCode::OK).await;
        assert_eq!(revoked["status"], "revoked");
        let after = StatusDocument::from_json(&server.get(&status_path, None).await.bytes().await.unwrap()).unwrap();
        assert_eq!(after.ensure_usable(id), Err(Error::Revoked));
        assert!(after.link("renew").is_none());
        let p = problem(server.post(&format!("/v1/me/licenses/{id}/renew"), Some(&f.token), json!({})).await, StatusCode::CONFLICT, "license-not-active").await;
        assert_eq!(p["license_status"], "revoked");
        problem(server.post(&format!("/v1/licenses/{id}/revoke"), Some(&f.store.key), json!({})).await, StatusCode::CONFLICT, "license-not-active").await;
    }

    async fn returned(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let id = issued["id"].as_str().unwrap();
        let doc = ok_json(server.post(&format!("/v1/me/licenses/{id}/return"), Some(&f.token), json!({})).await, StatusCode::OK).await;
        assert_eq!(doc["status"], "returned");
        let status = StatusDocument::from_json(&server.get(&format!("/v1/licenses/{id}/status"), None).await.bytes().await.unwrap()).unwrap();
        assert_eq!(status.ensure_usable(id), Err(Error::Returned));
        problem(server.post(&format!("/v1/me/licenses/{id}/return"), Some(&f.token), json!({})).await, StatusCode::CONFLICT, "license-not-active").await;
        // The customer can take the title again: a new license.
        let again = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        assert_ne!(again["id"], issued["id"]);
    }

    async fn no_entitlement(server: TestServer) {
        let f = Fixture::new(&server).await;
        problem(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::FORBIDDEN, "not-entitled").await;
        // Revoking the entitlement (a refund) refuses further licenses and revokes the issued one.
        let ent = server.grant(&f.store, &f.customer, &f.title_id, json!({"reference": "order-9"})).await;
        let issued = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        let ent_id = ent["id"].as_str().unwrap();
        let revoked = ok_json(server.post(&format!("/v1/entitlements/{ent_id}/revoke"), Some(&f.store.key), json!({})).await, StatusCode::OK).await;
        assert!(revoked["revoked_at"].is_i64());
        problem(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::FORBIDDEN, "not-entitled").await;
        let id = issued["id"].as_str().unwrap();
        let status = StatusDocument::from_json(&server.get(&format!("/v1/licenses/{id}/status"), None).await.bytes().await.unwrap()).unwrap();
        assert_eq!(status.ensure_usable(id), Err(Error::Revoked));
    }

    async fn renewal_extends_and_grants_are_idempotent(server: TestServer) {
        let f = Fixture::new(&server).await;
        let first = server.grant(&f.store, &f.customer, &f.title_id, json!({"reference": "order-7"})).await;
        // The same reference again: the same entitlement, 200 rather than 201.
        let again = ok_json(
            server.post("/v1/entitlements", Some(&f.store.key), json!({"customer": f.customer, "title": f.title_id, "kind": "purchase", "reference": "order-7"})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(first["id"], again["id"]);
        let issued = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        let id = issued["id"].as_str().unwrap();
        let renewed = ok_json(server.post(&format!("/v1/me/licenses/{id}/renew"), Some(&f.token), json!({})).await, StatusCode::OK).await;
        assert_eq!(renewed["id"], issued["id"]);
        assert!(renewed["renew_by"].as_i64() >= issued["renew_by"].as_i64());
        let license = VerifiedLicense::verify(renewed["license"].as_str().unwrap(), &server.jwks().await).unwrap();
        assert!(license.authorize(&f.device.device_id(), &mut ClockGuard::new(0), now()).is_ok());
        // Acquiring again on the same device re-issues the same license rather than a second.
        let reacquired = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        assert_eq!(reacquired["id"], issued["id"]);
    }
}
