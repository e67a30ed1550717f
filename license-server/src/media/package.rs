//! Packaging: from an audio file to a sealed track of a title.
//!
//! The file is probed, then sealed chunk by chunk into the asset store under a fresh name
//! (`<uuid>.fsa`), so a sealed file never changes once written and can be cached forever by
//! any CDN. It is written to a temporary name and renamed into place, so a crash never leaves
//! half a file under a name the database points to. The track row is added last; if that
//! fails, the file is removed.

use std::fs::File;
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};

use fount_sdk::sealed::{DEFAULT_CHUNK_SIZE, Sealer};
use fount_sdk::{ContentKey, KeyId};
use ring::rand::SystemRandom;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::probe::{ProbeError, Probed, probe};
use crate::db::{NewTrack, TitleRow, TrackRow};
use crate::error::{ApiError, problem};
use crate::state::{AppState, now};

/// The KEK purpose of sealed content keys.
pub const CONTENT_KEY_PURPOSE: &str = "content-key";

/// Why packaging failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The file is not usable audio.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Anything else (I/O, keys, database): a server-side failure.
    #[error("{0}")]
    Server(String),
}

impl From<PackageError> for ApiError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::Probe(ProbeError::Io(io)) => ApiError::internal(io),
            PackageError::Probe(p) => ApiError::new(problem::UNSUPPORTED_MEDIA_TYPE, p.to_string()),
            PackageError::Server(s) => ApiError::internal(s),
        }
    }
}

fn server(e: impl std::fmt::Display) -> PackageError {
    PackageError::Server(e.to_string())
}

/// The content key of a title, unsealed.
pub fn content_key(state: &AppState, title: &TitleRow) -> Result<ContentKey, ApiError> {
    let bytes = state.kek.open(CONTENT_KEY_PURPOSE, &title.id, &title.content_key)?;
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| ApiError::internal("content key length"))?;
    let id = KeyId::parse(&title.key_id).map_err(ApiError::internal)?;
    Ok(ContentKey::new(id, Zeroizing::new(key)))
}

/// Seals `source` into `dest`, returning the sealed length and its SHA-256 (hex).
fn seal_file(key: &ContentKey, source: &Path, dest: &Path) -> Result<(u64, String), PackageError> {
    let len = std::fs::metadata(source).map_err(server)?.len();
    let mut sealer = Sealer::new(key, DEFAULT_CHUNK_SIZE, len, &SystemRandom::new()).map_err(server)?;
    let mut input = File::open(source).map_err(server)?;
    let tmp = dest.with_extension("partial");
    let mut out = BufWriter::new(File::create(&tmp).map_err(server)?);
    let mut hash = Sha256::new();
    let mut written = 0u64;
    let mut emit = |bytes: &[u8], out: &mut BufWriter<File>| -> Result<(), PackageError> {
        hash.update(bytes);
        written = written.saturating_add(bytes.len() as u64);
        out.write_all(bytes).map_err(server)
    };
    emit(sealer.header().as_bytes(), &mut out)?;
    let mut buf = vec![0u8; DEFAULT_CHUNK_SIZE as usize];
    let mut remaining = len;
    while !sealer.is_finished() {
        let n = remaining.min(u64::from(DEFAULT_CHUNK_SIZE)) as usize;
        input.read_exact(&mut buf[..n]).map_err(server)?;
        remaining = remaining.saturating_sub(n as u64);
        let sealed = sealer.seal_chunk(&buf[..n]).map_err(server)?;
        emit(&sealed, &mut out)?;
    }
    out.into_inner().map_err(server)?.sync_all().map_err(server)?;
    std::fs::rename(&tmp, dest).map_err(server)?;
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((written, hex))
}

/// A track added, and what its file held that could not be used.
#[derive(Debug)]
pub struct Packaged {
    /// The new track.
    pub track: TrackRow,
    /// For the uploader (see [`Probed::warnings`]).
    pub warnings: Vec<String>,
}

/// Probes and seals `source`, then appends it to `title`; keeps the file's cover art if the
/// title has no cover yet. `name` overrides the track name; `hint` is a file extension or
/// media type to help the probe.
pub async fn add_track(
    state: &AppState,
    title: &TitleRow,
    source: PathBuf,
    name: Option<String>,
    hint: Option<String>,
) -> Result<Packaged, ApiError> {
    let key = content_key(state, title)?;
    let file = format!("{}.fsa", uuid::Uuid::new_v4());
    let dest = state.asset_path(&file).ok_or_else(|| ApiError::internal("asset name"))?;
    let src = source.clone();
    let dest_for_seal = dest.clone();
    let (probed, sealed_len, sha256): (Probed, u64, String) = actix_web::rt::task::spawn_blocking(move || {
        let probed = probe(&src, hint.as_deref())?;
        let (len, sha) = seal_file(&key, &src, &dest_for_seal)?;
        Ok::<_, PackageError>((probed, len, sha))
    })
    .await
    .map_err(ApiError::internal)??;
    let original_length = std::fs::metadata(&source).map_err(ApiError::internal)?.len();
    let existing = state.repo.tracks(&title.id).await?.len();
    let track = NewTrack {
        name: name.or(probed.title.clone()).unwrap_or_else(|| format!("Track {}", existing.saturating_add(1))),
        media_type: probed.media_type.to_owned(),
        duration: probed.duration,
        original_length: i64::try_from(original_length).map_err(ApiError::internal)?,
        sealed_length: i64::try_from(sealed_len).map_err(ApiError::internal)?,
        file,
        sha256,
        chapters: serde_json::to_string(&probed.chapters).map_err(ApiError::internal)?,
    };
    let row = match state.repo.append_track(&title.id, &track, now()).await {
        Ok(row) => row,
        Err(e) => {
            let _ = std::fs::remove_file(&dest);
            return Err(e.into());
        }
    };
    if let Some(cover) = probed.cover
        && title.cover_file.is_none()
    {
        keep_cover(state, title, &cover).await?;
    }
    Ok(Packaged { track: row, warnings: probed.warnings })
}

/// Stores cover art read from a file as the title's, unless it got one meanwhile. Covers are
/// public, like the manifest that links them.
async fn keep_cover(state: &AppState, title: &TitleRow, cover: &super::probe::Cover) -> Result<(), ApiError> {
    let ext = cover.media_type.rsplit('/').next().unwrap_or("img");
    let file = format!("{}.{ext}", uuid::Uuid::new_v4());
    let path = state.asset_path(&file).ok_or_else(|| ApiError::internal("asset name"))?;
    tokio::fs::write(&path, &cover.data).await.map_err(ApiError::internal)?;
    if !state.repo.set_title_cover(&title.id, &file, cover.media_type, now()).await? {
        let _ = tokio::fs::remove_file(&path).await;
    }
    Ok(())
}
