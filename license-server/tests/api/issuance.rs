//! Licenses issued at once: each gets its own row and its own `license.issued` event (on
//! SQLite, licenses asked for together are written in one transaction; on PostgreSQL, each in
//! one statement), a device asking twice gets the one license, and a license that cannot be
//! written fails alone, never its batch.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fount_sdk::DeviceKey as _;
use fount_server::db::LicenseGrant;
use fount_server::events::Audit;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

/// Customers `c0`…, each with a registered device, a purchase of the title and a token.
async fn customers(
    server: &TestServer,
    store: &TestStore,
    title: &str,
    n: usize,
) -> Vec<(String, String, fount_sdk::SoftwareDeviceKey)> {
    let mut all = Vec::new();
    for i in 0..n {
        let customer = format!("c{i}");
        server.grant(store, &customer, title, json!({})).await;
        let token = server.token(store, &customer).await;
        let device = new_device();
        ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
        all.push((customer, token, device));
    }
    all
}

/// Every `license.issued` event of the store, once each has been written.
async fn issued_events(server: &TestServer, store: &TestStore, count: usize) -> Vec<Value> {
    server.settle_events().await;
    eventually("every license.issued event listed", Duration::from_secs(10), || async {
        let page =
            ok_json(server.get("/v1/events?types=license.issued&limit=200", Some(&store.key)).await, StatusCode::OK)
                .await;
        let items = page["items"].as_array().expect("items").clone();
        (items.len() >= count).then_some(items)
    })
    .await
}

on_both_databases! {
    async fn licenses_asked_for_together_each_get_their_row_and_event(server: TestServer) {
        let store = server.store(5).await;
        let title = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
        let title = title["id"].as_str().unwrap().to_owned();
        let people = customers(&server, &store, &title, 24).await;
        // Everyone at once, and the first customer's device twice more.
        let asks = people.iter().chain(people.iter().take(1)).chain(people.iter().take(1));
        let answers = futures_util::future::join_all(asks.map(|(customer, token, device)| {
            let (server, title) = (&server, &title);
            async move {
                let r = server.acquire(token, title, device).await;
                (customer.clone(), ok_json(r, StatusCode::CREATED).await)
            }
        }))
        .await;
        let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
        for (customer, issued) in &answers {
            ids.entry(customer.clone()).or_default().insert(issued["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 24);
        assert!(ids.values().all(|v| v.len() == 1), "one license per device and title, asked for once or thrice: {ids:?}");
        let distinct: HashSet<&String> = ids.values().flatten().collect();
        assert_eq!(distinct.len(), 24, "every device its own license");

        let events = issued_events(&server, &store, answers.len()).await;
        assert_eq!(events.len(), answers.len(), "one event per license issued (a re-issue is one too)");
        let listed = ok_json(server.get("/v1/licenses?limit=100", Some(&store.key)).await, StatusCode::OK).await;
        let listed = listed["items"].as_array().unwrap();
        assert_eq!(listed.len(), 24);
        for view in listed {
            let customer = view["customer"].as_str().unwrap();
            let of_it: Vec<&Value> = events.iter().filter(|e| e["data"]["license"]["id"] == view["id"]).collect();
            assert_eq!(of_it.len(), if customer == "c0" { 3 } else { 1 }, "{customer}'s events");
            for e in of_it {
                assert_eq!(e["data"]["license"]["customer"], view["customer"]);
                assert_eq!(e["data"]["license"]["device"], view["device"]);
                assert_eq!(e["data"]["license"]["status"], "active");
            }
        }
    }

    async fn a_license_that_cannot_be_written_fails_alone(server: TestServer) {
        let store = server.store(5).await;
        let title = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
        let title = title["id"].as_str().unwrap().to_owned();
        let people = customers(&server, &store, &title, 12).await;
        let url = server.database_url().map_or_else(
            || format!("sqlite://{}", server.data.join(fount_server::config::SQLITE_FILE).display()),
            str::to_owned,
        );
        let repo = fount_server::db::open(&url, Duration::from_secs(10), Default::default()).await.expect("the repository");
        let t = fount_server::state::now();
        let mut grants = Vec::new();
        for (name, _, device) in &people {
            let customer = repo.customer(&store.id, name).await.unwrap().expect("the customer").id;
            let row = repo.active_device(&customer, device.device_id().as_str()).await.unwrap().expect("the device");
            let ent = repo.usable_entitlement(&customer, &title, t).await.unwrap().expect("the purchase");
            grants.push(LicenseGrant {
                store_id: row.store_id.clone(),
                customer_id: customer.clone(),
                customer_ref: ent.customer_ref.clone(),
                title_id: title.clone(),
                device_id: row.id.clone(),
                device_jkt: row.jkt.clone(),
                entitlement_id: ent.id.clone(),
                not_before: t,
                expires_at: None,
                renew_by: t + 3600,
            });
        }
        // The sixth names a device that does not exist: its row breaks a foreign key.
        grants[5].device_id = "no-such-device".into();
        let audit = Audit::new("system", &server.base);
        let ids: Vec<String> = grants.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let results =
            futures_util::future::join_all(grants.iter().zip(&ids).map(|(g, id)| repo.issue_license(id, g, &audit, t))).await;
        for (i, r) in results.iter().enumerate() {
            if i == 5 {
                let e = r.as_ref().expect_err("a license for no device");
                assert!(!e.is_unique_violation(), "{e}");
            } else {
                let row = r.as_ref().unwrap_or_else(|e| panic!("license {i} failed with its batch: {e}"));
                assert_eq!(row.device_id, grants[i].device_id);
            }
        }
        let events = issued_events(&server, &store, 11).await;
        assert_eq!(events.len(), 11, "an event for every license written, none for the one that failed");
        let listed = ok_json(server.get("/v1/licenses?limit=100", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 11);
    }
}
