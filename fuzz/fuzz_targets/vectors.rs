// Shared by the targets; each uses what it needs of it.
#![allow(dead_code)]
//! The test vectors the targets take their keys from (docs/test-vectors), read once.

use std::sync::OnceLock;

use serde_json::Value;

/// A test vector file, parsed.
pub fn vector(name: &str) -> Value {
    let path = format!("{}/../docs/test-vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    // The vectors are part of the repository: a missing one is a broken checkout, not input.
    serde_json::from_str(&std::fs::read_to_string(&path).expect("test vector")).expect("test vector JSON")
}

/// The license vectors' key set.
pub fn jwks() -> &'static fount_sdk::Jwks {
    static JWKS: OnceLock<fount_sdk::Jwks> = OnceLock::new();
    JWKS.get_or_init(|| {
        let v = vector("license");
        fount_sdk::Jwks::from_json(v["jwks"].to_string().as_bytes()).expect("the vectors' JWKS")
    })
}
