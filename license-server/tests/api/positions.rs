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
