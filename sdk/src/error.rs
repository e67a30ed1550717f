//! The one error type of the core.
//!
//! Every fallible function in `fount-sdk` returns [`Error`]. Variants name what went wrong in
//! terms a host can act on (ask for a renewal, show "this device is not authorised", retry), not
//! in terms of the library that noticed it. No variant carries key material or plaintext, so an
//! error can be logged or shown as is.

/// What a host can learn about a failed private-key operation it performed itself.
///
/// Hosts that keep the device key in hardware (Secure Enclave, Android Keystore, WebCrypto)
/// report failures through this type; the core never sees more than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The key cannot perform this operation (for example ECDH asked of an RSA key).
    #[error("the device key does not support this operation")]
    Unsupported,
    /// The key exists but cannot be used right now (locked device, user presence required).
    #[error("the device key is not available right now")]
    Unavailable,
    /// The key is gone or the platform refused the operation.
    #[error("the device key operation failed")]
    Failed,
}

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that should be base64url (RFC 4648 §5, no padding) is not, or is not canonical.
    #[error("invalid base64url in {0}")]
    Base64(&'static str),
    /// A structure did not parse: bad JSON, a missing or mistyped member, a wrong length.
    /// The payload names the structure.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A JOSE header names an algorithm or key type this implementation does not accept.
    #[error("unsupported algorithm or key type in {0}")]
    Unsupported(&'static str),
    /// A key is not usable: not on the curve, too small, or inconsistent.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The JWS names a `kid` that is not in the key set the host supplied.
    #[error("the license is signed by a key not in the server's key set")]
    UnknownSigningKey,
    /// The signature does not verify: the license (or token) was altered or forged.
    #[error("bad signature")]
    BadSignature,
    /// The license is bound (`cnf.jkt`) to another device.
    #[error("the license belongs to another device")]
    WrongDevice,
    /// The license is not valid yet (`nbf` is in the future). The payload is `nbf`.
    #[error("the license is not valid before {0}")]
    NotYetValid(i64),
    /// The license has expired (`exp` has passed). The payload is `exp`.
    #[error("the license expired at {0}")]
    Expired(i64),
    /// Offline use has run out: the license must be renewed online. The payload is `renew_by`.
    #[error("the license must be renewed (renew-by {0} has passed)")]
    RenewRequired(i64),
    /// The host's clock reads earlier than a time it has already trusted (or than the time the
    /// license was issued), beyond the tolerance: the clock was set back.
    #[error("the clock was set back: {now} is before the trusted time {trusted}")]
    ClockRolledBack {
        /// The time the host passed in.
        now: i64,
        /// The latest time already trusted.
        trusted: i64,
    },
    /// The license was revoked by the store or the operator.
    #[error("the license was revoked")]
    Revoked,
    /// The license was returned from this device.
    #[error("the license was returned")]
    Returned,
    /// The content key could not be unwrapped: the JWE is not for this key or was altered.
    #[error("the content key could not be unwrapped")]
    KeyUnwrap,
    /// The license carries no content key with this key id.
    #[error("the license carries no key for this resource")]
    NoContentKey,
    /// A sealed chunk failed authentication: flipped bits, a chunk moved, a header changed,
    /// or the wrong key. The payload is the chunk index.
    #[error("sealed chunk {0} failed authentication")]
    ChunkAuthentication(u64),
    /// The sealed bytes are shorter or longer than the header says: truncated or padded.
    #[error("the sealed asset has the wrong length")]
    SealedLength,
    /// A byte range outside the asset, or empty where that is not allowed.
    #[error("byte range out of bounds")]
    Range,
    /// The host's key store failed a private-key operation.
    #[error("key store: {0}")]
    KeyStore(#[from] KeyStoreError),
    /// The system random number generator failed.
    #[error("the random number generator failed")]
    Random,
}

/// Shorthand for results of the core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
