//! What a host provides: HTTP, storage, a clock ([`Host`]) and, optionally, a key store
//! ([`KeyStore`]).
//!
//! The traits are asynchronous because some hosts are (`fetch`, IndexedDB and WebCrypto in a
//! browser). A synchronous host (a Kotlin app calling `HttpURLConnection` on a background
//! thread) returns ready futures, and its binding drives the client with a blocking executor.
//! Futures need not be `Send`: a browser's are not.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Jwk;
use crate::jwe::KeyOperation;

/// An HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct HttpHeader {
    /// Name, lower case.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A request the client asks the host to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<HttpHeader>,
    /// Body (empty for GET).
    #[serde(with = "serde_bytes")]
    #[cfg_attr(feature = "wasm", tsify(type = "Uint8Array"))]
    pub body: Vec<u8>,
}

/// The response the host got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (names in any case).
    pub headers: Vec<HttpHeader>,
    /// Body.
    #[serde(with = "serde_bytes")]
    #[cfg_attr(feature = "wasm", tsify(type = "Uint8Array"))]
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }
}

/// A failure the host reports: the network is down, the disk is full, the key store refused.
/// (Bindings have their own error type for foreign hosts to throw, converted into this one.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The operation failed; the message says how.
    #[error("{message}")]
    Failed {
        /// What went wrong, for people.
        message: String,
    },
}

impl HostError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        HostError::Failed { message: message.into() }
    }
}

/// HTTP, storage and a clock.
///
/// Storage is a key-value store of small values (the largest is about 1 MiB, a block of a
/// downloaded track); keys are ASCII paths such as `fount/license/<title>`.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// Sends a request and returns the response, whatever its status; fails only when there is
    /// no response (no network, refused, timed out).
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HostError>;
    /// The value stored under `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// Stores `value` under `key`, replacing what was there, atomically: a crash leaves the old
    /// value or the new one, never part of it (write a temporary file and rename it; a
    /// database's put). Downloads rely on it: a stored block is a whole block.
    async fn save(&self, key: &str, value: Vec<u8>) -> Result<(), HostError>;
    /// Removes `key` (no error if absent).
    async fn remove(&self, key: &str) -> Result<(), HostError>;
    /// Every stored key starting with `prefix`.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, HostError>;
    /// The current time, seconds since the Unix epoch. The client guards against it being set
    /// back (see [`crate::clock`]).
    fn now(&self) -> i64;
    /// Resolves after `millis` milliseconds, without holding up the host's other work: the
    /// wait between two attempts of a download.
    async fn sleep(&self, millis: u64);
}

/// A device key the host keeps, in hardware or behind an asynchronous API, performing the
/// private-key operation itself. The core never sees the private key.
#[allow(async_fn_in_trait)]
pub trait KeyStore {
    /// The device's public key (creating the key pair on first use).
    async fn public_key(&self) -> Result<Jwk, HostError>;
    /// Performs `operation` with the private key: the ECDH shared secret's x coordinate, or the
    /// RSA-OAEP-SHA-256 plaintext.
    async fn perform(&self, operation: &KeyOperation) -> Result<Zeroizing<Vec<u8>>, HostError>;
}
