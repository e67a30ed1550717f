//! The key-encryption key (KEK): every signing key and content key is sealed under it before
//! it reaches the database, so a stolen database alone yields no key.
//!
//! The KEK never sits in the database. It comes from `FOUNT_MASTER_KEY` (32 bytes,
//! base64url), or else from `master.key` in the data folder, created with mode 0600 by the
//! first `serve`, `demo` or `init` on a database that has no keys yet (never before the
//! database has answered, and never over an existing file). Operators running several
//! replicas set `FOUNT_MASTER_KEY` the same on each.
//!
//! A sealed blob is `0x01 || nonce (12) || AES-256-GCM(ciphertext || tag)`, with additional
//! data `"fount-kek-v1" || 0x00 || purpose || 0x00 || row id`: a blob copied into another
//! row, or used for another purpose, does not open.

use std::io::Write as _;
use std::path::Path;

use fount_sdk::encoding::{b64, unb64};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// File name of the KEK in the data folder.
pub const KEY_FILE: &str = "master.key";
const VERSION: u8 = 1;

/// What can go wrong with the KEK.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The configured key is not 32 bytes of base64url.
    #[error("the master key must be 32 bytes, base64url-encoded")]
    BadKey,
    /// The key file could not be read or created.
    #[error("master key file: {0}")]
    Io(#[from] std::io::Error),
    /// A sealed blob did not open: wrong KEK, or the blob was altered or moved.
    #[error("a sealed secret did not open: wrong master key, or altered data")]
    Open,
    /// The system RNG failed.
    #[error("random number generator failed")]
    Random,
}

/// The key-encryption key.
pub struct Kek {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl core::fmt::Debug for Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// From a base64url string of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        let bytes = Zeroizing::new(unb64(text.trim(), "master key").map_err(|_| KekError::BadKey)?);
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KekError::BadKey)?;
        Ok(Kek { key: LessSafeKey::new(key), rng: SystemRandom::new() })
    }

    /// The configured key if there is one, else the key file in `data_dir`; `None` if
    /// neither exists.
    pub fn find(configured: Option<&str>, data_dir: &Path) -> Result<Option<Self>, KekError> {
        if let Some(text) = configured {
            return Self::from_base64(text).map(Some);
        }
        match std::fs::read_to_string(data_dir.join(KEY_FILE)) {
            Ok(text) => Self::from_base64(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes a new key and writes it to the key file in `data_dir`, which must not exist yet.
    pub fn create(data_dir: &Path) -> Result<Self, KekError> {
        let path = data_dir.join(KEY_FILE);
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new().fill(bytes.as_mut()).map_err(|_| KekError::Random)?;
        let text = Zeroizing::new(b64(bytes.as_ref()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        tracing::info!(path = %path.display(), "created a new master key file; back it up: without it the database's keys cannot be opened");
        Self::from_base64(&text)
    }

    fn aad(purpose: &str, id: &str) -> Vec<u8> {
        [b"fount-kek-v1".as_slice(), &[0], purpose.as_bytes(), &[0], id.as_bytes()].concat()
    }

    /// Seals `secret` for row `id` of kind `purpose`.
    pub fn seal(&self, purpose: &str, id: &str, secret: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| KekError::Random)?;
        let mut body = secret.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(purpose, id)), &mut body)
            .map_err(|_| KekError::Random)?;
        Ok([&[VERSION][..], &nonce, &body].concat())
    }

    /// Opens a blob sealed by [`Kek::seal`] with the same purpose and id.
    pub fn open(&self, purpose: &str, id: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        let (version, rest) = blob.split_first().ok_or(KekError::Open)?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(KekError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Open)?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(Self::aad(purpose, id)), &mut body)
            .map_err(|_| KekError::Open)?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_binding() {
        let kek = Kek::from_base64(&b64([7u8; 32])).unwrap();
        let blob = kek.seal("content-key", "t1", b"secret").unwrap();
        assert_eq!(kek.open("content-key", "t1", &blob).unwrap().as_slice(), b"secret");
        assert!(kek.open("content-key", "t2", &blob).is_err());
        assert!(kek.open("signing-key", "t1", &blob).is_err());
        let other = Kek::from_base64(&b64([8u8; 32])).unwrap();
        assert!(other.open("content-key", "t1", &blob).is_err());
        assert!(kek.open("content-key", "t1", &[]).is_err());
        assert!(Kek::from_base64("short").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("fount-kek-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Kek::find(None, &dir).unwrap().is_none());
        let a = Kek::create(&dir).unwrap();
        let blob = a.seal("p", "i", b"x").unwrap();
        let b = Kek::find(None, &dir).unwrap().unwrap();
        assert_eq!(b.open("p", "i", &blob).unwrap().as_slice(), b"x");
        // Never overwritten.
        assert!(Kek::create(&dir).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
