//! Listeners manage themselves (customer API): their devices (list, rename, remove, with the
//! store's wait between removals) and their library.

use fount_sdk::DeviceKey;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn a_customer_lists_renames_and_removes_their_devices(server: TestServer) {
        let store = server.store(2).await;
        let token = server.token(&store, "gwen").await;
        let (phone, laptop, tablet) = (new_device(), new_device(), new_device());
        ok_json(server.register(&token, &phone).await, StatusCode::CREATED).await;
        ok_json(server.register(&token, &laptop).await, StatusCode::CREATED).await;
        problem(server.register(&token, &tablet).await, StatusCode::CONFLICT, "device-limit-reached").await;

        let list = ok_json(server.get("/v1/me/devices", Some(&token)).await, StatusCode::OK).await;
        // Oldest first; these two were registered within the same second, in either order.
        let mut ids: Vec<String> = list["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        ids.sort_unstable();
        let mut want = [phone.device_id().as_str().to_owned(), laptop.device_id().as_str().to_owned()];
        want.sort_unstable();
        assert_eq!(ids, want);
        assert_eq!((list["limit"].as_i64(), list["removal_wait_seconds"].as_i64()), (Some(2), Some(0)));
        assert!(list["next_removal_at"].is_null());

        let path = format!("/v1/me/devices/{}", phone.device_id());
        let name = format!("{path}/name");
        let renamed = ok_json(
            server.send(Method::PUT, &name, Some(&token), Some(json!({"name": "Gwen's phone"}))).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(renamed["name"], "Gwen's phone");
        for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "ok", "extra": 1})] {
            let r = server.send(Method::PUT, &name, Some(&token), Some(bad)).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }

        // A license on the phone is revoked with it; the freed place takes the tablet.
        let title = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
        let title = title["id"].as_str().unwrap();
        server.grant(&store, "gwen", title, json!({})).await;
        let license = ok_json(server.acquire(&token, title, &phone).await, StatusCode::CREATED).await;
        let removed = ok_json(server.send(Method::DELETE, &path, Some(&token), None).await, StatusCode::OK).await;
        assert_eq!((removed["status"].as_str(), removed["revoked_by"].as_str()), (Some("revoked"), Some("customer")));
        let status = format!("/v1/licenses/{}/status", license["id"].as_str().unwrap());
        let status = ok_json(server.get(&status, None).await, StatusCode::OK).await;
        assert_eq!(status["status"], "revoked");
        ok_json(server.register(&token, &tablet).await, StatusCode::CREATED).await;
        problem(server.send(Method::DELETE, &path, Some(&token), None).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.send(Method::PUT, &name, Some(&token), Some(json!({"name": "n"}))).await, StatusCode::NOT_FOUND, "not-found").await;

        // The store sees who removed it, and the event says so.
        server.settle_events().await;
        let events = ok_json(server.get("/v1/events?types=device.revoked", Some(&store.key)).await, StatusCode::OK).await;
        let event = &events["items"][0];
        assert!(event["actor"].as_str().unwrap().contains("gwen"), "{event}");
        let events = ok_json(server.get("/v1/events?types=device.renamed", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(events["items"][0]["data"]["device"]["name"], "Gwen's phone");
    }

    async fn the_store_s_wait_between_removals_holds(server: TestServer) {
        let store = server.store(5).await;
        let wait = 3 * 86_400;
        ok_json(
            server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"device_removal_wait_seconds": wait}))).await,
            StatusCode::OK,
        )
        .await;
        let r = server.send(Method::PATCH, "/v1/store", Some(&store.key), Some(json!({"device_removal_wait_seconds": -1}))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let token = server.token(&store, "hal").await;
        let devices: Vec<_> = (0..4).map(|_| new_device()).collect();
        for d in &devices {
            ok_json(server.register(&token, d).await, StatusCode::CREATED).await;
        }
        let remove = |d: &fount_sdk::SoftwareDeviceKey| format!("/v1/me/devices/{}", d.device_id());
        let t = now();
        ok_json(server.send(Method::DELETE, &remove(&devices[0]), Some(&token), None).await, StatusCode::OK).await;
        let r = server.send(Method::DELETE, &remove(&devices[1]), Some(&token), None).await;
        let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((wait - 60..=wait).contains(&retry), "{retry}");
        let p = problem(r, StatusCode::TOO_MANY_REQUESTS, "device-removal-too-soon").await;
        assert_eq!(p["wait_seconds"], wait);
        let next = p["next_removal_at"].as_i64().unwrap();
        assert!((t + wait..=now() + wait).contains(&next), "{next}");
        assert!(p["detail"].as_str().unwrap().contains("3 days"), "{p}");
        let list = ok_json(server.get("/v1/me/devices", Some(&token)).await, StatusCode::OK).await;
        assert_eq!(list["next_removal_at"], next);
        assert_eq!(list["items"].as_array().unwrap().len(), 3);

        // The store's own revocation neither waits nor starts the customer's wait again.
        let path = format!("/v1/customers/hal/devices/{}/revoke", devices[2].device_id());
        ok_json(server.post(&path, Some(&store.key), json!({})).await, StatusCode::OK).await;
        let list = ok_json(server.get("/v1/me/devices", Some(&token)).await, StatusCode::OK).await;
        assert_eq!(list["next_removal_at"], next);

        // Concurrent removals by one customer: one wins at most (here none: the wait runs).
        let other = server.token(&store, "ida").await;
        let mine: Vec<_> = (0..4).map(|_| new_device()).collect();
        for d in &mine {
            ok_json(server.register(&other, d).await, StatusCode::CREATED).await;
        }
        let paths: Vec<String> = mine.iter().map(remove).collect();
        let answers = futures_util::future::join_all(paths.iter().map(|p| server.send(Method::DELETE, p, Some(&other), None))).await;
        let ok = answers.iter().filter(|r| r.status() == StatusCode::OK).count();
        let refused = answers.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((ok, refused), (1, 3));
    }

    async fn a_customer_cannot_touch_another_s_devices(server: TestServer) {
        let (a, b) = (server.store(5).await, server.store(5).await);
        let (alice, mallory) = (server.token(&a, "alice").await, server.token(&b, "alice").await);
        let same_store = server.token(&a, "mallory").await;
        let device = new_device();
        ok_json(server.register(&alice, &device).await, StatusCode::CREATED).await;
        let path = format!("/v1/me/devices/{}", device.device_id());
        for token in [&mallory, &same_store] {
            problem(server.send(Method::DELETE, &path, Some(token), None).await, StatusCode::NOT_FOUND, "not-found").await;
            let r = server.send(Method::PUT, &format!("{path}/name"), Some(token), Some(json!({"name": "mine now"}))).await;
            problem(r, StatusCode::NOT_FOUND, "not-found").await;
            let list = ok_json(server.get("/v1/me/devices", Some(token)).await, StatusCode::OK).await;
            assert_eq!(list["items"], json!([]));
        }
        let list = ok_json(server.get("/v1/me/devices", Some(&alice)).await, StatusCode::OK).await;
        assert_eq!(list["items"][0]["name"], "test device");
        problem(server.send(Method::DELETE, &path, None, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn the_library_lists_each_title_once_with_its_best_access(server: TestServer) {
        let store = server.store(5).await;
        let other = server.store(5).await;
        let mut titles = Vec::new();
        for name in ["Owned", "Rented", "Upcoming", "Ended", "Owned after a rental"] {
            let t = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": name, "author": "A. Writer"})).await, StatusCode::CREATED).await;
            titles.push(t["id"].as_str().unwrap().to_owned());
        }
        let t = now();
        server.grant(&store, "jo", &titles[0], json!({})).await;
        server.grant(&store, "jo", &titles[1], json!({"kind": "rental", "ends_at": t + 86_400})).await;
        server.grant(&store, "jo", &titles[2], json!({"kind": "rental", "starts_at": t + 3_600, "ends_at": t + 86_400})).await;
        let ended = server.grant(&store, "jo", &titles[3], json!({"kind": "rental", "starts_at": t - 7_200, "ends_at": t + 2})).await;
        server.grant(&store, "jo", &titles[4], json!({"kind": "rental", "ends_at": t + 60})).await;
        server.grant(&store, "jo", &titles[4], json!({})).await;
        // Another store's title and a revoked grant are not in the library.
        let foreign = ok_json(server.post("/v1/titles", Some(&other.key), json!({"title": "Elsewhere"})).await, StatusCode::CREATED).await;
        server.grant(&other, "jo", foreign["id"].as_str().unwrap(), json!({})).await;
        let revoked = ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Refunded"})).await, StatusCode::CREATED).await;
        let g = server.grant(&store, "jo", revoked["id"].as_str().unwrap(), json!({})).await;
        ok_json(server.post(&format!("/v1/entitlements/{}/revoke", g["id"].as_str().unwrap()), Some(&store.key), json!({})).await, StatusCode::OK).await;

        eventually("the short rental ended", std::time::Duration::from_secs(10), || async {
            (now() >= ended["ends_at"].as_i64().unwrap()).then_some(())
        })
        .await;
        let token = server.token(&store, "jo").await;
        let library = ok_json(server.get("/v1/me/titles", Some(&token)).await, StatusCode::OK).await;
        let items = library["items"].as_array().unwrap();
        // Newest grant first, to the second: these were all granted within a few seconds.
        let mut got: Vec<(&str, &str)> = items.iter().map(|i| (i["name"].as_str().unwrap(), i["access"].as_str().unwrap())).collect();
        got.sort_unstable();
        assert_eq!(got, [
            ("Ended", "ended"),
            ("Owned", "owned"),
            ("Owned after a rental", "owned"),
            ("Rented", "rented"),
            ("Upcoming", "upcoming"),
        ]);
        let granted: Vec<i64> = items.iter().map(|i| i["granted_at"].as_i64().unwrap()).collect();
        assert!(granted.windows(2).all(|w| w[0] >= w[1]), "{granted:?}");
        let rented = items.iter().find(|i| i["name"] == "Rented").unwrap();
        assert_eq!(rented["ends_at"], t + 86_400);
        assert_eq!(rented["author"], "A. Writer");
        assert_eq!(rented["manifest_url"], server.url(&format!("/pub/{}/manifest.json", titles[1])));
        assert!(library["next"].is_null());
        let stranger = server.token(&store, "nobody").await;
        let empty = ok_json(server.get("/v1/me/titles", Some(&stranger)).await, StatusCode::OK).await;
        assert_eq!(empty["items"], json!([]));
    }
}

/// The widget's account view calls these from a store's page: CORS lets it.
#[tokio::test]
async fn the_customer_device_calls_are_open_to_pages() {
    let server = TestServer::start(Backend::Sqlite).await;
    let resp = server
        .http
        .request(Method::OPTIONS, server.url("/v1/me/devices/some-device"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "DELETE")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert!(resp.status().is_success(), "{}", resp.status());
    let allowed = resp.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(allowed.contains("DELETE") && allowed.contains("PUT"), "{allowed}");
}
