//! License status documents, after Readium LCP's License Status Document (LSD 1.0), adapted:
//! the same `status` values and `links` relations, JSON timestamps as seconds since the epoch,
//! and a `renew_by` member for the offline window.
//!
//! The host fetches the document from the license's `status` URL and keeps the latest one.
//! [`StatusDocument::ensure_usable`] is how a device learns of a revocation or a return.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The state of a license on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum LicenseStatus {
    /// Issued and usable.
    Active,
    /// Revoked by the store or the operator.
    Revoked,
    /// Returned by the customer.
    Returned,
    /// Past its `exp`.
    Expired,
}

impl LicenseStatus {
    /// From the wire name.
    pub fn parse(name: &str) -> Option<Self> {
        [LicenseStatus::Active, LicenseStatus::Revoked, LicenseStatus::Returned, LicenseStatus::Expired]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Active => "active",
            LicenseStatus::Revoked => "revoked",
            LicenseStatus::Returned => "returned",
            LicenseStatus::Expired => "expired",
        }
    }
}

/// A link in a status document (`rel` is `license`, `renew` or `return`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusLink {
    /// Relation.
    pub rel: String,
    /// Target URL.
    pub href: String,
    /// Media type of the target.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// When the license and its status last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdated {
    /// Last time the license itself was (re)issued.
    pub license: i64,
    /// Last time the status changed.
    pub status: i64,
}

/// A license status document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDocument {
    /// The license id (`jti`).
    pub id: String,
    /// The status.
    pub status: LicenseStatus,
    /// A message for people.
    pub message: String,
    /// Change times.
    pub updated: StatusUpdated,
    /// The current offline window's end.
    pub renew_by: i64,
    /// `license`, and, where allowed, `renew` and `return`.
    pub links: Vec<StatusLink>,
}

impl StatusDocument {
    /// Parses a status document.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        serde_json::from_slice(json).map_err(|_| Error::Malformed("status document"))
    }

    /// Refuses further use of license `license_id` if this document says it ended. A document
    /// about another license is refused as malformed.
    pub fn ensure_usable(&self, license_id: &str) -> Result<()> {
        if self.id != license_id {
            return Err(Error::Malformed("status document"));
        }
        match self.status {
            LicenseStatus::Active => Ok(()),
            LicenseStatus::Revoked => Err(Error::Revoked),
            LicenseStatus::Returned => Err(Error::Returned),
            LicenseStatus::Expired => Err(Error::Expired(self.updated.status)),
        }
    }

    /// The link with relation `rel`, if present.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links.iter().find(|l| l.rel == rel).map(|l| l.href.as_str())
    }
}
