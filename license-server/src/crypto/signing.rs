//! License-signing keys.
//!
//! An Ed25519 key is created on first start; `fount-server keys rotate` adds a newer one.
//! The newest key signs; every key stays in the JWKS, so licenses and tokens signed before a
//! rotation keep verifying. Running servers reload the key set every minute, so a rotation
//! reaches every replica without a restart.

use std::sync::{Arc, RwLock};

use fount_sdk::{Jwks, SigningKey};
use ring::rand::SystemRandom;

use super::kek::{Kek, KekError};
use crate::db::{DbError, Repository, SigningKeyRow};

/// The KEK purpose of sealed signing keys.
const PURPOSE: &str = "signing-key";

/// What can go wrong loading or creating keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A key did not unseal.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// A stored key is not a valid Ed25519 key.
    #[error("stored signing key {0} is not valid")]
    Invalid(String),
}

/// One loaded generation of keys: the signer and the public set.
pub struct KeyRing {
    signer: SigningKey,
    jwks: Jwks,
}

impl KeyRing {
    /// The key that signs.
    pub fn signer(&self) -> &SigningKey {
        &self.signer
    }

    /// Every public key.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// The current [`KeyRing`], swappable while the server runs.
#[derive(Clone)]
pub struct Keys(Arc<RwLock<Arc<KeyRing>>>);

impl Keys {
    /// Loads every key, creating the first if there is none.
    pub async fn load_or_create(repo: &dyn Repository, kek: &Kek, now: i64) -> Result<Self, KeyError> {
        if repo.signing_keys().await?.is_empty() {
            let (row, _) = new_key(repo, kek, now).await?;
            // Another process starting on the same new database may have stored its own
            // first: then that one is the key, for everyone.
            repo.insert_first_signing_key(&row).await?;
        }
        Ok(Keys(Arc::new(RwLock::new(Arc::new(load(repo, kek).await?)))))
    }

    /// The current ring.
    pub fn current(&self) -> Arc<KeyRing> {
        // A poisoned lock only means a reload panicked mid-swap; the Arc inside is intact.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads from the database (after a rotation elsewhere).
    pub async fn reload(&self, repo: &dyn Repository, kek: &Kek) -> Result<(), KeyError> {
        let ring = Arc::new(load(repo, kek).await?);
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = ring;
        Ok(())
    }
}

async fn load(repo: &dyn Repository, kek: &Kek) -> Result<KeyRing, KeyError> {
    let rows = repo.signing_keys().await?;
    let mut jwks = Jwks::default();
    let mut signer = None;
    for row in &rows {
        let der = kek.open(PURPOSE, &row.kid, &row.private_key)?;
        let key = SigningKey::from_pkcs8(&der).map_err(|_| KeyError::Invalid(row.kid.clone()))?;
        if key.kid() != row.kid {
            return Err(KeyError::Invalid(row.kid.clone()));
        }
        jwks.keys.push(key.jwks_key());
        // Rows come newest first: the first is the signer.
        signer.get_or_insert(key);
    }
    let signer = signer.ok_or_else(|| KeyError::Invalid("none".into()))?;
    Ok(KeyRing { signer, jwks })
}

/// Creates a new signing key and stores it sealed; it becomes the signer. Returns its kid.
pub async fn create(repo: &dyn Repository, kek: &Kek, now: i64) -> Result<String, KeyError> {
    let (row, _) = new_key(repo, kek, now).await?;
    repo.insert_signing_key(&row).await?;
    Ok(row.kid)
}

/// A new signing key's row, sealed, newer than any stored; and the key.
async fn new_key(repo: &dyn Repository, kek: &Kek, now: i64) -> Result<(SigningKeyRow, SigningKey), KeyError> {
    let der = SigningKey::generate_pkcs8(&SystemRandom::new()).map_err(|_| KekError::Random)?;
    let key = SigningKey::from_pkcs8(&der).map_err(|_| KeyError::Invalid("new".into()))?;
    let newest = repo.signing_keys().await?.first().map_or(i64::MIN, |r| r.created_at);
    let row = SigningKeyRow {
        kid: key.kid().to_owned(),
        public_jwk: serde_json::to_string(&key.jwks_key()).unwrap_or_default(),
        private_key: kek.seal(PURPOSE, key.kid(), &der)?,
        // Strictly newer than any existing key, even within the same second.
        created_at: now.max(newest.saturating_add(1)),
    };
    Ok((row, key))
}
