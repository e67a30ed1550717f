//! The whole path: store, title from a real audio file, grant, device, license, verify and
//! unwrap with the SDK, sealed ranges over HTTP, plaintext identical to the original.

use fount_sdk::sealed::{self, HEADER_LEN, Opener, SealedHeader};
use fount_sdk::{ClockGuard, DeviceKey, Publication, SoftwareDeviceKey, VerifiedLicense};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

async fn range(server: &TestServer, url: &str, span: std::ops::Range<u64>) -> Vec<u8> {
    let resp = server
        .http
        .get(url)
        .header("range", format!("bytes={}-{}", span.start, span.end - 1))
        .send()
        .await
        .expect("range request");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let content_range = resp.headers()["content-range"].to_str().unwrap().to_owned();
    assert!(content_range.starts_with(&format!("bytes {}-{}/", span.start, span.end - 1)), "{content_range}");
    resp.bytes().await.unwrap().to_vec()
}

async fn play_through(server: &TestServer, title_id: &str, token: &str, device: &dyn DeviceKey, audio: &[u8]) {
    ok_json(server.register(token, device).await, StatusCode::CREATED).await;
    let issued = ok_json(server.acquire(token, title_id, device).await, StatusCode::CREATED).await;

    // The license verifies against the published key set and opens on this device.
    let jwks = server.jwks().await;
    let license = VerifiedLicense::verify(issued["license"].as_str().unwrap(), &jwks).expect("license verifies");
    assert_eq!(license.claims().title, title_id);
    assert_eq!(license.claims().cnf.jkt, device.device_id().as_str());
    assert_eq!(license.claims().status, issued["status_url"].as_str().unwrap());
    let mut clock = ClockGuard::new(0);
    let playable = license.authorize(&device.device_id(), &mut clock, now()).expect("playable now");

    // The manifest names the sealed track and its key.
    let manifest_url = server.url(&format!("/pub/{title_id}/manifest.json"));
    let resp = server.http.get(&manifest_url).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/audiobook+json");
    let publication = Publication::from_json(&resp.bytes().await.unwrap()).expect("manifest parses");
    let chapters: Vec<&str> = publication.chapters().iter().map(|c| c.title.as_str()).collect();
    assert_eq!(chapters, ["The Spring", "The Keeper", "The Library"]);
    assert!((publication.duration() - 38.2).abs() < 0.3, "{}", publication.duration());
    let track = &publication.tracks()[0];
    let sealed_info = track.sealed.expect("the track is sealed");
    assert_eq!(sealed_info.original_length, audio.len() as u64);
    let key = playable.content_key(&sealed_info.key_id, device).expect("content key unwraps");

    // Random access: read the header, then ranges, each fetched with an HTTP range request.
    let track_url = format!("{}/{}", manifest_url.rsplit_once('/').unwrap().0, track.href);
    let header = SealedHeader::parse(&range(server, &track_url, 0..HEADER_LEN as u64).await).expect("header");
    assert_eq!(header.plaintext_len(), audio.len() as u64);
    let opener = Opener::new(header.clone(), &key).expect("opener");
    let n = audio.len() as u64;
    let chunk = u64::from(header.chunk_size());
    for plain in [0..1, 0..1000, chunk - 10..chunk + 10, chunk..2 * chunk, 100_000..250_000, n - 1..n, n / 2..n] {
        let span = header.sealed_range(plain.clone()).unwrap();
        let bytes = range(server, &track_url, span.bytes).await;
        let got = opener.read(plain.clone(), &bytes).expect("decrypts");
        assert_eq!(got, audio[plain.start as usize..plain.end as usize], "range {plain:?}");
    }

    // And the whole file, as a player downloading for offline use would.
    let whole = server.http.get(&track_url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let whole = whole.bytes().await.unwrap();
    assert_eq!(whole.len() as u64, header.sealed_len());
    assert_eq!(sealed::open(&key, &whole).expect("whole file decrypts"), audio, "byte-identical to the upload");
}

on_both_databases! {
    async fn purchase_to_identical_plaintext(server: TestServer) {
        let store = server.store(5).await;
        let audio = sample_mp3();
        let title = server.title_with_audio(&store, audio.clone()).await;
        let title_id = title["id"].as_str().unwrap();
        assert_eq!(title["tracks"][0]["chapters"].as_array().unwrap().len(), 3);
        assert_eq!(title["tracks"][0]["media_type"], "audio/mpeg");

        server.grant(&store, "bob", title_id, json!({"reference": "order-1"})).await;
        let token = server.token(&store, "bob").await;
        let rng = SystemRandom::new();
        play_through(&server, title_id, &token, &SoftwareDeviceKey::generate_p256(&rng).unwrap(), &audio).await;
        play_through(&server, title_id, &token, &SoftwareDeviceKey::generate_rsa(&rng, 2048).unwrap(), &audio).await;

        // The store sees both licenses, active.
        let licenses = ok_json(server.get("/v1/licenses?customer=bob", Some(&store.key)).await, StatusCode::OK).await;
        let items = licenses["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|l| l["status"] == "active" && l["title"] == title_id && l["customer"] == "bob"));
    }

    async fn package_cli_then_play(server: TestServer) {
        // Content sealed by the operator CLI plays like uploaded content.
        let store = server.store(5).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/media/sample.mp3");
        let title_id = server.cli(&["package", "--store", &store.id, "--new-title", "Packaged", path.to_str().unwrap()]).await.trim().to_owned();
        server.grant(&store, "carol", &title_id, json!({})).await;
        let token = server.token(&store, "carol").await;
        play_through(&server, &title_id, &token, &new_device(), &sample_mp3()).await;
    }
}
