//! License status documents, as the SDK fetches them.
#![no_main]

use fount_sdk::StatusDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = StatusDocument::from_json(data) {
        let _ = doc.ensure_usable(&doc.id);
        let _ = doc.link("renew");
    }
});
