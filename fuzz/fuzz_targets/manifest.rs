//! Readium manifests as an app downloads them, and what the player asks of one.
#![no_main]

use fount_sdk::Publication;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Publication::from_json(data) else { return };
    let duration = p.duration();
    let _ = p.chapters();
    for at in [-1.0, 0.0, duration / 2.0, duration, duration + 1.0, f64::NAN, f64::INFINITY] {
        let position = p.locate(at);
        let _ = p.seconds(position);
        let _ = p.chapter_at(at);
        for track in 0..p.tracks().len().min(4) {
            let _ = p.byte_range(track, at, duration);
        }
    }
});
