//! What the client keeps in the host's storage, and under which keys.
//!
//! ```text
//! fount/device-key                 the software device key (private JWK), if the core holds it
//! fount/clock                      the latest trusted time (clock-rollback guard)
//! fount/jwks                       the server's key set
//! fount/license/<title>            the license and what the device knows of its status
//! fount/manifest/<title>           the publication manifest
//! fount/header/<title>/<track>     a sealed track's 68-byte header
//! fount/asset/<title>/layout       each track's blocks (`download::record`)
//! fount/asset/<title>/blocks/<track>/<n>
//!                                  block n of a downloaded sealed track: the chunks that hold
//!                                  1 MiB of audio, stored once checked
//! fount/downloads                  the download queue and each title's state
//! fount/download-settings          parallel requests, attempts, quota
//! fount/position/<title>           the listening position (a Readium Locator)
//! fount/bookmarks/<title>          bookmarks
//! ```
//!
//! Values are JSON, except headers and blocks (raw bytes) and the clock (decimal text).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::ClientError;
use super::host::Host;
use crate::LicenseStatus;

pub(crate) const CLOCK: &str = "fount/clock";
pub(crate) const JWKS: &str = "fount/jwks";
pub(crate) const LICENSES: &str = "fount/license/";
pub(crate) const ASSETS: &str = "fount/asset/";

pub(crate) fn license(title: &str) -> String {
    format!("{LICENSES}{title}")
}
pub(crate) fn manifest(title: &str) -> String {
    format!("fount/manifest/{title}")
}
pub(crate) fn header(title: &str, track: usize) -> String {
    format!("fount/header/{title}/{track}")
}
pub(crate) fn assets(title: &str) -> String {
    format!("{ASSETS}{title}/")
}
pub(crate) fn position(title: &str) -> String {
    format!("fount/position/{title}")
}
pub(crate) fn bookmarks(title: &str) -> String {
    format!("fount/bookmarks/{title}")
}

/// A license as the device keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLicense {
    pub id: String,
    pub title_id: String,
    /// The compact JWS.
    pub license: String,
    /// What the device last learned from the server.
    pub status: LicenseStatus,
    pub not_before: i64,
    pub expires_at: Option<i64>,
    pub renew_by: i64,
    pub status_url: String,
    pub manifest_url: String,
    #[serde(default)]
    pub downloaded: bool,
}

pub(crate) async fn load_json<H: Host, T: DeserializeOwned>(host: &H, key: &str) -> Result<Option<T>, ClientError> {
    match host.load(key).await.map_err(ClientError::Storage)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| ClientError::Corrupt("stored JSON")),
    }
}

pub(crate) async fn save_json<H: Host, T: Serialize>(host: &H, key: &str, value: &T) -> Result<(), ClientError> {
    let bytes = serde_json::to_vec(value).map_err(|_| ClientError::Corrupt("value to store"))?;
    host.save(key, bytes).await.map_err(ClientError::Storage)
}

/// Removes every key under `prefix`.
pub(crate) async fn remove_all<H: Host>(host: &H, prefix: &str) -> Result<(), ClientError> {
    for key in host.keys(prefix).await.map_err(ClientError::Storage)? {
        host.remove(&key).await.map_err(ClientError::Storage)?;
    }
    Ok(())
}
