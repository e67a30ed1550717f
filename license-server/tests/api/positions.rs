//! Listening positions, kept per customer so listening resumes on any of their devices.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn a_position_follows_the_customer(server: TestServer) {
        let f = Fixture::new(&server).await;
        let path = format!("/v1/me/positions/{}", f.title_id);
        problem(server.get(&path, Some(&f.token)).await, StatusCode::NOT_FOUND, "not-found").await;
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
        problem(server.get(&path, Some(&bob)).await, StatusCode::NOT_FOUND, "not-found").await;
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
}
