//! Sealed assets: a header, then chunks, as a CDN (or an attacker in front of one) serves
//! them, opened with the vectors' content key: whole, and by plaintext range.
#![no_main]

use std::sync::OnceLock;

use fount_sdk::sealed::{self, HEADER_LEN, Opener, SealedHeader};
use fount_sdk::{ContentKey, KeyId};
use libfuzzer_sys::fuzz_target;

#[path = "vectors.rs"]
mod vectors;

fn key() -> &'static ContentKey {
    static KEY: OnceLock<ContentKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let v = vectors::vector("sealed-asset");
        let id = KeyId::parse(v["key_id"].as_str().expect("key_id")).expect("key id");
        let bytes = hex::decode(v["content_key_hex"].as_str().expect("content key")).expect("hex");
        ContentKey::from_unwrapped(id, &bytes).expect("content key")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = sealed::open(key(), data);
    let Some(head) = data.get(..HEADER_LEN) else { return };
    let Ok(header) = SealedHeader::parse(head) else { return };
    let _ = header.chunk_count();
    let _ = header.sealed_len();
    // A range from the input's last bytes, read against the rest.
    let tail = data.len().saturating_sub(16);
    let pick = |at: usize| data.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let (from, to) = (pick(tail), pick(tail + 8));
    let _ = header.sealed_range(from.min(to)..from.max(to));
    if let Ok(opener) = Opener::new(header, key()) {
        let _ = opener.read(from.min(to)..from.max(to), &data[HEADER_LEN..]);
        let mut chunk = data[HEADER_LEN..].to_vec();
        let _ = opener.open_chunk_in_place(from % 64, &mut chunk);
    }
});
