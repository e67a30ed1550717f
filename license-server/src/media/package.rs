//! Packaging: from an audio file to a sealed track of a title.
//!
//! The file is probed, then sealed chunk by chunk into a staging file, which the asset store
//! ([`crate::assets`]) then keeps under a fresh name, whole or not at all (a rename in a
//! folder, a multipart upload to a bucket); so a sealed file never changes once written, can
//! be cached forever by any CDN, and is never half there under a name the database points to.
//!
//! An upload through the API is packaged by a worker ([`queue_upload`], then [`run_job`]): the
//! file is kept in the uploads store (`FOUNT_UPLOADS`), the track is added as `processing` with its
//! `track.package` job in one transaction, and the answer is `202`. The worker seals into a
//! name of its own attempt (`<track>-<attempt>.fsa`) and publishes the track in the
//! transaction that completes the job, fenced by its lease: should a stalled worker and its
//! successor both seal, only the current one's file is published, and the other removes its
//! own. The command line (`package`) and the demo seal at once instead ([`add_track`]).

use std::fs::File;
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};

use fount_sdk::sealed::{DEFAULT_CHUNK_SIZE, Sealer};
use fount_sdk::{ContentKey, KeyId};
use ring::rand::SystemRandom;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::probe::{Cover, FileChapter, ProbeError, Probed, probe, sniff};
use crate::db::{Fenced, FileCover, JobRow, Lease, NewTrack, PackagedTrack, TitleRow, TrackRow, Transcript};
use crate::error::{ApiError, problem};
use crate::events::Audit;
use crate::queue::{JobKind, Outcome, now_ms};
use crate::state::AppState;

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

/// Seals `source` into the staging file `dest`, returning the sealed length and its SHA-256
/// (hex).
fn seal_file(key: &ContentKey, source: &Path, dest: &Path) -> Result<(u64, String), PackageError> {
    let len = std::fs::metadata(source).map_err(server)?.len();
    let mut sealer = Sealer::new(key, DEFAULT_CHUNK_SIZE, len, &SystemRandom::new()).map_err(server)?;
    let mut input = File::open(source).map_err(server)?;
    let mut out = BufWriter::new(File::create(dest).map_err(server)?);
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
    audit: &Audit,
) -> Result<Packaged, ApiError> {
    let key = content_key(state, title)?;
    let file = format!("{}.fsa", uuid::Uuid::new_v4());
    let staged = state.assets.staging_path(&file).map_err(ApiError::internal)?;
    let audit = audit.clone();
    let src = source.clone();
    let dest_for_seal = staged.clone();
    let sealed = actix_web::rt::task::spawn_blocking(move || {
        let probed = probe(&src, hint.as_deref())?;
        let (len, sha) = seal_file(&key, &src, &dest_for_seal)?;
        Ok::<_, PackageError>((probed, len, sha))
    })
    .await;
    let kept = match sealed {
        Ok(Ok(done)) => state.assets.keep(&file, &staged).await.map(|()| done).map_err(ApiError::internal),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(ApiError::internal(e)),
    };
    let (probed, sealed_len, sha256): (Probed, u64, String) = match kept {
        Ok(done) => done,
        Err(e) => {
            let _ = tokio::fs::remove_file(&staged).await;
            return Err(e);
        }
    };
    let original_length = std::fs::metadata(&source).map_err(ApiError::internal)?.len();
    let existing = state.repo.tracks(&title.id).await?.len();
    let mut warnings = probed.warnings.clone();
    let cover = stage_cover(state, title, probed.cover.as_ref(), &mut warnings).await;
    let track = NewTrack {
        name: name.or(probed.title.clone()).unwrap_or_else(|| format!("Track {}", existing.saturating_add(1))),
        media_type: probed.media_type.to_owned(),
        duration: probed.duration,
        original_length: i64::try_from(original_length).map_err(ApiError::internal)?,
        sealed_length: i64::try_from(sealed_len).map_err(ApiError::internal)?,
        file: file.clone(),
        sha256,
        chapters: serde_json::to_string(&probed.chapters).map_err(ApiError::internal)?,
        status: "published".into(),
        job_id: None,
        feed_item: None,
        transcripts: "[]".into(),
        cover: cover.clone(),
    };
    let row = match state.repo.append_track(&title.id, &track, None, &audit, now_ms()).await {
        Ok(row) => row,
        Err(e) => {
            let _ = state.assets.remove(&file).await;
            drop_cover(state, cover).await;
            return Err(e.into());
        }
    };
    settle_cover(state, &title.id, cover).await;
    Ok(Packaged { track: row, warnings })
}

