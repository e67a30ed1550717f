//! The client: what an app does with Fount, over services its host injects.
//!
//! [`Client`] registers the device, acquires, lists, checks, renews and returns licenses, and
//! opens titles; [`OpenTitle`] reads decrypted bytes of any range of any track (what a
//! platform player's custom data source needs), downloads for offline use, and keeps the
//! listening position and bookmarks. The host gives it HTTP, storage and a clock
//! ([`Host`]) and, optionally, a key store ([`KeyStore`]); the client opens no socket and no
//! file of its own, so the same client runs on a phone (through uniffi) and in a browser
//! (through wasm), each with its platform's services.
//!
//! Every binding exposes this API with the same names, and the same errors, as
//! [`FountError`] (mapped from the richer [`ClientError`] in one place).
//!
//! What happens offline: `open_title` needs no network. It verifies the stored license against
//! the stored key set, checks the device binding and the time rights against the host's clock
//! (guarded against being set back, see [`crate::clock`]), refuses a license the server last
//! said was revoked or returned, and unwraps the content key with the device key. Reads come
//! from downloaded blocks when the title was downloaded, from the server otherwise.

mod api;
pub mod download;
pub mod error;
pub mod host;
#[cfg(feature = "software-keys")]
pub mod keys;
mod storage;
pub mod title;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use download::{
    DownloadFailure, DownloadProgress, DownloadSettings, DownloadState, StorageUsage, TitleUsage, TrackProgress,
};
pub use error::{ClientError, FountError};
pub use host::{Host, HostError, HttpHeader, HttpRequest, HttpResponse, KeyStore};
#[cfg(feature = "software-keys")]
pub use keys::{KeyChoice, SoftwareKeyStore};
use storage::StoredLicense;
pub use title::{
    BookmarkInfo, ChapterInfo, OpenTitle, PositionInfo, SealedPlan, SealedRead, SealedSource, SyncReport, TrackInfo,
};

use crate::clock::ClockGuard;
use crate::{DeviceId, Error, Jwk, Jwks, LicenseStatus, Publication, VerifiedLicense};

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct DeviceInfo {
    /// The device id (the key's RFC 7638 thumbprint).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is active (not revoked).
    pub active: bool,
    /// When it was registered, seconds since the epoch.
    pub created_at: i64,
    /// Whether it is the device this client runs on.
    pub this_device: bool,
}

/// The customer's devices, as an account page shows them.
// Returned, never read: no `Deserialize`, which the wasm package would ship for nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct DeviceList {
    /// Active devices, oldest first.
    pub devices: Vec<DeviceInfo>,
    /// How many active devices the store allows.
    pub limit: i64,
    /// The store's least time between two removals, seconds (0: none).
    pub removal_wait_seconds: i64,
    /// While that wait runs: when the next removal is allowed (seconds since the epoch).
    pub next_removal_at: Option<i64>,
}

/// What a customer has of a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum Access {
    /// Bought: theirs for good.
    Owned,
    /// Rented, until `ends_at`.
    Rented,
    /// Rented from `starts_at`, not yet.
    Upcoming,
    /// A rental that has ended.
    Ended,
}

/// A title in the customer's library.
// Returned, never read: no `Deserialize`, which the wasm package would ship for nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct LibraryItem {
    /// Title id (what `acquire_license` and `open_title` take).
    pub title_id: String,
    /// Its name.
    pub name: String,
    /// Its author.
    pub author: Option<String>,
    /// A cover image URL.
    pub cover_url: Option<String>,
    /// The title's Readium manifest.
    pub manifest_url: String,
    /// The customer's best access to it.
    pub access: Access,
    /// When the access starts (or started), seconds since the epoch.
    pub starts_at: i64,
    /// When a rental ends (or ended).
    pub ends_at: Option<i64>,
    /// When it was granted.
    pub granted_at: i64,
}

