//! # fount-sdk
//!
//! The core of Fount: everything a player or the license server needs to agree on, and
//! nothing that touches the outside world. It opens no socket and no file and reads no
//! clock: bytes, the time and randomness come from the host (the server, a mobile or desktop
//! app through the uniffi bindings, a web page through wasm). That one rule lets the same code
//! run in all of them and be tested fast and deterministically.
//!
//! What it holds, one module each:
//!
//! * [`device`]: device keys ([`DeviceKey`], with [`SoftwareDeviceKey`] for hosts without a key
//!   store) and [`jwk`]: their JWK form and RFC 7638 thumbprint, the device id;
//! * [`license`]: licenses (EdDSA JWS, bound by `cnf.jkt`), verified against the server's
//!   [`Jwks`] and checked at a [`TrustedTime`] from the [`clock`] rollback guard;
//! * [`jwe`]: content keys wrapped to a device (`ECDH-ES` or `RSA-OAEP-256`, with `A256GCM`);
//! * [`sealed`]: sealed assets, chunked AES-256-GCM with random access;
//! * [`manifest`] and [`position`]: Readium audiobook manifests, the timeline, locators;
//! * [`status`]: license status documents;
//! * [`client`]: what an app does (register, acquire, open, read, bookmarks) over HTTP, storage,
//!   a clock and a key store that its host injects.
//!
//! The byte-level formats are specified in `docs/formats.md`, with test vectors.
//!
//! ## Example: from a license to plaintext
//!
//! (With the default `software-keys` feature.)
//!
//! ```
//! use fount_sdk::{ClockGuard, ContentKey, DeviceKey, Jwks, SigningKey, SoftwareDeviceKey};
//! use fount_sdk::license::{self, Confirmation, LicenseClaims, VerifiedLicense, WrappedKey};
//! use fount_sdk::{jwe, sealed};
//! use ring::rand::SystemRandom;
//!
//! # fn main() -> Result<(), fount_sdk::Error> {
//! let rng = SystemRandom::new();
//! // Server side: a signing key, a content key, a sealed file.
//! let signer = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng)?)?;
//! let content_key = ContentKey::generate(&rng)?;
//! let sealed = sealed::seal(&content_key, 64 * 1024, b"audio bytes", &rng)?;
//!
//! // The device makes its key and sends the public half; the server issues a license.
//! let device = SoftwareDeviceKey::generate_p256(&rng)?;
//! let claims = LicenseClaims {
//!     iss: "https://fount.example".into(),
//!     aud: "store".into(),
//!     jti: "license-1".into(),
//!     title: "title-1".into(),
//!     iat: 1_800_000_000,
//!     nbf: 1_800_000_000,
//!     exp: None,
//!     renew_by: 1_800_604_800,
//!     status: "https://fount.example/v1/licenses/license-1/status".into(),
//!     cnf: Confirmation { jkt: device.device_id().as_str().into() },
//!     keys: vec![WrappedKey {
//!         kid: content_key.id().to_string(),
//!         jwe: jwe::encrypt(device.public_key(), content_key.expose_secret(), &rng)?,
//!     }],
//! };
//! let compact = license::sign(&claims, &signer)?;
//!
//! // The device verifies it, checks its rights at the host's time, and decrypts.
//! let jwks = Jwks { keys: vec![signer.jwks_key()] };
//! let verified = VerifiedLicense::verify(&compact, &jwks)?;
//! let mut clock = ClockGuard::new(0);
//! let playable = verified.authorize(&device.device_id(), &mut clock, 1_800_000_060)?;
//! let key = playable.content_key(&content_key.id(), &device)?;
//! assert_eq!(sealed::open(&key, &sealed)?, b"audio bytes");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
// Tests may panic: that is how they fail.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic,
        clippy::float_cmp
    )
)]

pub mod client;
pub mod clock;
#[cfg(feature = "software-keys")]
pub mod device;
pub mod encoding;
mod error;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod license;
pub mod manifest;
pub mod position;
pub mod sealed;
pub mod status;

pub use clock::{ClockGuard, TrustedTime};
#[cfg(feature = "software-keys")]
pub use device::{DeviceKey, SoftwareDeviceKey};
pub use error::{Error, KeyStoreError, Result};
#[cfg(feature = "software-keys")]
pub use jwk::DevicePublicKey;
pub use jwk::{DeviceId, Jwk};
pub use jws::{Jwks, SigningKey};
pub use license::{LicenseClaims, PlayableLicense, VerifiedLicense};
pub use manifest::{Manifest, Publication};
pub use position::{Bookmark, Locator};
pub use sealed::{ContentKey, KeyId};
pub use status::{LicenseStatus, StatusDocument};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("fount_sdk");
