//! The device key when the host has no key store: a [`SoftwareDeviceKey`] kept in the host's
//! storage as a private JWK, and [`KeyChoice`], which lets one client type use either.

use ring::rand::SystemRandom;
use zeroize::Zeroizing;

use super::error::ClientError;
use super::host::{Host, HostError, KeyStore};
use crate::jwe::KeyOperation;
use crate::{DeviceKey as _, Jwk, SoftwareDeviceKey};

const DEVICE_KEY: &str = "fount/device-key";

/// A P-256 device key held by the core, persisted in the host's storage.
#[derive(Debug)]
pub struct SoftwareKeyStore {
    key: SoftwareDeviceKey,
}

impl SoftwareKeyStore {
    /// Loads the device key from `host`'s storage, creating and saving one on first use.
    pub async fn open<H: Host>(host: &H) -> Result<Self, ClientError> {
        if let Some(bytes) = host.load(DEVICE_KEY).await.map_err(ClientError::Storage)? {
            let text = Zeroizing::new(String::from_utf8(bytes).map_err(|_| ClientError::Corrupt("device key"))?);
            let key = SoftwareDeviceKey::from_private_jwk(&text).map_err(|_| ClientError::Corrupt("device key"))?;
            return Ok(SoftwareKeyStore { key });
        }
        let key = SoftwareDeviceKey::generate_p256(&SystemRandom::new())?;
        host.save(DEVICE_KEY, key.to_private_jwk().as_bytes().to_vec()).await.map_err(ClientError::Storage)?;
        Ok(SoftwareKeyStore { key })
    }
}

impl KeyStore for SoftwareKeyStore {
    async fn public_key(&self) -> Result<Jwk, HostError> {
        Ok(self.key.public_key().to_jwk())
    }

    async fn perform(&self, operation: &KeyOperation) -> Result<Zeroizing<Vec<u8>>, HostError> {
        operation.perform(&self.key).map_err(|e| HostError::new(e.to_string()))
    }
}

/// The host's key store if it has one, the core's software key otherwise.
#[derive(Debug)]
pub enum KeyChoice<K> {
    /// The core holds the key.
    Software(SoftwareKeyStore),
    /// The host holds the key.
    Host(K),
}

impl<K: KeyStore> KeyChoice<K> {
    /// `host_store` if given, else the software key from `host`'s storage.
    pub async fn open<H: Host>(host: &H, host_store: Option<K>) -> Result<Self, ClientError> {
        Ok(match host_store {
            Some(k) => KeyChoice::Host(k),
            None => KeyChoice::Software(SoftwareKeyStore::open(host).await?),
        })
    }
}

impl<K: KeyStore> KeyStore for KeyChoice<K> {
    async fn public_key(&self) -> Result<Jwk, HostError> {
        match self {
            KeyChoice::Software(s) => s.public_key().await,
            KeyChoice::Host(h) => h.public_key().await,
        }
    }

    async fn perform(&self, operation: &KeyOperation) -> Result<Zeroizing<Vec<u8>>, HostError> {
        match self {
            KeyChoice::Software(s) => s.perform(operation).await,
            KeyChoice::Host(h) => h.perform(operation).await,
        }
    }
}
