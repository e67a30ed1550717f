//! Sealed assets over HTTP: ranges, validators, caching, and tampering caught by the SDK.

use fount_sdk::sealed::{self, DEFAULT_CHUNK_SIZE, HEADER_LEN, TAG_LEN};
use fount_sdk::{ClockGuard, DeviceKey, Error, KeyId, VerifiedLicense};
use reqwest::StatusCode;

use crate::on_both_databases;
use crate::support::*;

on_both_databases! {
    async fn ranges_validators_and_tampering(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let url = f.title["tracks"][0]["url"].as_str().unwrap().to_owned();
        let size = f.title["tracks"][0]["sealed_length"].as_u64().unwrap();

        let whole = server.http.get(&url).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.headers()["cache-control"], "public, max-age=31536000, immutable");
        let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag, format!("\"{}\"", f.title["tracks"][0]["sha256"].as_str().unwrap()));
        let sealed_bytes = whole.bytes().await.unwrap().to_vec();
        assert_eq!(sealed_bytes.len() as u64, size);

        // Pages on other origins may fetch sealed files (they are useless without a license)...
        let cors = server.http.get(&url).header("origin", "https://shop.example").header("range", "bytes=0-0").send().await.unwrap();
        assert!(matches!(cors.headers()["access-control-allow-origin"].to_str().unwrap(), "*" | "https://shop.example"));
        // ...but not call the store API, whose keys belong on servers.
        let store_api = server.http.get(server.url("/v1/titles")).bearer_auth(&f.store.key).header("origin", "https://shop.example").send().await.unwrap();
        assert!(store_api.headers().get("access-control-allow-origin").is_none());

        let not_modified = server.http.get(&url).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        let head = server.http.head(&url).header("range", "bytes=0-9").send().await.unwrap();
        assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(head.headers()["content-length"], "10");
        let suffix = server.http.get(&url).header("range", "bytes=-16").send().await.unwrap();
        assert_eq!(suffix.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(suffix.bytes().await.unwrap().as_ref(), &sealed_bytes[sealed_bytes.len() - 16..]);
        // An If-Range that does not match: the whole file.
        let stale = server.http.get(&url).header("range", "bytes=0-9").header("if-range", "\"other\"").send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::OK);
        let outside = server.http.get(&url).header("range", format!("bytes={}-", size + 10)).send().await.unwrap();
        assert_eq!(outside.headers()["content-range"], format!("bytes */{size}"));
        problem(outside, StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable").await;

        // The served file decrypts; a chunk flipped, truncated or reordered does not.
        let license = VerifiedLicense::verify(issued["license"].as_str().unwrap(), &server.jwks().await).unwrap();
        let playable = license.authorize(&f.device.device_id(), &mut ClockGuard::new(0), now()).unwrap();
        let kid = KeyId::parse(f.title["key_id"].as_str().unwrap()).unwrap();
        let key = playable.content_key(&kid, &f.device).unwrap();
        assert_eq!(sealed::open(&key, &sealed_bytes).unwrap(), sample_mp3());

        let stride = DEFAULT_CHUNK_SIZE as usize + TAG_LEN;
        let mut flipped = sealed_bytes.clone();
        flipped[HEADER_LEN + stride + 100] ^= 0x20;
        assert_eq!(sealed::open(&key, &flipped).unwrap_err(), Error::ChunkAuthentication(1));
        assert_eq!(sealed::open(&key, &sealed_bytes[..sealed_bytes.len() - stride]).unwrap_err(), Error::SealedLength);
        let mut reordered = sealed_bytes.clone();
        let (c1, c2) = (HEADER_LEN + stride, HEADER_LEN + 2 * stride);
        let first: Vec<u8> = reordered[c1..c1 + stride].to_vec();
        reordered.copy_within(c2..c2 + stride, c1);
        reordered[c2..c2 + stride].copy_from_slice(&first);
        assert_eq!(sealed::open(&key, &reordered).unwrap_err(), Error::ChunkAuthentication(1));
    }
}
