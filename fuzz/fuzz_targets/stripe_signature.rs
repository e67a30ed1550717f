//! The `Stripe-Signature` header and the payload it signs: the input is header, a NUL, then
//! payload.
#![no_main]

use fount_server::api::stripe::verify_signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let payload = data.get(split + 1..).unwrap_or_default();
    let _ = verify_signature(&header, payload, b"whsec_fuzz", 1_800_000_000);
});
