//! Webhooks to a real receiver on loopback (`tests/webhooks/receiver.py`), which verifies every
//! delivery with the Standard Webhooks reference library from PyPI: every event delivered and
//! verified; retries on the schedule (shortened by configuration), `Retry-After` honoured;
//! `410 Gone` and days of failures disable; private addresses refused; secrets rotated
//! without a gap; redelivery and replay; nothing lost when the server is killed mid-stream.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

use crate::support::*;

/// The Python receiver, killed when dropped.
struct Receiver {
    _child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Receiver {
    async fn start(secrets: &[&str]) -> Self {
        let python = std::env::var("FOUNT_TEST_PYTHON").expect(
            "FOUNT_TEST_PYTHON is not set: run scripts/test.sh, which installs the Standard Webhooks library \
             (PyPI standardwebhooks) in a venv and sets it, or point it at a python3 that has it",
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/receiver.py");
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(script).stdout(std::process::Stdio::piped()).kill_on_drop(true);
        for s in secrets {
            cmd.arg("--secret").arg(s);
        }
        let mut child = cmd.spawn().expect("start the receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver printed its port within 20 s")
            .expect("read")
            .expect("a port line");
        Receiver { _child: child, base: format!("http://127.0.0.1:{}", port.trim()), http: http_client() }
    }

    fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    async fn control(&self, body: Value) {
        let r = self.http.post(format!("{}/control", self.base)).json(&body).send().await.expect("control");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// Accept deliveries signed with these secrets only.
    async fn secrets(&self, secrets: &[&str]) {
        self.control(json!({"secrets": secrets})).await;
    }

    /// Answer the next deliveries so: `[[status, {header: value}], …]`.
    async fn script(&self, answers: Value) {
        self.control(json!({"script": answers})).await;
    }

    async fn received(&self) -> Value {
        self.http.get(format!("{}/received", self.base)).send().await.expect("received").json().await.expect("JSON")
    }

    /// How many times each event id was received with a 2xx answer.
    async fn delivered(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for d in self.received().await["deliveries"].as_array().expect("deliveries") {
            if d["status"].as_u64().is_some_and(|s| (200..300).contains(&s)) {
                *counts.entry(d["id"].as_str().expect("id").to_owned()).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// A server whose webhooks may reach loopback, retrying after 1 s each time (5 attempts).
async fn server(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |s| {
        s.webhooks.allow_private_urls = true;
        s.webhooks.schedule = vec![Duration::from_secs(1); 4];
    })
    .await
}

async fn endpoint(server: &TestServer, store: &TestStore, body: Value) -> (String, String) {
    let created = ok_json(server.post("/v1/webhooks", Some(&store.key), body).await, StatusCode::CREATED).await;
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    (created["id"].as_str().expect("id").to_owned(), secret)
}

/// Every event of the store, oldest first.
async fn all_events(server: &TestServer, store: &TestStore) -> Vec<Value> {
    server.settle_events().await;
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page =
            ok_json(server.get(&format!("/v1/events?limit=200{after}"), Some(&store.key)).await, StatusCode::OK).await;
        let items = page["items"].as_array().expect("items");
        if items.is_empty() {
            return events;
        }
        events.extend(items.iter().cloned());
        after = format!("&after={}", page["next"].as_str().expect("next"));
    }
}

async fn new_title(server: &TestServer, store: &TestStore) -> String {
    let t =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
    t["id"].as_str().expect("id").to_owned()
}

async fn endpoint_view(server: &TestServer, store: &TestStore, id: &str) -> Value {
    ok_json(server.get(&format!("/v1/webhooks/{id}"), Some(&store.key)).await, StatusCode::OK).await
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::support::Backend::Postgres).await
            }
        })*
    };
}

on_both!(
    every_event_is_delivered_verified_and_listed,
    a_flood_of_other_events_holds_no_delivery_back,
    failures_are_retried_on_the_schedule,
    an_endpoint_that_is_gone_is_disabled,
    deliveries_give_up_and_endpoints_failing_for_days_are_disabled,
    private_addresses_are_refused,
    a_rotated_secret_signs_beside_the_old_one,
    one_event_redelivered_and_everything_since_a_cursor_replayed,
    endpoints_are_managed_and_isolated,
);

