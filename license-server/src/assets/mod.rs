//! Where files live: a local folder, or a bucket of any S3-compatible object store.
//!
//! Two stores, each either kind ([`Location`]):
//!
//! * **assets** (`FOUNT_ASSETS`): sealed tracks, covers and transcripts. Public by design: a
//!   sealed file is noise without a license, covers and transcripts are linked from public
//!   manifests. Names are server-made (a UUID and an extension) and never reused, so every
//!   file is immutable once written and any CDN may cache it forever; with
//!   `FOUNT_ASSETS_PUBLIC_URL` manifests point at that CDN instead of this server.
//! * **uploads** (`FOUNT_UPLOADS`): files waiting for a worker to package them. They are the
//!   plain audio, so they must never be public: a separate location, never inside the assets'
//!   prefix. Workers on other machines than the server that took the upload need it in a
//!   bucket they share.
//!
//! ## Guarantees
//!
//! * A name is present whole or not at all. A folder writes to a hidden name and renames; a
//!   bucket completes a multipart upload (parts of [`PART_SIZE`]) or a single `PUT`, both
//!   atomic in S3.
//! * Files are written once, before the database row that names them. A crash between the
//!   two leaves an unreferenced file, never a row naming a missing one.
//! * Nothing here ever logs or returns credentials: bucket errors are reduced to their kind
//!   and the object's name ([`AssetError`]).
//!
//! Bucket settings are S3's own environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …), read by
//! [`object_store`], which does the S3 protocol.

mod bucket;
pub mod conditional;
mod folder;

use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::stream::BoxStream;

/// The size of one part of a multipart upload: S3's smallest is 5 MiB; fewer, larger parts
/// mean fewer requests for long tracks.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Where a store keeps its files, as `FOUNT_ASSETS` and `FOUNT_UPLOADS` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local folder (a path, or a `file://` URL).
    Folder(PathBuf),
    /// `s3://bucket/prefix`: the bucket's objects under `prefix/`.
    Bucket {
        /// The bucket's name.
        bucket: String,
        /// The objects' common prefix, without slashes at either end; may be empty.
        prefix: String,
    },
}

impl Location {
    /// Parses a folder path, a `file://` URL or `s3://bucket[/prefix]`.
    pub fn parse(value: &str) -> Result<Self, String> {
        if let Some(path) = value.strip_prefix("file://") {
            return Ok(Location::Folder(PathBuf::from(path)));
        }
        let Some(rest) = value.strip_prefix("s3://") else {
            if value.contains("://") {
                return Err(format!("{value}: give a folder or s3://bucket/prefix (other object stores speak S3 too)"));
            }
            if value.is_empty() {
                return Err("an empty location: give a folder or s3://bucket/prefix".into());
            }
            return Ok(Location::Folder(PathBuf::from(value)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's rules for bucket names (3 to 63 of a-z, 0-9, '.', '-'), checked here so a typo
        // is reported at start rather than as a failed request later.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_bucket {
            return Err(format!("{bucket:?} is not an S3 bucket name (3 to 63 of a-z, 0-9, '.', '-')"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p.is_empty() || p == "." || p == "..") && !prefix.is_empty() {
            return Err(format!("{prefix:?} is not a usable prefix (empty, '.' or '..' segments)"));
        }
        Ok(Location::Bucket { bucket: bucket.to_owned(), prefix: prefix.to_owned() })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Folder(path) => write!(f, "{}", path.display()),
            Location::Bucket { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::Bucket { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// No file has this name.
    #[error("no such file: {0}")]
    NotFound(String),
    /// The name is not one the server makes (see [`valid_name`]).
    #[error("not a file name the server makes: {0:?}")]
    BadName(String),
    /// The local disk failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The object store failed or refused. The message names the operation and the object,
    /// never a credential.
    #[error("object store: {0}")]
    Bucket(String),
    /// The bucket's settings are unusable (at start).
    #[error("object store settings: {0}")]
    Settings(String),
}

/// Whether `name` is a name the server makes: letters, digits, '-' and '.', not starting
/// with '.', so no request can leave a store or reach a file being written.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.starts_with('.')
}

fn checked(name: &str) -> Result<&str, AssetError> {
    if valid_name(name) { Ok(name) } else { Err(AssetError::BadName(name.to_owned())) }
}

/// Bytes of a file, as they arrive.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// A file on the local disk with a store's bytes: the stored file itself for a folder, a
/// downloaded copy (removed when this is dropped) for a bucket.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A store of files (see the module's documentation).
#[derive(Debug)]
pub struct Assets {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Folder(folder::Folder),
    Bucket(bucket::Bucket),
}

impl Assets {
    /// Opens `location`; `scratch` is a local folder for files on their way to or from a
    /// bucket (unused by a folder store, which stages in itself so the final rename stays on
    /// one file system). Creates folders as needed; does not reach a bucket.
    pub fn open(location: &Location, scratch: &Path) -> Result<Self, AssetError> {
        let backend = match location {
            Location::Folder(dir) => Backend::Folder(folder::Folder::open(dir)?),
            Location::Bucket { bucket, prefix } => Backend::Bucket(bucket::Bucket::open(bucket, prefix, scratch)?),
        };
        Ok(Assets { backend })
    }

    /// Where to write a file that [`Assets::keep`] will then store as `name`.
    pub fn staging_path(&self, name: &str) -> Result<PathBuf, AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => Ok(f.staging_path(name)),
            Backend::Bucket(b) => b.staging_path(name),
        }
    }

    /// Stores the file at `staged` as `name`, and removes `staged` (a rename for a folder).
    pub async fn keep(&self, name: &str, staged: &Path) -> Result<(), AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.keep(name, staged).await,
            Backend::Bucket(b) => b.keep(name, staged).await,
        }
    }

    /// Stores small bytes (a cover, a transcript) as `name`.
    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<(), AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.put(name, bytes).await,
            Backend::Bucket(b) => b.put(name, bytes).await,
        }
    }

