//! JWKs and key sets from outside: device keys a customer registers, the server's JWKS an app
//! downloads, device ids.
#![no_main]

use fount_sdk::{DeviceId, DevicePublicKey, Jwk, Jwks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = serde_json::from_slice::<Jwk>(data)
        && let Ok(key) = DevicePublicKey::from_jwk(&jwk)
    {
        let _ = key.device_id();
        let _ = key.to_jwk();
    }
    let _ = Jwks::from_json(data);
    let _ = DeviceId::parse(&String::from_utf8_lossy(data));
});
