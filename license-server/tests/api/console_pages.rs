//! The console's pages on both databases (the Chromium tests in tests/console drive them on
//! SQLite): signed in over plain HTTP, the overview's charts, the event log filtered, the
//! queue's chart, a title taken off sale.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

/// The value of `name="csrf"` in a page.
fn csrf_in(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().expect("its value").to_owned()
}

/// `name=value` of a Set-Cookie named `name`.
fn cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("a {name} cookie"))
        .to_owned()
}

on_both_databases! {
    async fn charts_events_and_sale(server: TestServer) {
        let store = server.store(5).await;
        let password = server.cli(&["console", "user", "add", "--email", "op@example.com", "--role", "operator"]).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let form = http.get(server.url("/console/sign-in")).send().await.unwrap();
        let signin_cookie = cookie(&form, "fount_console_signin");
        let csrf = csrf_in(&form.text().await.unwrap());
        let signed = http
            .post(server.url("/console/sign-in"))
            .header("cookie", &signin_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([("email", "op@example.com"), ("password", password.trim()), ("csrf", &csrf)])
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        let session = cookie(&signed, "fount_console");
        let page = |path: String| {
            let (http, session, url) = (http.clone(), session.clone(), server.url(&path));
            async move {
                let resp = http.get(url).header("cookie", session).send().await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK, "{path}");
                resp.text().await.unwrap()
            }
        };

        // A title, a grant, a listener: the overview counts them today.
        let title = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Counted"})).await, StatusCode::CREATED).await;
        let title_id = title["id"].as_str().unwrap();
        let grant = json!({"customer": "mia", "title": title_id, "kind": "purchase"});
        assert_eq!(server.post("/v1/entitlements", Some(&store.key), grant).await.status(), StatusCode::CREATED);
        let token: Value = ok_json(server.post("/v1/customers/mia/tokens", Some(&store.key), json!({})).await, StatusCode::CREATED).await;
        let saved = server
            .send(reqwest::Method::PUT, &format!("/v1/me/positions/{title_id}"), token["token"].as_str(), Some(json!({"seconds": 42})))
            .await;
        assert_eq!(saved.status(), StatusCode::OK);
        let overview = page(format!("/console/stores/{}/overview", store.id)).await;
        assert_eq!(overview.matches(r#"<rect class="bar""#).count(), 90, "three charts of 30 days");
        let listeners = &overview[overview.find(r#"id="listeners""#).unwrap()..overview.find(r#"id="webhooks""#).unwrap()];
        let today = listeners.rsplit("<tr>").next().unwrap();
        assert!(today.contains("<td>1</td>"), "mia listened today: {today}");

        // The event log, filtered.
        server.settle_events().await;
        let events = page(format!("/console/stores/{}/events?type=entitlement.granted", store.id)).await;
        assert_eq!(events.matches(r#"<span class="event-type">entitlement.granted</span>"#).count(), 1);
        assert!(!events.contains(r#"<span class="event-type">title.created</span>"#));
        let all = page(format!("/console/stores/{}/events", store.id)).await;
        let (granted, created) = (
            all.find(r#"<span class="event-type">entitlement.granted</span>"#).unwrap(),
            all.find(r#"<span class="event-type">title.created</span>"#).unwrap(),
        );
        assert!(granted < created, "newest first");

        // Off sale through the API's PATCH, as the console's button does: grants refused.
        let off = server
            .send(reqwest::Method::PATCH, &format!("/v1/titles/{title_id}"), Some(&store.key), Some(json!({"on_sale": false})))
            .await;
        assert!(ok_json(off, StatusCode::OK).await["withdrawn_at"].is_i64());
        let refused = server.post("/v1/entitlements", Some(&store.key), json!({"customer": "zoe", "title": title_id, "kind": "purchase"})).await;
        problem(refused, StatusCode::CONFLICT, "title-withdrawn").await;
        assert!(page(format!("/console/stores/{}/titles", store.id)).await.contains("Off sale"));

        // The queue's depth: a sample within seconds of the start.
        eventually("a sample of the queue", Duration::from_secs(20), || {
            let page = page("/console/jobs".into());
            async move { page.await.contains("due at most").then_some(()) }
        })
        .await;
    }
}
