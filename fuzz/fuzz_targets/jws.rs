//! Compact JWS: licenses and any signed token, verified against the vectors' key set.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "vectors.rs"]
mod vectors;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let jwks = vectors::jwks();
    let _ = fount_sdk::jws::verify::<serde_json::Value>(&text, jwks, "fount-customer+jwt");
    if let Ok(license) = fount_sdk::VerifiedLicense::verify(&text, jwks) {
        let _ = license.claims();
    }
});
