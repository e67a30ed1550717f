//! A store in a bucket of an S3-compatible object store, through [`object_store`].

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{AssetError, ByteStream, LocalCopy, PART_SIZE};

/// Parts uploaded at once: two keep the link busy while the next part is read from disk,
/// with at most three parts (24 MiB) in memory.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug)]
pub(super) struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    scratch: PathBuf,
}

fn failed<'a>(op: &'static str, name: &'a str) -> impl FnOnce(object_store::Error) -> AssetError + 'a {
    move |e| match e {
        object_store::Error::NotFound { .. } => AssetError::NotFound(name.to_owned()),
        e => AssetError::Bucket(format!("{op} {name}: {e}")),
    }
}

impl Bucket {
    pub(super) fn open(bucket: &str, prefix: &str, scratch: &Path) -> Result<Self, AssetError> {
        // reqwest is built without a default TLS provider (the server picks ring everywhere);
        // object_store builds its own client, which needs one installed for the process. An
        // error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            // Through the config keys, not `with_client_options`, which would replace what the
            // environment set (AWS_ALLOW_HTTP among them).
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "5s")
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "60s")
            // A request that serves a listener must fail in seconds, not after object_store's
            // default of three minutes of retries.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| AssetError::Settings(e.to_string()))?;
        std::fs::create_dir_all(scratch)?;
        Ok(Bucket { store: Arc::new(store), prefix: prefix.to_owned(), scratch: scratch.to_owned() })
    }

    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    pub(super) fn staging_path(&self, name: &str) -> Result<PathBuf, AssetError> {
        Ok(self.scratch.join(format!("{}-{name}", uuid::Uuid::new_v4())))
    }

    /// Uploads `staged` in parts of [`PART_SIZE`] (one `PUT` when it is smaller than a part),
    /// then removes it. A failed upload is aborted, so the bucket keeps no orphan parts.
    pub(super) async fn keep(&self, name: &str, staged: &Path) -> Result<(), AssetError> {
        let mut file = tokio::fs::File::open(staged).await?;
        let length = file.metadata().await?.len();
        let key = self.key(name);
        if length < PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
            file.read_to_end(&mut bytes).await?;
            self.store.put(&key, PutPayload::from(bytes)).await.map_err(failed("upload", name))?;
        } else {
            let upload = self.store.put_multipart(&key).await.map_err(failed("start the upload of", name))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buf = vec![0u8; PART_SIZE];
            let sent: Result<(), AssetError> = async {
                loop {
                    let n = read_full(&mut file, &mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(failed("upload a part of", name))?;
                    writer.write(&buf[..n]);
                }
                Ok(())
            }
            .await;
            if let Err(e) = sent {
                let _ = writer.abort().await;
                return Err(e);
            }
            writer.finish().await.map_err(failed("complete the upload of", name))?;
        }
        let _ = tokio::fs::remove_file(staged).await;
        Ok(())
    }

    pub(super) async fn put(&self, name: &str, bytes: Bytes) -> Result<(), AssetError> {
        self.store.put(&self.key(name), PutPayload::from(bytes)).await.map_err(failed("upload", name))?;
        Ok(())
    }

    pub(super) async fn read(&self, name: &str) -> Result<Bytes, AssetError> {
        let got = self.store.get(&self.key(name)).await.map_err(failed("read", name))?;
        got.bytes().await.map_err(failed("read", name))
    }

    pub(super) async fn range(&self, name: &str, range: Range<u64>) -> Result<ByteStream, AssetError> {
        if range.start >= range.end {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions { range: Some(GetRange::Bounded(range)), ..GetOptions::default() };
        let got = self.store.get_opts(&self.key(name), options).await.map_err(failed("read", name))?;
        let owned = name.to_owned();
        Ok(got
            .into_stream()
            .map_err(move |e| std::io::Error::other(format!("object store: read {owned}: {e}")))
            .boxed())
    }

    pub(super) async fn local_copy(&self, name: &str) -> Result<LocalCopy, AssetError> {
        let got = self.store.get(&self.key(name)).await.map_err(failed("read", name))?;
        let copy = LocalCopy { path: self.staging_path(name)?, temporary: true };
        let mut out = tokio::fs::File::create(copy.path()).await?;
        let mut stream = got.into_stream();
        while let Some(part) = stream.next().await {
            out.write_all(&part.map_err(failed("read", name))?).await?;
        }
        out.flush().await?;
        Ok(copy)
    }

    pub(super) async fn remove(&self, name: &str) -> Result<(), AssetError> {
        match self.store.delete(&self.key(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("remove", name)(e)),
        }
    }
}

/// Fills `buf` from `file` unless the file ends first; the bytes read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled = filled.saturating_add(n);
    }
    Ok(filled)
}
