//! Error bodies the SDK reads (RFC 9457 problems, or whatever a proxy answers instead): the
//! first two bytes are the status.
#![no_main]

use fount_sdk::client::error::ServerProblem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let status = data.get(..2).map_or(500, |b| u16::from_be_bytes([b[0], b[1]]));
    let problem = ServerProblem::from_response(status, data.get(2..).unwrap_or_default());
    let _ = problem.detail.len();
});