/// A license held on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct LicenseInfo {
    /// License id.
    pub id: String,
    /// The title it is for.
    pub title_id: String,
    /// Its status, as the device last learned it.
    pub status: LicenseStatus,
    /// Not valid before (seconds since the epoch).
    pub not_before: i64,
    /// End of a rental.
    pub expires_at: Option<i64>,
    /// Offline use ends here unless renewed.
    pub renew_by: i64,
    /// Whether the title is downloaded for offline use.
    pub downloaded: bool,
}

impl From<&StoredLicense> for LicenseInfo {
    fn from(s: &StoredLicense) -> Self {
        LicenseInfo {
            id: s.id.clone(),
            title_id: s.title_id.clone(),
            status: s.status,
            not_before: s.not_before,
            expires_at: s.expires_at,
            renew_by: s.renew_by,
            downloaded: s.downloaded,
        }
    }
}

/// The client. Cheap to clone: clones share the host.
pub struct Client<H, K> {
    inner: Arc<Inner<H, K>>,
}

impl<H, K> Clone for Client<H, K> {
    fn clone(&self) -> Self {
        Client { inner: self.inner.clone() }
    }
}

struct Inner<H, K> {
    base: String,
    host: H,
    keys: K,
    jwk: Jwk,
    device_id: DeviceId,
    downloads: std::sync::Mutex<download::Control>,
}

/// Device ids are RFC 7638 thumbprints: 43 base64url characters.
fn check_device_id(id: &str) -> Result<(), ClientError> {
    let ok = id.len() == 43 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ClientError::InvalidArgument("a device id is 43 base64url characters")) }
}

/// Title and license ids end up in storage keys and URLs: they must be plain.
fn check_id(id: &str) -> Result<(), ClientError> {
    let ok =
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ClientError::InvalidArgument("ids are 1 to 128 letters, digits, '-' or '_'")) }
}

impl<H: Host, K: KeyStore> Client<H, K> {
    /// A client of the server at `server_url` (`http://` or `https://`), with the host's
    /// services and a device key store.
    pub async fn new(server_url: &str, host: H, keys: K) -> Result<Self, ClientError> {
        let base = server_url.trim_end_matches('/');
        let valid = (base.starts_with("https://") || base.starts_with("http://")) && base.len() > "https://".len();
        if !valid {
            return Err(ClientError::InvalidArgument("the server URL must start with http:// or https://"));
        }
        let jwk = keys.public_key().await.map_err(ClientError::KeyStore)?;
        Ok(Client {
            inner: Arc::new(Inner {
                base: base.to_owned(),
                device_id: jwk.device_id(),
                jwk,
                host,
                keys,
                downloads: std::sync::Mutex::default(),
            }),
        })
    }

    /// This device's id.
    pub fn device_id(&self) -> &str {
        self.inner.device_id.as_str()
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.inner.host
    }

    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ClientError> {
        self.inner.host.send(request).await.map_err(ClientError::Network)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }

    /// Registers this device with the customer's account (`customer_token` from the app's own
    /// backend). Registering again is harmless.
    pub async fn register_device(&self, customer_token: &str, name: &str) -> Result<DeviceInfo, ClientError> {
        let body = api::RegisterDevice { jwk: &self.inner.jwk, name };
        let device: api::DeviceView =
            api::json(self.send(api::post(self.url("/v1/me/devices"), customer_token, &body)).await?, "device")?;
        Ok(self.device_info(device))
    }

    fn device_info(&self, d: api::DeviceView) -> DeviceInfo {
        let this_device = d.id == self.device_id();
        DeviceInfo { active: d.status == "active", created_at: d.created_at, this_device, id: d.id, name: d.name }
    }

    /// The customer's active devices, the store's limit and its wait between removals: what
    /// an account page lists.
    pub async fn devices(&self, customer_token: &str) -> Result<DeviceList, ClientError> {
        let request = api::authorized("GET", self.url("/v1/me/devices"), customer_token);
        let list: api::MyDevices = api::json(self.send(request).await?, "devices")?;
        Ok(DeviceList {
            devices: list.items.into_iter().map(|d| self.device_info(d)).collect(),
            limit: list.limit,
            removal_wait_seconds: list.removal_wait_seconds,
            next_removal_at: list.next_removal_at,
        })
    }