async fn every_event_is_delivered_verified_and_listed(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, secret) = endpoint(&server, &store, json!({"url": receiver.url(), "description": "CRM"})).await;
    receiver.secrets(&[&secret]).await;
    // A title with audio, a customer's device, a purchase and a license.
    let title = server.title_with_audio(&store, sample_mp3()).await;
    let title_id = title["id"].as_str().unwrap();
    let token = server.token(&store, "alice").await;
    let device = new_device();
    ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
    server.grant(&store, "alice", title_id, json!({})).await;
    ok_json(server.acquire(&token, title_id, &device).await, StatusCode::CREATED).await;

    // The title's three, the device, the grant and the license. The store's API key was made
    // before the endpoint: its event is delivered or not, as the fan-out had passed it or not.
    // The endpoint's own creation is in the log, and never sent to it.
    let key_event = |e: &Value| e["type"] == "api_key.created";
    let mut events = all_events(&server, &store).await;
    let key_ids: Vec<String> =
        events.iter().filter(|e| key_event(e)).map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    events.retain(|e| !key_event(e));
    let created = events.iter().position(|e| e["type"] == "webhook_endpoint.created").expect("the endpoint's event");
    let created = events.remove(created);
    assert_eq!(created["data"]["webhook_endpoint"]["id"], id.as_str());
    assert_eq!(events.len(), 6, "{events:?}");
    let got = eventually("every event delivered", Duration::from_secs(30), || async {
        let got = receiver.delivered().await;
        events.iter().all(|e| got.contains_key(e["id"].as_str().unwrap())).then_some(got)
    })
    .await;
    assert_eq!(got.keys().filter(|id| !key_ids.contains(id)).count(), events.len());
    assert!(!got.contains_key(created["id"].as_str().unwrap()), "not sent its own creation");
    let received = receiver.received().await;
    assert_eq!(received["rejected"], 0, "every signature verified");
    for d in received["deliveries"].as_array().unwrap().iter().filter(|d| !key_event(d)) {
        let event = events.iter().find(|e| e["id"] == d["id"]).expect("a delivery of a logged event");
        assert_eq!(d["type"], event["type"]);
        assert_eq!(d["signatures"], 1);
    }
    // The store sees each delivery and its attempt (recorded by the worker just after the
    // receiver answered: waited for, not raced).
    let deliveries = eventually("every delivery recorded", Duration::from_secs(30), || async {
        let all =
            ok_json(server.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&store.key)).await, StatusCode::OK).await;
        let mine: Vec<Value> = all["items"].as_array().unwrap().iter().filter(|d| !key_event(d)).cloned().collect();
        mine.iter().all(|d| d["state"] == "delivered").then_some(mine)
    })
    .await;
    assert_eq!(deliveries.len(), events.len());
    for d in deliveries {
        assert_eq!(
            (d["state"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
            (Some("delivered"), Some(1), Some(204)),
            "{d}"
        );
        assert!(d["delivered_at"].as_i64().is_some());
    }
    let attempts =
        ok_json(server.get(&format!("/v1/webhooks/{id}/attempts?limit=2"), Some(&store.key)).await, StatusCode::OK)
            .await;
    assert_eq!(attempts["items"].as_array().unwrap().len(), 2);
    assert!(attempts["next"].is_string());
    let a = &attempts["items"][0];
    assert_eq!(a["status_code"], 204);
    assert!(a["duration_ms"].as_i64().unwrap() >= 0 && a["error"].is_null(), "{a}");
    let view = endpoint_view(&server, &store, &id).await;
    assert!(view.get("secret").is_none(), "the secret is shown once only");
    assert_eq!((view["enabled"].as_bool(), view["failing_since"].as_i64()), (Some(true), None));
}

/// The fan-out looks at windows of the log and reads only what endpoints may want: a grant
/// on each side of more than a window of `license.issued` events, which the endpoint does not
/// take, is delivered, and no license is.
async fn a_flood_of_other_events_holds_no_delivery_back(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let f = Fixture::new(&server).await;
    let (_, secret) =
        endpoint(&server, &f.store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&secret]).await;
    f.licensed(&server).await;
    // More than one window (1,000) of events nobody subscribed to.
    for _ in 0..1_100 {
        ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
    }
    server.grant(&f.store, "bob", &f.title_id, json!({})).await;
    let grants: Vec<String> = all_events(&server, &f.store)
        .await
        .iter()
        .filter(|e| e["type"] == "entitlement.granted")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(grants.len(), 2);
    let got = eventually("both grants delivered", Duration::from_secs(30), || async {
        let got = receiver.delivered().await;
        grants.iter().all(|id| got.contains_key(id)).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 2, "only the grants: {:?}", got.keys().collect::<Vec<_>>());
}

async fn failures_are_retried_on_the_schedule(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, secret) =
        endpoint(&server, &store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&secret]).await;
    receiver.script(json!([[500, {}], [500, {}], [503, {"retry-after": "3"}]])).await;
    let title = new_title(&server, &store).await;
    server.grant(&store, "alice", &title, json!({})).await;
    let delivery = eventually("delivered after three failures", Duration::from_secs(40), || async {
        let list =
            ok_json(server.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&store.key)).await, StatusCode::OK).await;
        list["items"].as_array().and_then(|i| i.first().cloned()).filter(|d| d["state"] == "delivered")
    })
    .await;
    assert_eq!((delivery["attempts"].as_i64(), delivery["last_status"].as_i64()), (Some(4), Some(204)), "{delivery}");
    assert_eq!(delivery["type"], "entitlement.granted", "title.created is not subscribed to");
    let received = receiver.received().await;
    let tries = received["deliveries"].as_array().unwrap();
    let statuses: Vec<u64> = tries.iter().map(|d| d["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [500, 500, 503, 204]);
    assert!(tries.iter().all(|d| d["id"] == tries[0]["id"]), "the same webhook-id on every attempt");
    let at: Vec<f64> = tries.iter().map(|d| d["at"].as_f64().unwrap()).collect();
    // The schedule's 1 s, ±20%; then the 3 s the 503 asked for.
    assert!(at[1] - at[0] >= 0.75 && at[2] - at[1] >= 0.75, "{at:?}");
    assert!(at[3] - at[2] >= 2.9, "Retry-After was honoured: {at:?}");
    let attempts =
        ok_json(server.get(&format!("/v1/webhooks/{id}/attempts"), Some(&store.key)).await, StatusCode::OK).await;
    let codes: Vec<i64> =
        attempts["items"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [204, 503, 500, 500], "newest first");
    assert!(
        endpoint_view(&server, &store, &id).await["failing_since"].is_null(),
        "a success clears the failure record"
    );
}

async fn an_endpoint_that_is_gone_is_disabled(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, secret) =
        endpoint(&server, &store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&secret]).await;
    receiver.script(json!([[410, {}]])).await;
    let title = new_title(&server, &store).await;
    server.grant(&store, "alice", &title, json!({})).await;
    let view = eventually("the endpoint disabled", Duration::from_secs(20), || async {
        let v = endpoint_view(&server, &store, &id).await;
        (v["enabled"] == false).then_some(v)
    })
    .await;
    assert!(view["disabled_reason"].as_str().unwrap().contains("410"), "{view}");
    let events = all_events(&server, &store).await;
    let disabled = events.iter().find(|e| e["type"] == "webhook_endpoint.disabled").expect("an event says so");
    assert_eq!(disabled["data"]["webhook_endpoint"]["id"], id.as_str());
    // While disabled, nothing is delivered to it.
    server.grant(&store, "bob", &title, json!({})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let list =
        ok_json(server.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Enabled again, it receives what comes next.
    let patched = ok_json(
        server
            .send(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(&store.key), Some(json!({"enabled": true})))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((patched["enabled"].as_bool(), patched["disabled_reason"].as_str()), (Some(true), None));
    server.grant(&store, "carol", &title, json!({})).await;
    eventually("delivered once enabled", Duration::from_secs(20), || async {
        (receiver.delivered().await.len() == 1).then_some(())
    })
    .await;
}

async fn deliveries_give_up_and_endpoints_failing_for_days_are_disabled(backend: Backend) {
    // Three attempts a second apart; "days" of failure shortened to 10 seconds (well past the
    // three attempts' two seconds, which the workers stretch while this test's polling keeps
    // the server busy: they give way to requests).
    let server = TestServer::start_with(backend, |s| {
        s.webhooks.allow_private_urls = true;
        s.webhooks.schedule = vec![Duration::from_secs(1); 2];
        s.webhooks.disable_after = Duration::from_secs(10);
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, secret) =
        endpoint(&server, &store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&secret]).await;
    receiver.script(json!(vec![json!([500, {}]); 20])).await;
    let title = new_title(&server, &store).await;
    server.grant(&store, "alice", &title, json!({})).await;
    let failed = eventually("the delivery given up", Duration::from_secs(20), || async {
        let list =
            ok_json(server.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&store.key)).await, StatusCode::OK).await;
        list["items"].as_array().and_then(|i| i.first().cloned()).filter(|d| d["state"] == "failed")
    })
    .await;
    assert_eq!(failed["attempts"], 3);
    let view = endpoint_view(&server, &store, &id).await;
    assert_eq!(view["enabled"], true, "three failures in two seconds are not days of them");
    let since = view["failing_since"].as_i64().expect("failing since the first failure");
    // Past the limit, the next failure disables it.
    while now() - since < 11 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.grant(&store, "bob", &title, json!({})).await;
    let view = eventually("the endpoint disabled", Duration::from_secs(20), || async {
        let v = endpoint_view(&server, &store, &id).await;
        (v["enabled"] == false).then_some(v)
    })
    .await;
    assert_eq!(view["disabled_reason"], "every delivery failed for 10 seconds");
    assert!(all_events(&server, &store).await.iter().any(|e| e["type"] == "webhook_endpoint.disabled"));
}

