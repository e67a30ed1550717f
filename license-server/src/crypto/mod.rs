//! Key material on the server: the key-encryption key that seals every secret at rest
//! ([`kek`]), and the license-signing keys ([`signing`]).

pub mod kek;
pub mod signing;
