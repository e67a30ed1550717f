//! Every list pages the same way: `limit`, `after` = the `next` of the page before, a stable
//! order that rows added meanwhile do not disturb, and clear errors for a bad cursor or limit.

use std::collections::HashSet;

use fount_sdk::DeviceKey as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

/// Walks a list page by page; returns the ids in order and the number of pages.
async fn walk(server: &TestServer, path: &str, key: &str, limit: u32, id: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut after) = (Vec::new(), 0, None::<String>);
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &after {
            Some(a) => format!("{path}{sep}limit={limit}&after={a}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = ok_json(server.get(&url, Some(key)).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        ids.extend(items.iter().map(|i| i[id].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages < 100, "{path} never ends");
    }
}

on_both_databases! {
    async fn every_list_pages_by_cursor(server: TestServer) {
        let f = Fixture::new(&server).await;
        let key = f.store.key.clone();
        // Titles, oldest first.
        let mut made = vec![f.title_id.clone()];
        for i in 0..4 {
            let t = ok_json(server.post("/v1/titles", Some(&key), json!({"title": format!("T{i}")})).await, StatusCode::CREATED).await;
            made.push(t["id"].as_str().unwrap().to_owned());
        }
        let (titles, pages) = walk(&server, "/v1/titles", &key, 2, "id").await;
        assert_eq!(pages, 3);
        assert_eq!(titles.iter().collect::<HashSet<_>>(), made.iter().collect::<HashSet<_>>());
        assert_eq!(titles.len(), made.len());

        // Entitlements, newest first; a grant made between two pages makes no row be skipped or
        // seen twice (the new row itself may or may not show up in the pages still to come).
        for i in 0..7 {
            server.grant(&f.store, &format!("c{i}"), &f.title_id, json!({})).await;
        }
        let first = ok_json(server.get("/v1/entitlements?limit=3", Some(&key)).await, StatusCode::OK).await;
        server.grant(&f.store, "latecomer", &f.title_id, json!({})).await;
        let next = first["next"].as_str().unwrap();
        let rest = ok_json(server.get(&format!("/v1/entitlements?limit=10&after={next}"), Some(&key)).await, StatusCode::OK).await;
        let mut seen: Vec<&str> = first["items"].as_array().unwrap().iter().map(|e| e["customer"].as_str().unwrap()).collect();
        seen.extend(rest["items"].as_array().unwrap().iter().map(|e| e["customer"].as_str().unwrap()));
        let distinct: HashSet<_> = seen.iter().filter(|c| **c != "latecomer").collect();
        assert_eq!(distinct.len(), 7, "{seen:?}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "a row came twice: {seen:?}");
        assert!(rest["next"].is_null());
        let created: Vec<i64> = first["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).map(|e| e["created_at"].as_i64().unwrap()).collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "not newest first: {created:?}");
        // Filters and pages together.
        let (one, _) = walk(&server, "/v1/entitlements?customer=c3", &key, 1, "id").await;
        assert_eq!(one.len(), 1);

        // Licenses and devices.
        let token = server.token(&f.store, "c1").await;
        let mut devices = Vec::new();
        for _ in 0..3 {
            let d = new_device();
            ok_json(server.register(&token, &d).await, StatusCode::CREATED).await;
            ok_json(server.acquire(&token, &f.title_id, &d).await, StatusCode::CREATED).await;
            devices.push(d.device_id().as_str().to_owned());
        }
        let (licenses, pages) = walk(&server, "/v1/licenses?customer=c1", &key, 2, "device").await;
        assert_eq!((licenses.len(), pages), (3, 2));
        let (listed, _) = walk(&server, "/v1/customers/c1/devices", &key, 2, "id").await;
        assert_eq!(listed.iter().collect::<HashSet<_>>(), devices.iter().collect::<HashSet<_>>());
        // Times are seconds, so rows of one second come in a fixed order of their ids: the same
        // order on every walk.
        assert_eq!(walk(&server, "/v1/customers/c1/devices", &key, 1, "id").await.0, listed);

        // Bad requests are named.
        for bad in ["/v1/titles?limit=0", "/v1/titles?limit=201", "/v1/titles?after=nonsense", "/v1/entitlements?limit=abc"] {
            let p = problem(server.get(bad, Some(&key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
            assert!(p["detail"].as_str().unwrap().contains("limit") || p["detail"].as_str().unwrap().contains("after"), "{bad}: {p}");
        }
        // A cursor of one list is refused by another.
        let cursor = first["next"].as_str().unwrap();
        problem(server.get(&format!("/v1/licenses?after={cursor}"), Some(&key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        // The default page holds 50.
        let page: Value = ok_json(server.get("/v1/entitlements", Some(&key)).await, StatusCode::OK).await;
        assert!(page["items"].as_array().unwrap().len() <= 50);
    }
}
