//! Compact JWE: the content key addressed to a device, opened with the vectors' device keys
//! (P-256 for ECDH-ES, RSA for RSA-OAEP-256), both in one step and through the host's
//! two-step unwrap.
#![no_main]

use std::sync::OnceLock;

use fount_sdk::SoftwareDeviceKey;
use fount_sdk::jwe::{self, PendingUnwrap};
use libfuzzer_sys::fuzz_target;

#[path = "vectors.rs"]
mod vectors;

fn keys() -> &'static [SoftwareDeviceKey; 2] {
    static KEYS: OnceLock<[SoftwareDeviceKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |name: &str| {
            let v = vectors::vector(name);
            SoftwareDeviceKey::from_private_jwk(&v["private_jwk"].to_string()).expect("the vectors' device key")
        };
        [key("jwe-ecdh-es"), key("jwe-rsa-oaep-256")]
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for key in keys() {
        let _ = jwe::decrypt(&text, key);
        if let Ok(pending) = PendingUnwrap::parse(&text)
            && let Ok(secret) = pending.operation().perform(key)
        {
            let _ = pending.finish(&secret);
        }
    }
});
