//! base64url without padding (RFC 4648 §5), the only binary-to-text encoding JOSE uses.
//!
//! Decoding is strict: padding, whitespace and non-zero trailing bits are refused, so every
//! value has exactly one encoding and a signed string cannot be re-encoded into a different
//! one that still verifies.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Error, Result};

/// Encodes bytes as base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url; `what` names the field for the error.
pub fn unb64(text: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Base64(what))
}

/// Decodes strict base64url into exactly `N` bytes.
pub fn unb64_array<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N]> {
    unb64(text, what)?.try_into().map_err(|_| Error::Malformed(what))
}
