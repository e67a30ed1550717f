//! Audio files as publishers make them: chapters and cover art in M4B and MP3 (made with
//! ffmpeg, `tests/media/make-fixtures.sh`), and what the upload's answer says when a file's
//! chapters cannot be read.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media").join(name)).expect("fixture")
}

async fn upload(
    server: &TestServer,
    store: &TestStore,
    title: &str,
    file: &str,
    bytes: Vec<u8>,
    media_type: &str,
) -> Value {
    let (track, job) = server.upload(store, title, file, media_type, bytes).await;
    assert_eq!(track["status"], "published", "{track}");
    // What the file held but could not be used is in the job's result.
    let mut track = track;
    if let Some(w) = job["result"]["warnings"].as_array().filter(|w| !w.is_empty()) {
        track["warnings"] = Value::Array(w.clone());
    }
    track
}

async fn new_title(server: &TestServer, store: &TestStore, name: &str) -> String {
    let t =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": name})).await, StatusCode::CREATED).await;
    t["id"].as_str().unwrap().to_owned()
}

on_both_databases! {
    async fn chapters_and_covers_of_m4b_and_mp3(server: TestServer) {
        let store = server.store(5).await;
        for (file, media_type) in [("chapters.m4b", "audio/mp4"), ("track-only.m4a", "audio/mp4"), ("chapters.mp3", "audio/mpeg")] {
            let id = new_title(&server, &store, file).await;
            let track = upload(&server, &store, &id, file, fixture(file), media_type).await;
            let titles: Vec<&str> = track["chapters"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
            assert_eq!(titles, ["Low", "Middle", "High"], "{file}");
            assert!(track.get("warnings").is_none(), "{file}: {track}");
            assert_eq!(track["media_type"], media_type);
            // The file's cover becomes the title's, served by Fount and linked from the manifest.
            let title = ok_json(server.get(&format!("/v1/titles/{id}"), Some(&store.key)).await, StatusCode::OK).await;
            assert!(title["cover_url"].is_null());
            let cover = title["cover"].as_str().unwrap_or_else(|| panic!("{file}: no cover in {title}"));
            let image = server.http.get(cover).send().await.unwrap();
            assert_eq!(image.headers()["content-type"], "image/png");
            assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG"));
            let manifest = server.manifest(&id).await;
            assert_eq!(manifest["resources"][0]["type"], "image/png");
            let toc: Vec<&str> = manifest["toc"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
            assert_eq!(toc, ["Low", "Middle", "High"], "{file}");
            // A second track's cover does not replace the first.
            upload(&server, &store, &id, file, fixture(file), media_type).await;
            let again = ok_json(server.get(&format!("/v1/titles/{id}"), Some(&store.key)).await, StatusCode::OK).await;
            assert_eq!(again["cover"], title["cover"], "{file}");
            // A cover the store sets wins.
            let patch = json!({"cover_url": "https://cdn.example/front.jpg"});
            ok_json(server.send(reqwest::Method::PATCH, &format!("/v1/titles/{id}"), Some(&store.key), Some(patch)).await, StatusCode::OK).await;
            let manifest = server.manifest(&id).await;
            assert_eq!(manifest["resources"][0]["href"], "https://cdn.example/front.jpg");
        }
        // A file without chapters or cover: neither, and nothing to warn about.
        let id = new_title(&server, &store, "plain").await;
        let track = upload(&server, &store, &id, "plain.m4a", fixture("plain.m4a"), "audio/mp4").await;
        assert_eq!(track["chapters"], json!([]));
        assert!(track.get("warnings").is_none());
    }

    async fn unreadable_chapters_are_reported_in_the_answer(server: TestServer) {
        let store = server.store(5).await;
        // A Nero chapter list (written with mp4ameta) whose atom is then broken: the audio is
        // fine, its chapters are not.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nero.m4a");
        std::fs::write(&path, fixture("plain.m4a")).unwrap();
        let mut tag = mp4ameta::Tag::read_from_path(&path).unwrap();
        tag.chapter_list_mut().push(mp4ameta::Chapter { start: std::time::Duration::ZERO, title: "Only".into() });
        tag.write_with_path(&path, &mp4ameta::WriteConfig { write_chapter_list: true, ..mp4ameta::WriteConfig::NONE }).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(4).position(|w| w == b"chpl").unwrap();
        bytes[at - 4..at].copy_from_slice(&u32::MAX.to_be_bytes());
        let id = new_title(&server, &store, "broken chapters").await;
        let track = upload(&server, &store, &id, "broken.m4a", bytes, "audio/mp4").await;
        assert_eq!(track["chapters"], json!([]));
        let warnings = track["warnings"].as_array().unwrap_or_else(|| panic!("no warnings: {track}"));
        assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("chapters could not be read")), "{track}");
    }
}