/// An upload queued for packaging: the track (`processing`) and the job to follow.
#[derive(Debug)]
pub struct Queued {
    /// The track.
    pub track: TrackRow,
    /// Its `track.package` job.
    pub job: JobRow,
}

/// What a `track.package` job is given.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PackageJob {
    title: String,
    /// The track's file name while it is processing (its identity until it is published).
    file: String,
    /// The upload's name in the uploads store.
    upload: String,
    name: Option<String>,
    hint: Option<String>,
    /// Chapters that replace the file's own (a feed's `podcast:chapters`).
    #[serde(default)]
    chapters: Option<Vec<FileChapter>>,
}

/// What comes with an upload besides its bytes.
#[derive(Debug, Default)]
pub struct UploadMeta {
    /// The track's name; else the file's own title, else "Track n".
    pub name: Option<String>,
    /// A file extension or media type to help the probe.
    pub hint: Option<String>,
    /// The feed item it imports (see [`NewTrack::feed_item`]).
    pub feed_item: Option<(String, String)>,
    /// Chapters that replace the ones the file holds.
    pub chapters: Option<Vec<FileChapter>>,
    /// Transcripts already kept in the assets folder.
    pub transcripts: Vec<Transcript>,
}

/// Checks that `source` looks like audio (its first bytes only), moves it to the uploads
/// store (where any worker can read it), and
/// adds a processing track with the job that will package it, in one transaction (with the
/// feed item it imports, if any: see [`NewTrack::feed_item`]). A file that is clearly not
/// audio is refused at once (415); one damaged further in fails later, with a `track.failed`
/// event.
pub async fn queue_upload(
    state: &AppState,
    title: &TitleRow,
    source: &Path,
    meta: UploadMeta,
    audit: &Audit,
) -> Result<Queued, ApiError> {
    let UploadMeta { name, hint, feed_item, chapters, transcripts } = meta;
    let src = source.to_owned();
    let h = hint.clone();
    let media_type = actix_web::rt::task::spawn_blocking(move || sniff(&src, h.as_deref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(PackageError::from)?;
    let id = uuid::Uuid::new_v4();
    let upload = format!("{id}.upload");
    let original_length = tokio::fs::metadata(source).await.map_err(ApiError::internal)?.len();
    state.uploads.keep(&upload, source).await.map_err(ApiError::internal)?;
    let file = format!("{id}.fsa");
    let existing = state.repo.tracks(&title.id).await?.len();
    let payload = PackageJob {
        title: title.id.clone(),
        file: file.clone(),
        upload: upload.clone(),
        name: name.clone(),
        hint,
        chapters,
    };
    let job = JobKind::TrackPackage.job(
        serde_json::to_value(&payload).map_err(ApiError::internal)?,
        Some(&title.store_id),
        now_ms(),
    );
    let track = NewTrack {
        name: name.unwrap_or_else(|| format!("Track {}", existing.saturating_add(1))),
        media_type: media_type.to_owned(),
        duration: 0.0,
        original_length: i64::try_from(original_length).map_err(ApiError::internal)?,
        sealed_length: 0,
        file,
        sha256: String::new(),
        chapters: "[]".into(),
        status: "processing".into(),
        job_id: Some(job.id.clone()),
        feed_item,
        transcripts: serde_json::to_string(&transcripts).map_err(ApiError::internal)?,
        cover: None,
    };
    let row = match state.repo.append_track(&title.id, &track, Some(&job), audit, now_ms()).await {
        Ok(row) => row,
        Err(e) => {
            let _ = state.uploads.remove(&upload).await;
            return Err(e.into());
        }
    };
    let job = state.repo.job(&job.id).await?.ok_or_else(|| ApiError::internal("the job just queued is gone"))?;
    Ok(Queued { track: row, job })
}

/// `track.package`: probes and seals an upload, then publishes its track, or marks it failed
/// when the file is not usable audio (or after the last attempt).
pub async fn run_job(state: &AppState, job: &JobRow, lease: &Lease) -> Outcome {
    let p: PackageJob = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let upload = p.upload.as_str();
    if !crate::assets::valid_name(upload) {
        return Outcome::Fatal("bad payload: upload name".into());
    }
    let audit = state.audit("system");
    let title = match state.repo.title(&p.title).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            // The title was deleted, and its tracks with it.
            let _ = state.uploads.remove(upload).await;
            return Outcome::Done;
        }
        Err(e) => return Outcome::retry(e),
    };
    let key = match content_key(state, &title) {
        Ok(k) => k,
        Err(e) => return Outcome::retry(e),
    };
    let stem = p.file.trim_end_matches(".fsa");
    let file = format!("{stem}-{}.fsa", lease.attempt);
    let Ok(staged) = state.assets.staging_path(&file) else { return Outcome::Fatal("bad payload: file name".into()) };
    let (title_id, track_file, audit_ref) = (&p.title, &p.file, &audit);
    let fail = |error: String| async move {
        match state.repo.fail_track(title_id, track_file, &error, lease, audit_ref, now_ms()).await {
            Ok(Fenced::Done(_)) => {
                let _ = state.uploads.remove(upload).await;
                Outcome::Handled
            }
            Ok(Fenced::Lost) => Outcome::Handled,
            Err(e) => Outcome::retry(e),
        }
    };
    // The upload as a local file: the probe reads files (from a bucket, a copy removed when
    // packaging ends).
    let local = match state.uploads.local_copy(upload).await {
        Ok(local) => local,
        Err(e) if lease.attempt >= job.max_attempts => return fail(format!("could not be packaged: {e}")).await,
        Err(e) => return Outcome::retry(e),
    };
    let (src, out, hint) = (local.path().to_owned(), staged.clone(), p.hint.clone());
    let (title_ref, file_ref) = (p.title.clone(), p.file.clone());
    let sealed = actix_web::rt::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let probed = probe(&src, hint.as_deref())?;
        let probed_at = started.elapsed();
        let (len, sha) = seal_file(&key, &src, &out)?;
        // The probe's and the seal's shares of packaging, for the feed import benchmark.
        tracing::info!(title = %title_ref, track = %file_ref, bytes = len, probe_us = u64::try_from(probed_at.as_micros()).unwrap_or(u64::MAX),
            seal_us = u64::try_from(started.elapsed().saturating_sub(probed_at).as_micros()).unwrap_or(u64::MAX), "track packaged");
        let original = std::fs::metadata(&src).map_err(server)?.len();
        Ok::<_, PackageError>((probed, len, sha, original))
    })
    .await;
    drop(local);
    let sealed = match sealed {
        Ok(Ok(done)) => match state.assets.keep(&file, &staged).await {
            Ok(()) => Ok(Ok(done)),
            Err(e) => Ok(Err(PackageError::Server(e.to_string()))),
        },
        other => other,
    };
    let (probed, sealed_len, sha256, original) = match sealed {
        Ok(Ok(done)) => done,
        Ok(Err(PackageError::Probe(e @ (ProbeError::Unsupported(_) | ProbeError::Damaged(_))))) => {
            let _ = tokio::fs::remove_file(&staged).await;
            return fail(e.to_string()).await;
        }
        other => {
            let _ = tokio::fs::remove_file(&staged).await;
            let error = match other {
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
                Ok(Ok(_)) => String::new(),
            };
            if lease.attempt >= job.max_attempts {
                return fail(format!("could not be packaged: {error}")).await;
            }
            return Outcome::retry(error);
        }
    };
    // The feed's chapters, where it gave some, within the audio as measured.
    let chapters = match &p.chapters {
        Some(given) => given.iter().filter(|c| c.offset < probed.duration).cloned().collect(),
        None => probed.chapters.clone(),
    };
    let chapters = serde_json::to_string(&chapters).unwrap_or_else(|_| "[]".into());
    let mut warnings = probed.warnings.clone();
    let cover = stage_cover(state, &title, probed.cover.as_ref(), &mut warnings).await;
    let packaged = PackagedTrack {
        file: file.clone(),
        warnings,
        name: p.name.clone().or(probed.title.clone()),
        media_type: probed.media_type.to_owned(),
        duration: probed.duration,
        original_length: i64::try_from(original).unwrap_or(i64::MAX),
        sealed_length: i64::try_from(sealed_len).unwrap_or(i64::MAX),
        sha256,
        chapters,
        cover: cover.clone(),
    };
    match state.repo.publish_track(&p.title, &p.file, &packaged, lease, &audit, now_ms()).await {
        Ok(Fenced::Done(Some(_))) => {
            let _ = state.uploads.remove(upload).await;
            settle_cover(state, &title.id, cover).await;
            Outcome::Handled
        }
        // The track was deleted while it was processing.
        Ok(Fenced::Done(None)) => {
            let _ = state.assets.remove(&file).await;
            let _ = state.uploads.remove(upload).await;
            drop_cover(state, cover).await;
            Outcome::Handled
        }
        // Another worker holds the job now: its file is the one published.
        Ok(Fenced::Lost) => {
            let _ = state.assets.remove(&file).await;
            drop_cover(state, cover).await;
            Outcome::Handled
        }
        Err(e) => {
            let _ = state.assets.remove(&file).await;
            drop_cover(state, cover).await;
            Outcome::retry(e)
        }
    }
}