    /// Renames one of the customer's devices (this one or another).
    pub async fn rename_device(
        &self,
        customer_token: &str,
        device_id: &str,
        name: &str,
    ) -> Result<DeviceInfo, ClientError> {
        check_device_id(device_id)?;
        let body = api::Rename { name };
        let url = self.url(&format!("/v1/me/devices/{device_id}/name"));
        let device: api::DeviceView = api::json(self.send(api::put(url, customer_token, &body)).await?, "device")?;
        Ok(self.device_info(device))
    }

    /// Removes one of the customer's devices: it is revoked with its licenses, freeing a place
    /// under the store's device limit. The store may allow one removal per period
    /// ([`ClientError::Server`] `device-removal-too-soon`, `DeviceRemovalTooSoon` in the
    /// bindings). Removing this device leaves its stored licenses to be refused at their
    /// next status check.
    pub async fn remove_device(&self, customer_token: &str, device_id: &str) -> Result<DeviceInfo, ClientError> {
        check_device_id(device_id)?;
        let url = self.url(&format!("/v1/me/devices/{device_id}"));
        let device: api::DeviceView =
            api::json(self.send(api::authorized("DELETE", url, customer_token)).await?, "device")?;
        Ok(self.device_info(device))
    }

    /// The customer's library: each title they own, rent, will rent or rented, newest first.
    pub async fn library(&self, customer_token: &str) -> Result<Vec<LibraryItem>, ClientError> {
        let request = api::authorized("GET", self.url("/v1/me/titles"), customer_token);
        let library: api::Library = api::json(self.send(request).await?, "library")?;
        Ok(library
            .items
            .into_iter()
            .map(|i| LibraryItem {
                title_id: i.title,
                name: i.name,
                author: i.author,
                cover_url: i.cover,
                manifest_url: i.manifest_url,
                access: i.access,
                starts_at: i.starts_at,
                ends_at: i.ends_at,
                granted_at: i.granted_at,
            })
            .collect())
    }

    async fn refresh_jwks(&self) -> Result<Jwks, ClientError> {
        let bytes = api::ok_body(self.send(api::get(self.url("/.well-known/jwks.json"))).await?)?;
        let jwks = Jwks::from_json(&bytes)?;
        self.inner.host.save(storage::JWKS, bytes).await.map_err(ClientError::Storage)?;
        Ok(jwks)
    }

    async fn stored_jwks(&self) -> Result<Jwks, ClientError> {
        let bytes = self
            .inner
            .host
            .load(storage::JWKS)
            .await
            .map_err(ClientError::Storage)?
            .ok_or(ClientError::Corrupt("key set missing"))?;
        Ok(Jwks::from_json(&bytes)?)
    }

    async fn clock(&self) -> Result<ClockGuard, ClientError> {
        let text = self.inner.host.load(storage::CLOCK).await.map_err(ClientError::Storage)?;
        let latest = match text {
            None => 0,
            Some(t) => {
                std::str::from_utf8(&t).ok().and_then(|t| t.parse().ok()).ok_or(ClientError::Corrupt("clock"))?
            }
        };
        Ok(ClockGuard::new(latest))
    }

    async fn save_clock(&self, guard: &ClockGuard) -> Result<(), ClientError> {
        self.inner
            .host
            .save(storage::CLOCK, guard.latest().to_string().into_bytes())
            .await
            .map_err(ClientError::Storage)
    }