    /// The whole of a small file.
    pub async fn read(&self, name: &str) -> Result<Bytes, AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.read(name).await,
            Backend::Bucket(b) => b.read(name).await,
        }
    }

    /// Bytes `range` of a file, which the caller knows to be within it.
    pub async fn range(&self, name: &str, range: Range<u64>) -> Result<ByteStream, AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.range(name, range).await,
            Backend::Bucket(b) => b.range(name, range).await,
        }
    }

    /// The file as a local file, for code that reads files (the probe).
    pub async fn local_copy(&self, name: &str) -> Result<LocalCopy, AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.local_copy(name),
            Backend::Bucket(b) => b.local_copy(name).await,
        }
    }

    /// Removes a file; one already gone is not an error.
    pub async fn remove(&self, name: &str) -> Result<(), AssetError> {
        let name = checked(name)?;
        match &self.backend {
            Backend::Folder(f) => f.remove(name).await,
            Backend::Bucket(b) => b.remove(name).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(Location::parse("data/assets"), Ok(Location::Folder("data/assets".into())));
        assert_eq!(Location::parse("file:///srv/fount"), Ok(Location::Folder("/srv/fount".into())));
        assert_eq!(
            Location::parse("s3://fount-media/sealed/"),
            Ok(Location::Bucket { bucket: "fount-media".into(), prefix: "sealed".into() })
        );
        assert_eq!(
            Location::parse("s3://fount"),
            Ok(Location::Bucket { bucket: "fount".into(), prefix: String::new() })
        );
        assert_eq!(Location::parse("s3://fount/a/b").map(|l| l.to_string()), Ok("s3://fount/a/b".into()));
        assert!(Location::parse("s3://Fount_Media/x").unwrap_err().contains("not an S3 bucket name"));
        assert!(Location::parse("s3://fount/a/../b").unwrap_err().contains("not a usable prefix"));
        assert!(Location::parse("gs://fount").unwrap_err().contains("s3://bucket/prefix"));
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn only_server_made_names() {
        assert!(valid_name("0b7c-1.fsa"));
        for bad in ["", ".hidden", "../x", "a/b", "a b", "ä"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
