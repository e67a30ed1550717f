//! Errors of the client, in two tiers.
//!
//! [`ClientError`] is the rich one the client works with: the core's [`Error`], a server
//! problem with its type, a host failure. [`FountError`] is the small, stable one apps see,
//! through every binding: one variant per thing an app would do differently, each with a
//! stable [`code`](FountError::code). The mapping between them is [`From<ClientError>`], here
//! and nowhere else.

use crate::Error;
use crate::client::host::HostError;

/// A problem reported by the server (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProblem {
    /// HTTP status.
    pub status: u16,
    /// The last segment of the problem `type` (`not-entitled`, `device-limit-reached`, …).
    pub slug: String,
    /// The problem's `detail`.
    pub detail: String,
    /// For `license-not-active`: the license's status.
    pub license_status: Option<String>,
}

impl core::fmt::Display for ServerProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.slug.is_empty() { f.write_str(&self.detail) } else { write!(f, "{} ({})", self.detail, self.slug) }
    }
}

impl ServerProblem {
    /// The problem in an error response's body (RFC 9457), or a generic one naming the status
    /// when the body is not one (a proxy's HTML page, nothing at all).
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Problem {
            #[serde(rename = "type", default)]
            type_: String,
            #[serde(default)]
            detail: String,
            #[serde(default)]
            license_status: Option<String>,
        }
        match serde_json::from_slice::<Problem>(body) {
            Ok(p) => ServerProblem {
                status,
                slug: p.type_.rsplit('/').next().unwrap_or_default().to_owned(),
                detail: if p.detail.is_empty() { format!("HTTP {status}") } else { p.detail },
                license_status: p.license_status,
            },
            Err(_) => {
                ServerProblem { status, slug: String::new(), detail: format!("HTTP {status}"), license_status: None }
            }
        }
    }
}