    /// Verifies an issued license for this device and title, stores it, and raises the trusted
    /// time to its signed `iat`.
    async fn keep(
        &self,
        title_id: &str,
        compact: &str,
        jwks: &Jwks,
        previous: Option<StoredLicense>,
    ) -> Result<StoredLicense, ClientError> {
        let license = VerifiedLicense::verify(compact, jwks)?;
        let claims = license.claims();
        if claims.cnf.jkt != self.device_id() {
            return Err(Error::WrongDevice.into());
        }
        if claims.title != title_id {
            return Err(ClientError::BadResponse("a license for another title"));
        }
        let mut guard = self.clock().await?;
        guard.observe_server_time(claims.iat);
        self.save_clock(&guard).await?;
        let stored = StoredLicense {
            id: claims.jti.clone(),
            title_id: title_id.to_owned(),
            license: compact.to_owned(),
            status: LicenseStatus::Active,
            not_before: claims.nbf,
            expires_at: claims.exp,
            renew_by: claims.renew_by,
            status_url: claims.status.clone(),
            manifest_url: self.url(&format!("/pub/{title_id}/manifest.json")),
            downloaded: previous.is_some_and(|p| p.downloaded && p.id == claims.jti),
        };
        storage::save_json(&self.inner.host, &storage::license(title_id), &stored).await?;
        Ok(stored)
    }

    /// Acquires a license for `title_id` on this device, with its manifest, and keeps both for
    /// offline use.
    pub async fn acquire_license(&self, customer_token: &str, title_id: &str) -> Result<LicenseInfo, ClientError> {
        check_id(title_id)?;
        let jwks = self.refresh_jwks().await?;
        let body = api::Acquire { title: title_id, device: self.device_id() };
        let issued: api::IssuedLicense =
            api::json(self.send(api::post(self.url("/v1/me/licenses"), customer_token, &body)).await?, "license")?;
        let manifest_url = self.url(&format!("/pub/{title_id}/manifest.json"));
        let manifest = api::ok_body(self.send(api::get(manifest_url)).await?)?;
        Publication::from_json(&manifest)?;
        self.inner.host.save(&storage::manifest(title_id), manifest).await.map_err(ClientError::Storage)?;
        let previous = storage::load_json(&self.inner.host, &storage::license(title_id)).await?;
        let stored = self.keep(title_id, &issued.license, &jwks, previous).await?;
        Ok(LicenseInfo::from(&stored))
    }

    /// The licenses held on this device.
    pub async fn licenses(&self) -> Result<Vec<LicenseInfo>, ClientError> {
        let mut out = Vec::new();
        for key in self.inner.host.keys(storage::LICENSES).await.map_err(ClientError::Storage)? {
            if let Some(stored) = storage::load_json::<H, StoredLicense>(&self.inner.host, &key).await? {
                out.push(LicenseInfo::from(&stored));
            }
        }
        out.sort_by(|a, b| a.title_id.cmp(&b.title_id));
        Ok(out)
    }

    async fn stored_by_id(&self, license_id: &str) -> Result<StoredLicense, ClientError> {
        check_id(license_id)?;
        for key in self.inner.host.keys(storage::LICENSES).await.map_err(ClientError::Storage)? {
            if let Some(stored) = storage::load_json::<H, StoredLicense>(&self.inner.host, &key).await?
                && stored.id == license_id
            {
                return Ok(stored);
            }
        }
        Err(ClientError::NotLicensed(license_id.to_owned()))
    }

    async fn stored_for_title(&self, title_id: &str) -> Result<StoredLicense, ClientError> {
        check_id(title_id)?;
        storage::load_json(&self.inner.host, &storage::license(title_id))
            .await?
            .ok_or_else(|| ClientError::NotLicensed(title_id.to_owned()))
    }

    /// Records a status learned from the server; an ended license's downloads are removed.
    async fn set_status(&self, mut stored: StoredLicense, status: LicenseStatus) -> Result<LicenseInfo, ClientError> {
        stored.status = status;
        if status != LicenseStatus::Active {
            storage::remove_all(&self.inner.host, &storage::assets(&stored.title_id)).await?;
            self.forget_download(&stored.title_id).await?;
            stored.downloaded = false;
        }
        storage::save_json(&self.inner.host, &storage::license(&stored.title_id), &stored).await?;
        Ok(LicenseInfo::from(&stored))
    }

