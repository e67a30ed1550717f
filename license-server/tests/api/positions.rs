//! Listening positions, kept per customer so listening resumes on any of their devices.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn a_position_follows_the_customer(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/me/positions/{}", f.title_id);
        // Nothing saved yet is a normal state: 200, with no position.
        let none = ok_json(server.get(&path, Some(&f.token)).await, StatusCode::OK).await;
        assert!(none["seconds"].is_null() && none["updated_at"].is_null(), "{none}");
        let saved = ok_json(
            server.send(Method::PUT, &path, Some(&f.token), Some(json!({"seconds": 21.5}))).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(saved["seconds"], 21.5);
        assert_eq!(saved["title"], f.title_id.as_str());
        // A later save replaces it; a new token of the same customer (another device) reads it.
        server.send(Method::PUT, &path, Some(&f.token), Some(json!({"seconds": 30.25}))).await;
        let other_session = server.token(&f.store, &f.customer).await;
        let read = ok_json(server.get(&path, Some(&other_session)).await, StatusCode::OK).await;
        assert_eq!(read["seconds"], 30.25);
        assert!(read["updated_at"].as_i64().is_some_and(|t| (t - now()).abs() < 60));

        // Another customer of the store has their own.
        let bob = server.token(&f.store, "bob").await;
        assert!(ok_json(server.get(&path, Some(&bob)).await, StatusCode::OK).await["seconds"].is_null());
        // A customer of another store does not see the title at all.
        let other = server.store(5).await;
        let mallory = server.token(&other, &f.customer).await;
        problem(server.get(&path, Some(&mallory)).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(
            server.send(Method::PUT, &path, Some(&mallory), Some(json!({"seconds": 1}))).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        let read = ok_json(server.get(&path, Some(&f.token)).await, StatusCode::OK).await;
        assert_eq!(read["seconds"], 30.25);
    }

    async fn offline_changes_merge_the_latest_winning(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/me/positions/{}", f.title_id);
        let (phone, laptop) = (f.token.clone(), server.token(&f.store, &f.customer).await);
        let t = now() * 1000;
        let save = |token: String, seconds: f64, changed_at: i64| {
            let (server, path) = (&server, path.clone());
            async move {
                ok_json(
                    server.send(Method::PUT, &path, Some(&token), Some(json!({"seconds": seconds, "changed_at": changed_at}))).await,
                    StatusCode::OK,
                )
                .await
            }
        };
        // The phone listened to 600 s a minute ago; the laptop, offline, had stopped at 120 s
        // two minutes ago and syncs now: the phone's later change stays.
        assert_eq!(save(phone.clone(), 600.0, t - 60_000).await["seconds"], 600.0);
        let kept = save(laptop.clone(), 120.0, t - 120_000).await;
        assert_eq!((kept["seconds"].as_f64(), kept["changed_at"].as_i64()), (Some(600.0), Some(t - 60_000)));
        // A later change from the laptop wins.
        assert_eq!(save(laptop, 700.0, t - 1_000).await["seconds"], 700.0);
        // A clock running a day ahead does not win for a day: its time counts as now.
        let ahead = save(phone.clone(), 50.0, t + 86_400_000).await;
        assert!(ahead["changed_at"].as_i64().unwrap() <= now() * 1000 + 1000, "{ahead}");
        assert_eq!(save(phone, 800.0, now() * 1000 + 5_000).await["seconds"], 800.0);
        problem(
            server.send(Method::PUT, &path, Some(&f.token), Some(json!({"seconds": 1, "changed_at": -5}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        )
        .await;
    }

    async fn bookmarks_follow_the_customer_and_removals_too(server: TestServer) {
        let f = Fixture::new(&server).await;
        let list = format!("/v1/me/bookmarks/{}", f.title_id);
        let one = |id: &str| format!("/v1/me/bookmarks/{}/{id}", f.title_id);
        let (phone, laptop) = (f.token.clone(), server.token(&f.store, &f.customer).await);
        let t = now() * 1000 - 600_000;
        let put = |token: &str, id: &str, body: serde_json::Value| {
            let (server, path, token) = (&server, one(id), token.to_owned());
            async move { server.send(Method::PUT, &path, Some(&token), Some(body)).await }
        };
        assert_eq!(ok_json(server.get(&list, Some(&phone)).await, StatusCode::OK).await["items"], json!([]));
        let made = ok_json(
            put(&phone, "bm-1", json!({"seconds": 61.5, "note": "the storm", "created_at": t, "changed_at": t})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(made, json!({"id": "bm-1", "seconds": 61.5, "note": "the storm", "created_at": t, "changed_at": t, "deleted": false}));
        ok_json(put(&phone, "bm-2", json!({"seconds": 200, "changed_at": t + 1})).await, StatusCode::OK).await;
        // The laptop sees both; it removes one.
        let seen = ok_json(server.get(&list, Some(&laptop)).await, StatusCode::OK).await;
        assert_eq!(seen["items"].as_array().unwrap().iter().map(|b| b["id"].clone()).collect::<Vec<_>>(), [json!("bm-1"), json!("bm-2")]);
        let gone = ok_json(put(&laptop, "bm-1", json!({"seconds": 61.5, "changed_at": t + 10_000, "deleted": true})).await, StatusCode::OK).await;
        assert_eq!(gone["deleted"], true);
        // The phone, offline meanwhile, had edited its note before the removal: the removal
        // (a whole new state of the bookmark, with no note) stays.
        let kept = ok_json(put(&phone, "bm-1", json!({"seconds": 62, "note": "storm, again", "changed_at": t + 5_000})).await, StatusCode::OK).await;
        assert_eq!((kept["deleted"].as_bool(), kept["note"].as_str(), kept["changed_at"].as_i64()), (Some(true), None, Some(t + 10_000)));
        // An edit after the removal brings it back.
        let back = ok_json(put(&phone, "bm-1", json!({"seconds": 63, "changed_at": t + 20_000})).await, StatusCode::OK).await;
        assert_eq!((back["deleted"].as_bool(), back["seconds"].as_f64(), back["created_at"].as_i64()), (Some(false), Some(63.0), Some(t)));

        // Another customer has none; another store's customer does not see the title.
        let bob = server.token(&f.store, "bob").await;
        assert_eq!(ok_json(server.get(&list, Some(&bob)).await, StatusCode::OK).await["items"], json!([]));
        let other = server.store(5).await;
        let mallory = server.token(&other, &f.customer).await;
        problem(server.get(&list, Some(&mallory)).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(put(&mallory, "bm-1", json!({"seconds": 1})).await, StatusCode::NOT_FOUND, "not-found").await;

        // Bad input is refused, and says why.
        for (id, body, slug) in [
            ("bm-3", json!({"seconds": -1}), "validation-failed"),
            ("bm-3", json!({"seconds": 1, "note": "x".repeat(2001)}), "validation-failed"),
            ("bm-3", json!({"seconds": 1, "changed_at": -1}), "validation-failed"),
            ("bm-3", json!({"seconds": 1, "colour": "red"}), "invalid-body"),
            ("bm-3", json!({}), "invalid-body"),
            ("a%20b", json!({"seconds": 1}), "validation-failed"),
        ] {
            problem(put(&phone, id, body).await, StatusCode::UNPROCESSABLE_ENTITY, slug).await;
        }
        problem(server.get(&list, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

        // At most 1000 per title, removed ones included.
        for i in 2..1000 {
            let r = put(&phone, &format!("many-{i}"), json!({"seconds": i})).await;
            assert_eq!(r.status(), StatusCode::OK, "bookmark {i}");
        }
        let refused = problem(put(&phone, "one-too-many", json!({"seconds": 1})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert!(refused["detail"].as_str().unwrap().contains("1000"), "{refused}");
        // An existing one still changes.
        ok_json(put(&phone, "bm-2", json!({"seconds": 201})).await, StatusCode::OK).await;
    }

    async fn bad_positions_are_refused(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/me/positions/{}", f.title_id);
        for (body, slug) in [
            (json!({"seconds": -1}), "validation-failed"),
            (json!({"seconds": 1e12}), "validation-failed"),
            (json!({"seconds": "12"}), "invalid-body"),
            (json!({"seconds": 1, "extra": true}), "invalid-body"),
            (json!({}), "invalid-body"),
        ] {
            problem(server.send(Method::PUT, &path, Some(&f.token), Some(body)).await, StatusCode::UNPROCESSABLE_ENTITY, slug)
                .await;
        }
        problem(server.send(Method::PUT, &path, None, Some(json!({"seconds": 1}))).await, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
        problem(
            server.send(Method::PUT, &path, Some(&f.store.key), Some(json!({"seconds": 1}))).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        problem(
            server.send(Method::PUT, "/v1/me/positions/no-such-title", Some(&f.token), Some(json!({"seconds": 1}))).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
    }

    async fn the_library_answers_without_errors_for_normal_states(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/me/titles/{}", f.title_id);
        let access = |v: serde_json::Value| v["access"].as_str().unwrap().to_owned();
        assert_eq!(access(ok_json(server.get(&path, Some(&f.token)).await, StatusCode::OK).await), "none");
        server.grant(&f.store, &f.customer, &f.title_id, json!({})).await;
        assert_eq!(access(ok_json(server.get(&path, Some(&f.token)).await, StatusCode::OK).await), "owned");
        let t = now();
        let renter = server.token(&f.store, "renter").await;
        server.grant(&f.store, "renter", &f.title_id, json!({"kind": "rental", "ends_at": t + 3600})).await;
        let entry = ok_json(server.get(&path, Some(&renter)).await, StatusCode::OK).await;
        assert_eq!((access(entry.clone()), entry["ends_at"].as_i64()), ("rented".into(), Some(t + 3600)));
        let later = server.token(&f.store, "later").await;
        server.grant(&f.store, "later", &f.title_id, json!({"starts_at": t + 600})).await;
        assert_eq!(access(ok_json(server.get(&path, Some(&later)).await, StatusCode::OK).await), "upcoming");
        let past = server.token(&f.store, "past").await;
        server.grant(&f.store, "past", &f.title_id, json!({"kind": "rental", "starts_at": t - 7200, "ends_at": t - 3600})).await;
        assert_eq!(access(ok_json(server.get(&path, Some(&past)).await, StatusCode::OK).await), "ended");
        // Another store's title is not there at all.
        let other = server.store(5).await;
        let stranger = server.token(&other, &f.customer).await;
        problem(server.get(&path, Some(&stranger)).await, StatusCode::NOT_FOUND, "not-found").await;
    }
}
