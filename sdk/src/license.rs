//! Licenses: a compact JWS (EdDSA) whose claims bind rights and wrapped content keys to one
//! device.
//!
//! A license goes through three states, each its own type:
//!
//! 1. a compact string, as received;
//! 2. [`VerifiedLicense`]: signature checked against the server's key set, claims parsed;
//! 3. [`PlayableLicense`]: bound to this device and within its time rights at a
//!    [`TrustedTime`]. Only this state hands out content keys.
//!
//! The claims (see `docs/formats.md`) are registered JWT claims where one exists (`iss`, `aud`,
//! `jti`, `iat`, `nbf`, `exp`), the RFC 7800 confirmation `cnf.jkt` for the device binding,
//! and four Fount claims: `title`, `renew_by`, `status` and `keys`.

use serde::{Deserialize, Serialize};

use crate::clock::{ClockGuard, TrustedTime};
#[cfg(feature = "software-keys")]
use crate::device::DeviceKey;
use crate::jwe::PendingUnwrap;
use crate::jwk::DeviceId;
use crate::jws::{self, Jwks, SigningKey};
#[cfg(feature = "software-keys")]
use crate::sealed::ContentKey;
use crate::sealed::KeyId;
use crate::{Error, Result};

/// The JOSE `typ` of a license (explicit typing, RFC 8725 §3.11).
pub const LICENSE_TYP: &str = "fount-license+jwt";

/// The claims of a license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseClaims {
    /// The issuing server's base URL.
    pub iss: String,
    /// The store (tenant) the license was sold by.
    pub aud: String,
    /// The license id; also the id in its status URL.
    pub jti: String,
    /// The title the license is for.
    pub title: String,
    /// When the license was signed, seconds since the epoch.
    pub iat: i64,
    /// Not valid before, seconds since the epoch.
    pub nbf: i64,
    /// Not valid from this time on (rentals); absent for purchases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Offline use ends at this time unless the license is renewed online.
    pub renew_by: i64,
    /// URL of the license status document.
    pub status: String,
    /// The device binding (RFC 7800).
    pub cnf: Confirmation,
    /// Content keys, each wrapped to the device key as a compact JWE.
    pub keys: Vec<WrappedKey>,
}

/// The RFC 7800 confirmation claim: the device key's RFC 7638 thumbprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// JWK SHA-256 thumbprint of the device key.
    pub jkt: String,
}

/// One content key, wrapped to the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The key id, as in the publication manifest and the sealed asset header.
    pub kid: String,
    /// The key as a compact JWE addressed to the device key.
    pub jwe: String,
}

/// Signs license claims. Used by the server.
pub fn sign(claims: &LicenseClaims, key: &SigningKey) -> Result<String> {
    key.sign(LICENSE_TYP, claims)
}

/// A license whose signature verified against the server's key set.
#[derive(Debug, Clone)]
pub struct VerifiedLicense {
    compact: String,
    claims: LicenseClaims,
}

impl VerifiedLicense {
    /// Verifies a compact license against `jwks` (which may hold several keys during a
    /// rotation; the license's `kid` picks one).
    pub fn verify(compact: &str, jwks: &Jwks) -> Result<Self> {
        let verified: jws::Verified<LicenseClaims> = jws::verify(compact, jwks, LICENSE_TYP)?;
        Ok(VerifiedLicense { compact: compact.to_owned(), claims: verified.claims })
    }

    /// The claims.
    pub fn claims(&self) -> &LicenseClaims {
        &self.claims
    }

    /// The license as received, to store.
    pub fn compact(&self) -> &str {
        &self.compact
    }

    /// Checks, in order: that the license is bound to `device`; that the clock has not been
    /// set back (the license's signed `iat` raises `clock`'s trusted time first); then `nbf`,
    /// `exp` and `renew_by` at that time.
    ///
    /// `nbf` gets [`ClockGuard::TOLERANCE`] of leeway, as a device clock slightly behind the
    /// server's would otherwise refuse a license it was just given; `exp` and `renew_by` get
    /// none.
    pub fn authorize(&self, device: &DeviceId, clock: &mut ClockGuard, now: i64) -> Result<PlayableLicense<'_>> {
        if self.claims.cnf.jkt != device.as_str() {
            return Err(Error::WrongDevice);
        }
        clock.observe_server_time(self.claims.iat);
        let now = clock.check(now)?;
        self.check_time(now)?;
        Ok(PlayableLicense { license: self, at: now })
    }

    /// The time rules alone, at a trusted time.
    pub fn check_time(&self, now: TrustedTime) -> Result<()> {
        let now = now.unix();
        if now.saturating_add(ClockGuard::TOLERANCE) < self.claims.nbf {
            return Err(Error::NotYetValid(self.claims.nbf));
        }
        if let Some(exp) = self.claims.exp
            && now >= exp
        {
            return Err(Error::Expired(exp));
        }
        if now >= self.claims.renew_by {
            return Err(Error::RenewRequired(self.claims.renew_by));
        }
        Ok(())
    }
}

/// A license that may be played on this device now.
#[derive(Debug, Clone, Copy)]
pub struct PlayableLicense<'a> {
    license: &'a VerifiedLicense,
    at: TrustedTime,
}

impl PlayableLicense<'_> {
    /// The time it was authorized at.
    pub fn authorized_at(&self) -> TrustedTime {
        self.at
    }

    /// The claims.
    pub fn claims(&self) -> &LicenseClaims {
        &self.license.claims
    }

    /// The JWE carrying content key `kid`, parsed and waiting for the device key's private-key
    /// operation. Hosts whose key store is asynchronous (WebCrypto) or in hardware go this way,
    /// then [`ContentKey::from_unwrapped`](crate::ContentKey::from_unwrapped).
    pub fn pending_key(&self, kid: &KeyId) -> Result<PendingUnwrap> {
        let kid_text = kid.to_string();
        let wrapped = self.license.claims.keys.iter().find(|k| k.kid == kid_text).ok_or(Error::NoContentKey)?;
        PendingUnwrap::parse(&wrapped.jwe)
    }

    /// Unwraps the content key with id `kid`, using the device key's private-key operation.
    #[cfg(feature = "software-keys")]
    pub fn content_key(&self, kid: &KeyId, device: &dyn DeviceKey) -> Result<ContentKey> {
        let pending = self.pending_key(kid)?;
        let secret = pending.operation().perform(device)?;
        ContentKey::from_unwrapped(*kid, &pending.finish(&secret)?)
    }
}
