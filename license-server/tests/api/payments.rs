//! Payments: a Stripe `checkout.session.completed` event, signed with the store's webhook
//! secret, becomes one grant however often Stripe delivers it.

use fount_sdk::encoding::b64;
use reqwest::{Method, StatusCode};
use ring::hmac;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

const SECRET: &str = "whsec_test_0123456789abcdefghijklmnop";
const LINK: &str = "plink_1TestLink";

fn signature(secret: &str, t: i64, payload: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, &[t.to_string().as_bytes(), b".", payload].concat());
    format!("t={t},v1={}", hex::encode(tag))
}

fn completed(session: &str, customer: &str, link: &str) -> Value {
    json!({
        "id": format!("evt_{session}"),
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session,
            "object": "checkout.session",
            "client_reference_id": b64(customer.as_bytes()),
            "payment_link": link,
            "payment_status": "paid",
            "amount_total": 499,
        }},
    })
}

async fn deliver(server: &TestServer, store: &str, event: &Value, header: Option<String>) -> reqwest::Response {
    let payload = serde_json::to_vec(event).unwrap();
    let header = header.unwrap_or_else(|| signature(SECRET, now(), &payload));
    server
        .http
        .post(server.url(&format!("/v1/stores/{store}/webhooks/stripe")))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(payload)
        .send()
        .await
        .unwrap()
}

/// A store selling the sample title through a Payment Link, with its webhook secret set.
async fn selling(server: &TestServer) -> (TestStore, String) {
    let store = server.store(5).await;
    let title = server.title_with_audio(&store, sample_mp3()).await;
    let id = title["id"].as_str().unwrap().to_owned();
    let patch = json!({"stripe_payment_link": LINK, "checkout_url": "https://buy.stripe.com/test_abc"});
    let changed = ok_json(
        server.send(Method::PATCH, &format!("/v1/titles/{id}"), Some(&store.key), Some(patch)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["stripe_payment_link"], LINK);
    ok_json(
        server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"stripe_webhook_secret": SECRET}))).await,
        StatusCode::OK,
    )
    .await;
    (store, id)
}

async fn entitlements(server: &TestServer, store: &TestStore, customer: &str) -> Vec<Value> {
    let list =
        ok_json(server.get(&format!("/v1/entitlements?customer={customer}"), Some(&store.key)).await, StatusCode::OK)
            .await;
    list["items"].as_array().unwrap().clone()
}

on_both_databases! {
    async fn a_paid_checkout_grants_the_title_once(server: TestServer) {
        let (store, title) = selling(&server).await;
        let event = completed("cs_test_1", "reader-7", LINK);
        let first = ok_json(deliver(&server, &store.id, &event, None).await, StatusCode::OK).await;
        assert_eq!(first["granted"], true);
        // Stripe retries: the same session grants nothing more.
        let again = ok_json(deliver(&server, &store.id, &event, None).await, StatusCode::OK).await;
        assert_eq!(again["granted"], false);
        assert_eq!(again["entitlement"], first["entitlement"]);
        let granted = entitlements(&server, &store, "reader-7").await;
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0]["title"], title.as_str());
        assert_eq!(granted[0]["kind"], "purchase");
        assert_eq!(granted[0]["source"], "stripe");
        assert_eq!(granted[0]["reference"], "stripe:cs_test_1");
        // And the customer can now get a license.
        let token = server.token(&store, "reader-7").await;
        let device = new_device();
        ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
        ok_json(server.acquire(&token, &title, &device).await, StatusCode::CREATED).await;
    }

    async fn events_fount_does_not_act_on_are_acknowledged(server: TestServer) {
        let (store, _) = selling(&server).await;
        let mut other_type = completed("cs_test_2", "reader-8", LINK);
        other_type["type"] = json!("checkout.session.expired");
        let mut unpaid = completed("cs_test_3", "reader-8", LINK);
        unpaid["data"]["object"]["payment_status"] = json!("unpaid");
        let other_link = completed("cs_test_4", "reader-8", "plink_1SomethingElse");
        let mut no_customer = completed("cs_test_5", "reader-8", LINK);
        no_customer["data"]["object"]["client_reference_id"] = Value::Null;
        let bad_customer = completed("cs_test_6", "with space", LINK);
        for event in [other_type, unpaid, other_link, no_customer, bad_customer] {
            let answer = ok_json(deliver(&server, &store.id, &event, None).await, StatusCode::OK).await;
            assert_eq!(answer["granted"], false, "{event}");
        }
        assert!(entitlements(&server, &store, "reader-8").await.is_empty());
    }

    async fn bad_signatures_are_refused(server: TestServer) {
        let (store, _) = selling(&server).await;
        let event = completed("cs_test_9", "reader-9", LINK);
        let payload = serde_json::to_vec(&event).unwrap();
        let t = now();
        let cases = [
            signature("whsec_someone_else", t, &payload),
            signature(SECRET, t - 600, &payload),
            signature(SECRET, t + 600, &payload),
            signature(SECRET, t, b"{\"id\":\"evt_other\"}"),
            format!("v1={}", "00".repeat(32)),
            "garbage".to_owned(),
        ];
        for header in cases {
            problem(deliver(&server, &store.id, &event, Some(header)).await, StatusCode::BAD_REQUEST, "invalid-signature").await;
        }
        let unsigned = server
            .http
            .post(server.url(&format!("/v1/stores/{}/webhooks/stripe", store.id)))
            .body(payload)
            .send()
            .await
            .unwrap();
        problem(unsigned, StatusCode::BAD_REQUEST, "invalid-signature").await;
        assert!(entitlements(&server, &store, "reader-9").await.is_empty());

        // Another store's secret does not sign for this store, and a store without a secret
        // has no webhook.
        let other = server.store(5).await;
        problem(deliver(&server, &other.id, &event, None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(deliver(&server, "no-such-store", &event, None).await, StatusCode::NOT_FOUND, "not-found").await;
        // A signed body that is not an event is a client error, not a crash.
        let junk = b"[1,2,3]".to_vec();
        let resp = server
            .http
            .post(server.url(&format!("/v1/stores/{}/webhooks/stripe", store.id)))
            .header("stripe-signature", signature(SECRET, now(), &junk))
            .body(junk)
            .send()
            .await
            .unwrap();
        problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    }
}