/// Everything that can go wrong in the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A format, crypto or license-rule error from the core.
    #[error(transparent)]
    Core(#[from] Error),
    /// The server answered with a problem: its `detail`, then its type when it has one.
    #[error("{}", .0)]
    Server(ServerProblem),
    /// The server's answer was not what the API promises.
    #[error("unexpected response from the server: {0}")]
    BadResponse(&'static str),
    /// The host could not send a request.
    #[error("network: {0}")]
    Network(HostError),
    /// The host's storage failed.
    #[error("storage: {0}")]
    Storage(HostError),
    /// The host's key store failed.
    #[error("key store: {0}")]
    KeyStore(HostError),
    /// Stored data did not parse (written by another version, or damaged).
    #[error("stored data is damaged: {0}")]
    Corrupt(&'static str),
    /// Nothing is stored for this title or license on this device.
    #[error("no license for {0} on this device")]
    NotLicensed(String),
    /// An argument the app passed is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A download would take storage past the quota the app set.
    #[error("the download needs {needed} bytes and the quota leaves {available}")]
    QuotaExceeded {
        /// Bytes the download still needs.
        needed: u64,
        /// Bytes the quota leaves, after what every download has stored.
        available: u64,
    },
}

/// The errors apps see. Every variant carries a message for people; match on the variant (or
/// its [`code`](FountError::code)), not the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error), uniffi(flat_error))]
#[non_exhaustive]
pub enum FountError {
    /// No network, or the server could not be reached. Retry later.
    #[error("{0}")]
    Network(String),
    /// The customer token is missing, invalid or expired: get a new one from the store.
    #[error("{0}")]
    Unauthorized(String),
    /// The customer has no entitlement to the title (or the rental ended): offer to buy it.
    #[error("{0}")]
    NotEntitled(String),
    /// The customer has as many devices as the store allows.
    #[error("{0}")]
    DeviceLimitReached(String),
    /// This device is not registered (or was revoked): register it.
    #[error("{0}")]
    DeviceNotRegistered(String),
    /// The store allows one device removal per period, and the customer removed one too
    /// recently: the message says how long the store's wait is.
    #[error("{0}")]
    DeviceRemovalTooSoon(String),
    /// The license belongs to another device.
    #[error("{0}")]
    WrongDevice(String),
    /// The license is not valid yet (a rental that starts later).
    #[error("{0}")]
    NotYetValid(String),
    /// The license or rental has ended.
    #[error("{0}")]
    Expired(String),
    /// Offline use has run out: renew the license online.
    #[error("{0}")]
    RenewRequired(String),
    /// The device clock was set back.
    #[error("{0}")]
    ClockRolledBack(String),
    /// The license was revoked by the store.
    #[error("{0}")]
    Revoked(String),
    /// The license was returned.
    #[error("{0}")]
    Returned(String),
    /// There is no license for this title on this device: acquire one.
    #[error("{0}")]
    NotLicensed(String),
    /// The server has no such title or license.
    #[error("{0}")]
    NotFound(String),
    /// A license, key or content failed verification: altered, forged or corrupted.
    #[error("{0}")]
    Tampered(String),
    /// The device key store failed.
    #[error("{0}")]
    KeyStore(String),
    /// The app's storage failed, or holds damaged data.
    #[error("{0}")]
    Storage(String),
    /// An argument was invalid (an empty id, a range past the end of a track).
    #[error("{0}")]
    InvalidInput(String),
    /// The server failed or answered unexpectedly.
    #[error("{0}")]
    Server(String),
    /// A download would take storage past the quota the app set: free some, or raise it.
    #[error("{0}")]
    QuotaExceeded(String),
}

impl FountError {
    /// A stable, machine-readable code: the variant name in snake case.
    pub fn code(&self) -> &'static str {
        match self {
            FountError::Network(_) => "network",
            FountError::Unauthorized(_) => "unauthorized",
            FountError::NotEntitled(_) => "not_entitled",
            FountError::DeviceLimitReached(_) => "device_limit_reached",
            FountError::DeviceNotRegistered(_) => "device_not_registered",
            FountError::DeviceRemovalTooSoon(_) => "device_removal_too_soon",
            FountError::WrongDevice(_) => "wrong_device",
            FountError::NotYetValid(_) => "not_yet_valid",
            FountError::Expired(_) => "expired",
            FountError::RenewRequired(_) => "renew_required",
            FountError::ClockRolledBack(_) => "clock_rolled_back",
            FountError::Revoked(_) => "revoked",
            FountError::Returned(_) => "returned",
            FountError::NotLicensed(_) => "not_licensed",
            FountError::NotFound(_) => "not_found",
            FountError::Tampered(_) => "tampered",
            FountError::KeyStore(_) => "key_store",
            FountError::Storage(_) => "storage",
            FountError::InvalidInput(_) => "invalid_input",
            FountError::Server(_) => "server",
            FountError::QuotaExceeded(_) => "quota_exceeded",
        }
    }

    /// The message.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl From<ClientError> for FountError {
    fn from(e: ClientError) -> Self {
        let message = e.to_string();
        match e {
            ClientError::Core(core) => match core {
                Error::WrongDevice => FountError::WrongDevice(message),
                Error::NotYetValid(_) => FountError::NotYetValid(message),
                Error::Expired(_) => FountError::Expired(message),
                Error::RenewRequired(_) => FountError::RenewRequired(message),
                Error::ClockRolledBack { .. } => FountError::ClockRolledBack(message),
                Error::Revoked => FountError::Revoked(message),
                Error::Returned => FountError::Returned(message),
                Error::KeyStore(_) => FountError::KeyStore(message),
                Error::Range => FountError::InvalidInput(message),
                Error::Random => FountError::KeyStore(message),
                _ => FountError::Tampered(message),
            },
            ClientError::Server(p) => match (p.slug.as_str(), p.license_status.as_deref()) {
                ("unauthorized", _) => FountError::Unauthorized(message),
                ("not-entitled" | "rental-ended", _) => FountError::NotEntitled(message),
                ("device-limit-reached", _) => FountError::DeviceLimitReached(message),
                ("device-not-registered", _) => FountError::DeviceNotRegistered(message),
                ("device-removal-too-soon", _) => FountError::DeviceRemovalTooSoon(message),
                ("license-not-active", Some("revoked")) => FountError::Revoked(message),
                ("license-not-active", Some("returned")) => FountError::Returned(message),
                ("license-not-active", _) => FountError::Expired(message),
                ("not-found", _) => FountError::NotFound(message),
                // A response without a problem body (a proxy's, or one the host could not
                // read) still has a status.
                _ if p.status == 401 => FountError::Unauthorized(message),
                _ if p.status == 404 => FountError::NotFound(message),
                _ if p.status >= 500 => FountError::Server(message),
                _ => FountError::InvalidInput(message),
            },
            ClientError::BadResponse(_) => FountError::Server(message),
            ClientError::Network(_) => FountError::Network(message),
            ClientError::Storage(_) | ClientError::Corrupt(_) => FountError::Storage(message),
            ClientError::KeyStore(_) => FountError::KeyStore(message),
            ClientError::NotLicensed(_) => FountError::NotLicensed(message),
            ClientError::InvalidArgument(_) => FountError::InvalidInput(message),
            ClientError::QuotaExceeded { .. } => FountError::QuotaExceeded(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_by_kind() {
        let p = |slug: &str, status, ls: Option<&str>| {
            FountError::from(ClientError::Server(ServerProblem {
                status,
                slug: slug.into(),
                detail: "d".into(),
                license_status: ls.map(Into::into),
            }))
            .code()
        };
        assert_eq!(p("not-entitled", 403, None), "not_entitled");
        assert_eq!(p("rental-ended", 403, None), "not_entitled");
        assert_eq!(p("license-not-active", 409, Some("revoked")), "revoked");
        assert_eq!(p("license-not-active", 409, Some("returned")), "returned");
        assert_eq!(p("internal", 500, None), "server");
        assert_eq!(p("validation-failed", 422, None), "invalid_input");
        assert_eq!(p("", 401, None), "unauthorized");
        assert_eq!(p("", 404, None), "not_found");
        assert_eq!(p("", 503, None), "server");
        assert_eq!(FountError::from(ClientError::Core(Error::BadSignature)).code(), "tampered");
        assert_eq!(FountError::from(ClientError::Core(Error::ChunkAuthentication(3))).code(), "tampered");
        let e = FountError::from(ClientError::Core(Error::WrongDevice));
        assert_eq!((e.code(), e.message().as_str()), ("wrong_device", "the license belongs to another device"));
    }
}
