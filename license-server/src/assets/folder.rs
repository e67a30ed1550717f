//! A store in a local folder.

use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::{AssetError, ByteStream, LocalCopy};

/// Ranges up to this size are read with one `pread` on one blocking thread, and sent as one
/// buffer: a player's requests (a few chunks) cost one system call, not dozens of small
/// reads each on a blocking thread.
const ONE_READ: u64 = 4 * 1024 * 1024;

/// The buffer of each read of a larger range.
const STREAM_BUFFER: usize = 1024 * 1024;

#[derive(Debug)]
pub(super) struct Folder {
    dir: PathBuf,
}

fn not_found(name: &str) -> impl FnOnce(std::io::Error) -> AssetError + '_ {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound { AssetError::NotFound(name.to_owned()) } else { AssetError::Io(e) }
    }
}

impl Folder {
    pub(super) fn open(dir: &Path) -> Result<Self, AssetError> {
        std::fs::create_dir_all(dir)?;
        Ok(Folder { dir: dir.to_owned() })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A hidden name in the same folder: never served ([`super::valid_name`] refuses names
    /// starting with '.'), and renamed into place on the same file system.
    pub(super) fn staging_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.partial"))
    }

    pub(super) async fn keep(&self, name: &str, staged: &Path) -> Result<(), AssetError> {
        let target = self.path(name);
        if staged == target {
            return Ok(());
        }
        match tokio::fs::rename(staged, &target).await {
            Ok(()) => Ok(()),
            // Staged on another file system (an upload kept from a request's temporary file):
            // copied to a hidden name first, so the name appears whole.
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                let hidden = self.staging_path(name);
                tokio::fs::copy(staged, &hidden).await?;
                tokio::fs::rename(&hidden, &target).await?;
                let _ = tokio::fs::remove_file(staged).await;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn put(&self, name: &str, bytes: Bytes) -> Result<(), AssetError> {
        let hidden = self.staging_path(name);
        tokio::fs::write(&hidden, &bytes).await?;
        tokio::fs::rename(&hidden, self.path(name)).await?;
        Ok(())
    }

    pub(super) async fn read(&self, name: &str) -> Result<Bytes, AssetError> {
        tokio::fs::read(self.path(name)).await.map(Bytes::from).map_err(not_found(name))
    }

    pub(super) async fn range(&self, name: &str, range: Range<u64>) -> Result<ByteStream, AssetError> {
        let path = self.path(name);
        let length = range.end.saturating_sub(range.start);
        if length <= ONE_READ {
            let bytes = tokio::task::spawn_blocking(move || read_at(&path, range.start, length))
                .await
                .map_err(|e| AssetError::Io(std::io::Error::other(e)))?
                .map_err(not_found(name))?;
            return Ok(futures_util::stream::once(async move { Ok(bytes) }).boxed());
        }
        let mut file = tokio::fs::File::open(&path).await.map_err(not_found(name))?;
        file.seek(std::io::SeekFrom::Start(range.start)).await?;
        Ok(tokio_util::io::ReaderStream::with_capacity(file.take(length), STREAM_BUFFER).boxed())
    }

    pub(super) fn local_copy(&self, name: &str) -> Result<LocalCopy, AssetError> {
        let path = self.path(name);
        if !path.is_file() {
            return Err(AssetError::NotFound(name.to_owned()));
        }
        Ok(LocalCopy { path, temporary: false })
    }

    pub(super) async fn remove(&self, name: &str) -> Result<(), AssetError> {
        match tokio::fs::remove_file(self.path(name)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// `length` bytes of `path` from `offset`, in one positioned read (or as few as the kernel
/// needs).
fn read_at(path: &Path, offset: u64, length: u64) -> std::io::Result<Bytes> {
    use std::os::unix::fs::FileExt as _;
    let file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; usize::try_from(length).map_err(std::io::Error::other)?];
    file.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}