async fn private_addresses_are_refused(backend: Backend) {
    // The default: tenants' URLs may not reach private addresses.
    let server = TestServer::start(backend).await;
    let store = server.store(5).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0x7f.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ] {
        let p = problem(
            server.post("/v1/webhooks", Some(&store.key), json!({"url": url})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("not a public address"), "{url}: {p}");
    }
    for url in ["ftp://example.com/hook", "https://user:pw@example.com/hook", "not a url", "http://"] {
        problem(
            server.post("/v1/webhooks", Some(&store.key), json!({"url": url})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        )
        .await;
    }
    // A name that resolves nowhere is taken (it may by the first delivery); its attempts fail
    // with why, and no private address is ever reached.
    let (id, _) =
        endpoint(&server, &store, json!({"url": "https://hooks.fount.invalid/in", "types": ["entitlement.granted"]}))
            .await;
    problem(
        server
            .send(
                Method::PATCH,
                &format!("/v1/webhooks/{id}"),
                Some(&store.key),
                Some(json!({"url": "http://127.0.0.1/x"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    let title = new_title(&server, &store).await;
    server.grant(&store, "alice", &title, json!({})).await;
    let attempt = eventually("an attempt", Duration::from_secs(30), || async {
        let list =
            ok_json(server.get(&format!("/v1/webhooks/{id}/attempts"), Some(&store.key)).await, StatusCode::OK).await;
        list["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    assert!(attempt["status_code"].is_null(), "{attempt}");
    assert!(attempt["error"].as_str().is_some_and(|e| !e.is_empty()), "{attempt}");
}

async fn a_rotated_secret_signs_beside_the_old_one(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, old) = endpoint(&server, &store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&old]).await;
    let title = new_title(&server, &store).await;
    server.grant(&store, "alice", &title, json!({})).await;
    eventually("the first delivery", Duration::from_secs(20), || async {
        (receiver.delivered().await.len() == 1).then_some(())
    })
    .await;
    let rotated = ok_json(
        server.post(&format!("/v1/webhooks/{id}/rotate-secret"), Some(&store.key), json!({})).await,
        StatusCode::OK,
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let until = rotated["previous_secret_until"].as_i64().unwrap();
    assert!((now() + 86_300..=now() + 86_400).contains(&until), "a day of overlap: {until}");
    assert_eq!(endpoint_view(&server, &store, &id).await["previous_secret_until"], until);
    // A receiver still on the old secret verifies: both signatures are sent.
    server.grant(&store, "bob", &title, json!({})).await;
    eventually("delivered to the old secret", Duration::from_secs(20), || async {
        (receiver.delivered().await.len() == 2).then_some(())
    })
    .await;
    // And one switched to the new secret verifies too.
    receiver.secrets(&[&new]).await;
    server.grant(&store, "carol", &title, json!({})).await;
    eventually("delivered to the new secret", Duration::from_secs(20), || async {
        (receiver.delivered().await.len() == 3).then_some(())
    })
    .await;
    let received = receiver.received().await;
    assert_eq!(received["rejected"], 0);
    let signatures: Vec<u64> =
        received["deliveries"].as_array().unwrap().iter().map(|d| d["signatures"].as_u64().unwrap()).collect();
    assert_eq!(signatures, [1, 2, 2]);
}

async fn one_event_redelivered_and_everything_since_a_cursor_replayed(backend: Backend) {
    let server = server(backend).await;
    let receiver = Receiver::start(&[]).await;
    let store = server.store(5).await;
    let (id, secret) =
        endpoint(&server, &store, json!({"url": receiver.url(), "types": ["entitlement.granted"]})).await;
    receiver.secrets(&[&secret]).await;
    let title = new_title(&server, &store).await;
    for c in ["a", "b", "c"] {
        server.grant(&store, c, &title, json!({})).await;
    }
    eventually("three delivered", Duration::from_secs(20), || async {
        (receiver.delivered().await.len() == 3).then_some(())
    })
    .await;
    server.settle_events().await;
    let granted =
        ok_json(server.get("/v1/events?types=entitlement.granted&limit=1", Some(&store.key)).await, StatusCode::OK)
            .await;
    let first = granted["items"][0]["id"].as_str().unwrap().to_owned();
    let events: Vec<String> = all_events(&server, &store)
        .await
        .iter()
        .filter(|e| e["type"] == "entitlement.granted")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    // One again.
    let again = ok_json(
        server.post(&format!("/v1/webhooks/{id}/redeliver"), Some(&store.key), json!({"event": events[1]})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(again["event"], events[1].as_str());
    eventually("redelivered", Duration::from_secs(20), || async {
        (receiver.delivered().await[&events[1]] == 2).then_some(())
    })
    .await;
    // Everything after the first grant's cursor.
    let job = ok_json(
        server.post(&format!("/v1/webhooks/{id}/replay"), Some(&store.key), json!({"after": granted["next"]})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let job = server.wait_for_job(&store, job["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "completed");
    // Each replayed delivery is a job of its own, so they may land in either order: wait for
    // both, then check that nothing else came.
    let got = eventually("replayed", Duration::from_secs(20), || async {
        let got = receiver.delivered().await;
        (got[&events[1]] >= 3 && got[&events[2]] >= 2).then_some(got)
    })
    .await;
    assert_eq!((got[&first], got[&events[1]], got[&events[2]]), (1, 3, 2));
    assert_eq!(receiver.received().await["rejected"], 0);
    problem(
        server.post(&format!("/v1/webhooks/{id}/redeliver"), Some(&store.key), json!({"event": "evt_nope"})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let other = server.store(5).await;
    problem(
        server.post(&format!("/v1/webhooks/{id}/redeliver"), Some(&other.key), json!({"event": first})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    problem(
        server.post(&format!("/v1/webhooks/{id}/replay"), Some(&store.key), json!({"after": "bm9wZQ"})).await,
        StatusCode::BAD_REQUEST,
        "invalid-parameter",
    )
    .await;
    ok_json(
        server
            .send(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(&store.key), Some(json!({"enabled": false})))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(
        server.post(&format!("/v1/webhooks/{id}/redeliver"), Some(&store.key), json!({"event": first})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

async fn endpoints_are_managed_and_isolated(backend: Backend) {
    let server = server(backend).await;
    let store = server.store(5).await;
    let other = server.store(5).await;
    let (id, _) = endpoint(&server, &store, json!({"url": "https://hooks.example.com/fount", "types": ["license.issued", "license.issued"], "description": "CRM"})).await;
    let view = endpoint_view(&server, &store, &id).await;
    assert_eq!(
        (view["url"].as_str(), view["types"].clone(), view["description"].as_str()),
        (Some("https://hooks.example.com/fount"), json!(["license.issued"]), Some("CRM"))
    );
    let patch = json!({"url": "https://hooks.example.com/v2", "types": [], "description": "all of it"});
    let changed = ok_json(
        server.send(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(&store.key), Some(patch)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((changed["url"].as_str(), changed["types"].clone()), (Some("https://hooks.example.com/v2"), json!([])));
    let list = ok_json(server.get("/v1/webhooks", Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());
    for (bad, slug) in [
        (json!({"url": "https://x.example/", "types": ["nope"]}), "validation-failed"),
        (json!({"url": "https://x.example/", "description": "d".repeat(501)}), "validation-failed"),
        (json!({"url": "https://x.example/", "color": "red"}), "invalid-body"),
        (json!({"types": []}), "invalid-body"),
    ] {
        problem(server.post("/v1/webhooks", Some(&store.key), bad).await, StatusCode::UNPROCESSABLE_ENTITY, slug).await;
    }
    // Another store sees nothing of it.
    let theirs = ok_json(server.get("/v1/webhooks", Some(&other.key)).await, StatusCode::OK).await;
    assert_eq!(theirs["items"], json!([]));
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{id}")),
        (Method::PATCH, format!("/v1/webhooks/{id}")),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::POST, format!("/v1/webhooks/{id}/rotate-secret")),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries")),
        (Method::GET, format!("/v1/webhooks/{id}/attempts")),
    ] {
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        problem(server.send(method.clone(), &path, Some(&other.key), body).await, StatusCode::NOT_FOUND, "not-found")
            .await;
    }
    let resp = server.send(Method::DELETE, &format!("/v1/webhooks/{id}"), Some(&store.key), None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(server.get(&format!("/v1/webhooks/{id}"), Some(&store.key)).await, StatusCode::NOT_FOUND, "not-found")
        .await;
    // At most twenty per store.
    for i in 0..20 {
        endpoint(&server, &store, json!({"url": format!("https://hooks.example.com/{i}")})).await;
    }
    problem(
        server.post("/v1/webhooks", Some(&store.key), json!({"url": "https://hooks.example.com/21"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
}

/// A `serve` process killed with `kill -9` while events stream out, then started again on the
/// same data: every event in the log reaches the receiver (some maybe twice), none lost.
async fn none_lost_across_a_killed_server(postgres: bool) {
    let data = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("FOUNT_ALLOW_PRIVATE_URLS".into(), "1".into()),
        ("FOUNT_WEBHOOK_RETRY_SCHEDULE".into(), "1,1,1,1,1,1".into()),
        ("FOUNT_JOB_LEASE_SECONDS".into(), "2".into()),
    ];
    if postgres {
        env.push(("FOUNT_DATABASE_URL".into(), fresh_postgres_database().await));
    }
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let path = data.path().to_str().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://{listen}");
    let serve = || Fount::spawn(&["serve", "--listen", &listen], data.path(), &refs);
    let mut server = serve();
    wait_healthy(&base).await;
    let out = fount(data.path(), &["store", "create", "--name", "S", "--data", path], &refs).await;
    let store: Value = serde_json::from_slice(&out.stdout).expect("store");
    let store_id = store["id"].as_str().unwrap();
    let out = fount(data.path(), &["apikey", "create", "--store", store_id, "--data", path], &refs).await;
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let http = http_client();
    let receiver = Receiver::start(&[]).await;
    // Only the events made after it exists: the CLI's `api_key.created` came before, and whether
    // a fan-out that ran before the endpoint existed covered it is a matter of timing.
    let wanted = ["title.created", "entitlement.granted"];
    let created: Value = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url(), "types": wanted}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    receiver.secrets(&[created["secret"].as_str().unwrap()]).await;
    let title: Value = http
        .post(format!("{base}/v1/titles"))
        .bearer_auth(&key)
        .json(&json!({"title": "T"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let title = title["id"].as_str().unwrap().to_owned();

    // Grants stream in; the server is killed partway and started again.
    let writer = {
        let (base, key, title) = (base.clone(), key.clone(), title.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let mut made = 0;
            for i in 0..300 {
                let body = json!({"customer": format!("c{i}"), "title": title, "kind": "purchase"});
                // Refused while the server is down: those changes never happened.
                if http
                    .post(format!("{base}/v1/entitlements"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::CREATED)
                {
                    made += 1;
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            made
        })
    };
    eventually("deliveries under way", Duration::from_secs(30), || async {
        (receiver.delivered().await.len() >= 60).then_some(())
    })
    .await;
    server.kill9().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    server = serve();
    wait_healthy(&base).await;
    let made = writer.await.unwrap();
    assert!(made >= 200, "most grants were made ({made})");
    // Every event in the log, delivered.
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = http
            .get(format!("{base}/v1/events?limit=200{after}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        events.extend(
            items
                .iter()
                .filter(|e| wanted.contains(&e["type"].as_str().unwrap()))
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        after = format!("&after={}", page["next"].as_str().unwrap());
    }
    assert!(events.len() > made, "the grants and the title: {} events", events.len());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = receiver.delivered().await;
        let missing: Vec<&String> = events.iter().filter(|e| !got.contains_key(*e)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {} logged events not delivered within 60 s of the restart, such as {:?}",
            missing.len(),
            events.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(receiver.received().await["rejected"], 0);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_lost_across_a_killed_server_sqlite() {
    none_lost_across_a_killed_server(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_lost_across_a_killed_server_postgres() {
    none_lost_across_a_killed_server(true).await;
}