/// Keeps cover art read from a file in the assets store, for the transaction that publishes
/// the track to make it the title's (see [`FileCover`]); nothing if the title has a cover.
/// Covers are public, like the manifest that links them. A cover that cannot be kept is a
/// warning on the track, not a failed upload.
async fn stage_cover(
    state: &AppState,
    title: &TitleRow,
    cover: Option<&Cover>,
    warnings: &mut Vec<String>,
) -> Option<FileCover> {
    let cover = cover.filter(|_| title.cover_file.is_none())?;
    let ext = cover.media_type.rsplit('/').next().unwrap_or("img");
    let file = format!("{}.{ext}", uuid::Uuid::new_v4());
    match state.assets.put(&file, bytes::Bytes::from(cover.data.clone())).await {
        Ok(()) => Some(FileCover { file, media_type: cover.media_type.to_owned() }),
        Err(e) => {
            tracing::warn!(title = %title.id, error = %e, "keeping the cover art of a track failed");
            warnings.push("the file's cover art could not be kept".into());
            None
        }
    }
}

/// After the track is published: removes its cover's file unless the title took it (it had a
/// cover already, given meanwhile or by another track).
async fn settle_cover(state: &AppState, title_id: &str, cover: Option<FileCover>) {
    let Some(cover) = cover else { return };
    match state.repo.title(title_id).await {
        Ok(Some(title)) if title.cover_file.as_deref() == Some(cover.file.as_str()) => {}
        Ok(_) => drop_cover(state, Some(cover)).await,
        // Unsure: keeping an unused file is better than removing the title's cover.
        Err(e) => tracing::warn!(title = %title_id, error = %e, "could not check which cover the title kept"),
    }
}

/// Removes the file of a cover that was not published.
async fn drop_cover(state: &AppState, cover: Option<FileCover>) {
    if let Some(cover) = cover {
        let _ = state.assets.remove(&cover.file).await;
    }
}