    /// Asks the server for the license's status and records it: how a device learns of a
    /// revocation or a return.
    pub async fn check_status(&self, license_id: &str) -> Result<LicenseInfo, ClientError> {
        let stored = self.stored_by_id(license_id).await?;
        let doc: api::StatusView = api::json(self.send(api::get(stored.status_url.clone())).await?, "status document")?;
        if doc.id != stored.id {
            return Err(ClientError::BadResponse("a status document for another license"));
        }
        self.set_status(stored, doc.status).await
    }

    /// Renews a license: a fresh one with a new offline window.
    pub async fn renew_license(&self, customer_token: &str, license_id: &str) -> Result<LicenseInfo, ClientError> {
        let stored = self.stored_by_id(license_id).await?;
        let jwks = self.refresh_jwks().await?;
        let url = self.url(&format!("/v1/me/licenses/{license_id}/renew"));
        let response = self.send(api::post(url, customer_token, &api::Empty {})).await?;
        let issued: api::IssuedLicense = match api::json(response, "license") {
            Ok(issued) => issued,
            Err(e) => {
                // A renewal refused because the license ended tells the device so.
                if let ClientError::Server(p) = &e
                    && let Some(status) = p.license_status.as_deref().and_then(LicenseStatus::parse)
                {
                    self.set_status(stored, status).await?;
                }
                return Err(e);
            }
        };
        let title = stored.title_id.clone();
        Ok(LicenseInfo::from(&self.keep(&title, &issued.license, &jwks, Some(stored)).await?))
    }

    /// Returns a license to the store; its downloads are removed from this device.
    pub async fn return_license(&self, customer_token: &str, license_id: &str) -> Result<LicenseInfo, ClientError> {
        let stored = self.stored_by_id(license_id).await?;
        let url = self.url(&format!("/v1/me/licenses/{license_id}/return"));
        let doc: api::StatusView =
            api::json(self.send(api::post(url, customer_token, &api::Empty {})).await?, "status document")?;
        self.set_status(stored, doc.status).await
    }

    /// Opens a title for playing, offline: verifies its license, checks it against the clock
    /// and this device, and unwraps the content key.
    pub async fn open_title(&self, title_id: &str) -> Result<OpenTitle<H, K>, ClientError> {
        let stored = self.stored_for_title(title_id).await?;
        match stored.status {
            LicenseStatus::Active => {}
            LicenseStatus::Revoked => return Err(Error::Revoked.into()),
            LicenseStatus::Returned => return Err(Error::Returned.into()),
            LicenseStatus::Expired => return Err(Error::Expired(stored.expires_at.unwrap_or_default()).into()),
        }
        let license = VerifiedLicense::verify(&stored.license, &self.stored_jwks().await?)?;
        let mut guard = self.clock().await?;
        let playable = license.authorize(&self.inner.device_id, &mut guard, self.inner.host.now())?;
        self.save_clock(&guard).await?;
        let manifest = self
            .inner
            .host
            .load(&storage::manifest(title_id))
            .await
            .map_err(ClientError::Storage)?
            .ok_or(ClientError::Corrupt("manifest missing"))?;
        let publication = Publication::from_json(&manifest)?;
        let mut keys = Vec::new();
        for track in publication.tracks() {
            if let Some(sealed) = track.sealed
                && !keys.iter().any(|k: &crate::ContentKey| k.id() == sealed.key_id)
            {
                let pending = playable.pending_key(&sealed.key_id)?;
                let secret = self.inner.keys.perform(pending.operation()).await.map_err(ClientError::KeyStore)?;
                keys.push(crate::ContentKey::from_unwrapped(sealed.key_id, &pending.finish(&secret)?)?);
            }
        }
        Ok(OpenTitle::new(self.clone(), stored, publication, keys))
    }
}
