//! Changing a title: the fields the widget shows and sells with.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn a_title_is_changed_by_its_store_only(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let id = title["id"].as_str().unwrap();
        let path = format!("/v1/titles/{id}");
        let patch = json!({"price": "7.50", "cover_url": "https://cdn.example/cover.jpg", "stripe_payment_link": "plink_1Abc"});
        let changed = ok_json(server.send(Method::PATCH, &path, Some(&store.key), Some(patch)).await, StatusCode::OK).await;
        assert_eq!(changed["price"], "7.50");
        assert_eq!(changed["currency"], "EUR");
        assert_eq!(changed["title"], title["title"]);
        assert_eq!(changed["cover_url"], "https://cdn.example/cover.jpg");
        assert_eq!(changed["key_id"], title["key_id"]);
        assert_eq!(changed["tracks"], title["tracks"]);

        let other = server.store(5).await;
        problem(
            server.send(Method::PATCH, &path, Some(&other.key), Some(json!({"title": "Mine now"}))).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        for (body, slug) in [
            (json!({"price": "free"}), "validation-failed"),
            (json!({"cover_url": "javascript:alert(1)"}), "validation-failed"),
            (json!({"stripe_payment_link": "https://buy.stripe.com/x"}), "validation-failed"),
            (json!({"title": ""}), "validation-failed"),
            (json!({"store_id": "x"}), "invalid-body"),
            (json!({"price": 7.5}), "invalid-body"),
        ] {
            problem(server.send(Method::PATCH, &path, Some(&store.key), Some(body)).await, StatusCode::UNPROCESSABLE_ENTITY, slug)
                .await;
        }
        let now = ok_json(server.get(&path, Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(now["title"], title["title"]);
        assert_eq!(now["price"], "7.50");
    }

    async fn manifests_follow_the_readium_schema(server: TestServer) {
        let store = server.store(5).await;
        // No language, no cover: "und", and no cover link.
        let plain = server.title_with_audio(&store, sample_mp3()).await;
        let manifest = server.manifest(plain["id"].as_str().unwrap()).await;
        assert_eq!(manifest["metadata"]["language"], "und");
        assert_eq!(manifest["metadata"]["identifier"], format!("urn:uuid:{}", plain["id"].as_str().unwrap()));
        // A language, a cover, two tracks.
        let id = plain["id"].as_str().unwrap();
        for (cover, media_type) in [("https://cdn.example/c.PNG?v=2", "image/png"), ("https://cdn.example/cover", "image/*")] {
            let patch = json!({"language": "pt-BR", "cover_url": cover});
            ok_json(server.send(Method::PATCH, &format!("/v1/titles/{id}"), Some(&store.key), Some(patch)).await, StatusCode::OK).await;
            let manifest = server.manifest(id).await;
            assert_eq!(manifest["metadata"]["language"], "pt-BR");
            assert_eq!(manifest["resources"][0]["type"], media_type);
            assert_eq!(manifest["resources"][0]["rel"], "cover");
        }
        problem(server.send(Method::PATCH, &format!("/v1/titles/{id}"), Some(&store.key), Some(json!({"language": "a"}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        let (track, _) = server.upload(&store, id, "second.mp3", "audio/mpeg", sample_mp3()).await;
        assert_eq!(track["status"], "published");
        let manifest = server.manifest(id).await;
        assert_eq!(manifest["readingOrder"].as_array().unwrap().len(), 2);
    }
}
