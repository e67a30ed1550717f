//! Payments: Stripe events, signed with the store's webhook secret by Stripe's documented
//! scheme. A paid checkout becomes one grant however often Stripe delivers it; one that names
//! no customer or no title is kept for the store to assign; a full refund revokes what it
//! bought.

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
            "payment_intent": format!("pi_{session}"),
            "amount_total": 499,
            "currency": "eur",
            "customer_details": {"email": "reader@example.com"},
        }},
    })
}

fn refunded(session: &str, full: bool) -> Value {
    json!({
        "id": format!("evt_refund_{session}"),
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": {
            "id": format!("ch_{session}"),
            "object": "charge",
            "payment_intent": format!("pi_{session}"),
            "amount": 499,
            "amount_refunded": if full { 499 } else { 100 },
            "refunded": full,
        }},
    })
}

async fn payments(server: &TestServer, store: &TestStore, query: &str) -> Vec<Value> {
    let list = ok_json(server.get(&format!("/v1/payments{query}"), Some(&store.key)).await, StatusCode::OK).await;
    list["items"].as_array().unwrap().clone()
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
        assert_eq!(first["status"], "granted");
        // Stripe retries: the same session grants nothing more.
        let again = ok_json(deliver(&server, &store.id, &event, None).await, StatusCode::OK).await;
        assert_eq!(again["payment"], first["payment"]);
        let granted = entitlements(&server, &store, "reader-7").await;
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0]["title"], title.as_str());
        assert_eq!(granted[0]["kind"], "purchase");
        assert_eq!(granted[0]["source"], "stripe");
        assert_eq!(granted[0]["reference"], "stripe:cs_test_1");
        let recorded = payments(&server, &store, "").await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0]["status"], "granted");
        assert_eq!(recorded[0]["entitlement"], granted[0]["id"]);
        assert_eq!((recorded[0]["amount"].as_i64(), recorded[0]["currency"].as_str()), (Some(499), Some("eur")));
        // And the customer can now get a license.
        let token = server.token(&store, "reader-7").await;
        let device = new_device();
        ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
        ok_json(server.acquire(&token, &title, &device).await, StatusCode::CREATED).await;
    }

    async fn a_paid_checkout_that_names_no_customer_waits_for_the_store(server: TestServer) {
        let (store, title) = selling(&server).await;
        // The payer was not signed in: paid, but nobody to grant it to.
        let mut anonymous = completed("cs_test_anon", "nobody", LINK);
        anonymous["data"]["object"]["client_reference_id"] = Value::Null;
        let answer = ok_json(deliver(&server, &store.id, &anonymous, None).await, StatusCode::OK).await;
        assert_eq!(answer["status"], "unmatched");
        assert!(answer["reason"].as_str().unwrap().contains("not signed in"), "{answer}");
        let waiting = payments(&server, &store, "?status=unmatched").await;
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0]["email"], "reader@example.com");
        assert_eq!(waiting[0]["title"], title.as_str());
        let id = waiting[0]["id"].as_str().unwrap().to_owned();
        // The store finds the customer and assigns it; assigning again changes nothing.
        let assign_path = format!("/v1/payments/{id}/assign");
        let assign = |customer: &str| server.post(&assign_path, Some(&store.key), json!({"customer": customer}));
        let assigned = ok_json(assign("reader-10").await, StatusCode::OK).await;
        assert_eq!((assigned["status"].as_str(), assigned["customer"].as_str()), (Some("granted"), Some("reader-10")));
        ok_json(assign("reader-10").await, StatusCode::OK).await;
        problem(assign("reader-11").await, StatusCode::CONFLICT, "conflict").await;
        // Stripe delivering the event again grants nothing twice.
        let again = ok_json(deliver(&server, &store.id, &anonymous, None).await, StatusCode::OK).await;
        assert_eq!(again["status"], "granted");
        let granted = entitlements(&server, &store, "reader-10").await;
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0]["reference"], "stripe:cs_test_anon");
        assert!(payments(&server, &store, "?status=unmatched").await.is_empty());

        // A payment through a link that sells no title needs the title named.
        let stray = completed("cs_test_stray", "reader-12", "plink_1SomethingElse");
        assert_eq!(ok_json(deliver(&server, &store.id, &stray, None).await, StatusCode::OK).await["status"], "unmatched");
        let stray_id = payments(&server, &store, "?status=unmatched").await[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/payments/{stray_id}/assign");
        problem(server.post(&path, Some(&store.key), json!({"customer": "reader-12"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        let done = ok_json(server.post(&path, Some(&store.key), json!({"customer": "reader-12", "title": title})).await, StatusCode::OK).await;
        assert_eq!(done["status"], "granted");
        // Another store sees none of it.
        let other = server.store(5).await;
        assert!(payments(&server, &other, "").await.is_empty());
        problem(server.post(&path, Some(&other.key), json!({"customer": "x", "title": title})).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get(&format!("/v1/payments/{stray_id}"), Some(&other.key)).await, StatusCode::NOT_FOUND, "not-found").await;
    }

    async fn a_refund_revokes_what_it_bought(server: TestServer) {
        let (store, title) = selling(&server).await;
        ok_json(deliver(&server, &store.id, &completed("cs_test_r", "reader-r", LINK), None).await, StatusCode::OK).await;
        let token = server.token(&store, "reader-r").await;
        let device = new_device();
        ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
        let license = ok_json(server.acquire(&token, &title, &device).await, StatusCode::CREATED).await;
        // A partial refund keeps access.
        let partial = ok_json(deliver(&server, &store.id, &refunded("cs_test_r", false), None).await, StatusCode::OK).await;
        assert_eq!(partial["status"], "ignored");
        ok_json(server.acquire(&token, &title, &device).await, StatusCode::CREATED).await;
        // A full one ends it: the entitlement, and the license the device holds.
        let full = ok_json(deliver(&server, &store.id, &refunded("cs_test_r", true), None).await, StatusCode::OK).await;
        assert_eq!(full["status"], "refunded");
        let granted = entitlements(&server, &store, "reader-r").await;
        assert!(granted[0]["revoked_at"].is_i64(), "{granted:?}");
        let status = ok_json(server.get(&format!("/v1/licenses/{}/status", license["id"].as_str().unwrap()), None).await, StatusCode::OK).await;
        assert_eq!(status["status"], "revoked");
        problem(server.acquire(&token, &title, &device).await, StatusCode::FORBIDDEN, "not-entitled").await;
        // Delivered again: the same answer, nothing more.
        assert_eq!(ok_json(deliver(&server, &store.id, &refunded("cs_test_r", true), None).await, StatusCode::OK).await["status"], "refunded");
        let id = payments(&server, &store, "?status=refunded").await[0]["id"].as_str().unwrap().to_owned();
        problem(server.post(&format!("/v1/payments/{id}/assign"), Some(&store.key), json!({"customer": "reader-r"})).await, StatusCode::CONFLICT, "conflict").await;
        // A refund of a payment Fount never saw is acknowledged and does nothing.
        assert_eq!(ok_json(deliver(&server, &store.id, &refunded("cs_unknown", true), None).await, StatusCode::OK).await["status"], "ignored");
    }

    async fn events_fount_does_not_act_on_are_acknowledged(server: TestServer) {
        let (store, _) = selling(&server).await;
        let mut other_type = completed("cs_test_2", "reader-8", LINK);
        other_type["type"] = json!("checkout.session.expired");
        let mut unpaid = completed("cs_test_3", "reader-8", LINK);
        unpaid["data"]["object"]["payment_status"] = json!("unpaid");
        for event in [other_type, unpaid] {
            let answer = ok_json(deliver(&server, &store.id, &event, None).await, StatusCode::OK).await;
            assert_eq!(answer["status"], "ignored", "{event}");
        }
        // Paid, but with a customer id that is not one: kept, unmatched.
        let bad_customer = completed("cs_test_6", "with space", LINK);
        assert_eq!(ok_json(deliver(&server, &store.id, &bad_customer, None).await, StatusCode::OK).await["status"], "unmatched");
        assert!(entitlements(&server, &store, "reader-8").await.is_empty());
        assert_eq!(payments(&server, &store, "").await.len(), 1);
        problem(server.get("/v1/payments?status=lost", Some(&store.key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
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
            // Numbers from outside may be anything: no overflow, no panic.
            format!("t={},v1=00", i64::MIN),
            format!("t={},v1=00", i64::MAX),
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
