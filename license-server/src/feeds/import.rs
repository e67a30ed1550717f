//! `feed.item`: brings one queued item in. Its enclosure is downloaded, streaming, to the data
//! folder, then handed to packaging exactly like an upload ([`queue_upload`]): a processing
//! track with its `track.package` job. When that job publishes the track, the item is
//! published with it (`feed_item.published`), in the same transaction; when it fails, the
//! item fails with it.
//!
//! Before that, the item's `podcast:chapters` are read (they replace the file's own; a file
//! that will not do leaves the file's), and its `podcast:transcript`s are kept beside the
//! track. Neither can fail the item: the audio is what is sold.

use super::chapters;
use super::details::{FeedDetails, ItemDetails, from_json};
use super::fetch::{self, FetchError};
use crate::api::validate;
use crate::db::{FeedItemRow, FeedRow, JobRow, Lease, TitleFields, TitleRow, Transcript};
use crate::media::package::{UploadMeta, queue_upload};
use crate::media::probe::FileChapter;
use crate::queue::Outcome;
use crate::state::{AppState, now};

/// The largest transcript kept, bytes.
pub const MAX_TRANSCRIPT_BYTES: u64 = 5 * 1024 * 1024;
/// The most transcripts an item keeps.
pub const MAX_TRANSCRIPTS: usize = 4;

/// The transcript types Fount keeps, with the file extension it gives them.
const TRANSCRIPT_TYPES: [(&str, &str); 5] = [
    ("text/vtt", "vtt"),
    ("application/x-subrip", "srt"),
    ("application/srt", "srt"),
    ("application/json", "json"),
    ("text/html", "html"),
];

/// Runs a `feed.item` job.
pub async fn run_job(state: &AppState, job: &JobRow, lease: &Lease) -> Outcome {
    let payload: serde_json::Value = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fatal(format!("bad payload: {e}")),
    };
    let (Some(feed_id), Some(guid)) = (payload["feed"].as_str(), payload["guid"].as_str()) else {
        return Outcome::Fatal("bad payload: no feed or guid".into());
    };
    let (feed, item) = match (state.repo.feed(feed_id).await, state.repo.feed_item(feed_id, guid).await) {
        (Ok(Some(feed)), Ok(Some(item))) => (feed, item),
        // The feed was deleted, or the item is gone with it.
        (Ok(_), Ok(_)) => return Outcome::Done,
        (Err(e), _) | (_, Err(e)) => return Outcome::retry(e),
    };
    if item.status != "queued" {
        // Imported already by an earlier run of this job, or removed since.
        return Outcome::Done;
    }
    let audit = state.audit("system");
    let fail = |error: String| {
        let audit = audit.clone();
        async move {
            match state.repo.fail_feed_item(feed_id, guid, &error, &audit, now()).await {
                Ok(_) => Outcome::Done,
                Err(e) => Outcome::retry(e),
            }
        }
    };
    let Some(url) = item.enclosure_url.clone() else { return fail("the item has no enclosure".into()).await };
    let (feed_details, details): (FeedDetails, ItemDetails) =
        (from_json(feed.details.as_deref()), from_json(item.details.as_deref()));
    let title = match title_for(state, &feed, &item, &feed_details, &details, &audit).await {
        Ok(t) => t,
        Err(e) => return Outcome::retry(e),
    };
    let dir = state.settings.data_dir.join("uploads");
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return Outcome::retry(e);
    }
    let download = dir.join(format!("{}.download", uuid::Uuid::new_v4()));
    let started = std::time::Instant::now();
    let got = match fetch::download(&state.downloads, &url, &download, state.settings.limits.upload_bytes).await {
        Ok(got) => {
            tracing::info!(feed = %feed_id, item = %guid, bytes = got.length, fetch_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX), "enclosure downloaded");
            got
        }
        // What another attempt may cure: the server's trouble, a stall. The item says so
        // meanwhile.
        Err(e @ (FetchError::Transport(_) | FetchError::Disk(_) | FetchError::Status(500..=599 | 429)))
            if lease.attempt < job.max_attempts =>
        {
            let note = format!(
                "the enclosure could not be downloaded ({e}); attempt {} of {}, it will be tried again",
                lease.attempt, job.max_attempts
            );
            if let Err(e) = state.repo.note_feed_item_error(feed_id, guid, &note, now()).await {
                tracing::warn!(feed = %feed_id, item = %guid, error = %e, "noting a failed attempt");
            }
            return Outcome::retry(e);
        }
        Err(e) => return fail(format!("the enclosure could not be downloaded: {e}")).await,
    };
    // A changed enclosure replaces the item's track: the old one goes when the new is queued.
    if let Some(old) = item.track_file.as_deref()
        && let Ok(tracks) = state.repo.tracks(&title.id).await
        && let Some(track) = tracks.iter().find(|t| t.file == old)
    {
        if let Err(e) = state.repo.delete_track(&title.id, track.position, &audit, now()).await {
            let _ = tokio::fs::remove_file(&download).await;
            return Outcome::retry(e);
        }
        state.changed(crate::db::changes::Change::Title(title.id.clone())).await;
        if let Err(e) = state.assets.remove(old).await {
            tracing::warn!(file = old, error = %e, "the replaced track's sealed file could not be removed");
        }
    }
    let meta = UploadMeta {
        name: item.name.clone(),
        hint: got.media_type.or(item.enclosure_type.clone()).filter(|t| !t.is_empty()),
        feed_item: Some((feed_id.to_owned(), guid.to_owned())),
        chapters: feed_chapters(state, &item, &details).await,
        transcripts: keep_transcripts(state, &item, &details).await,
    };
    match queue_upload(state, &title, &download, meta, &audit).await {
        Ok(_) => Outcome::Done,
        Err(e) if e.kind().status < 500 => {
            let _ = tokio::fs::remove_file(&download).await;
            fail(format!("the enclosure is not usable audio: {}", e.problem().detail)).await
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&download).await;
            Outcome::retry(e)
        }
    }
}

/// The item's `podcast:chapters`, if it has some that can be read.
async fn feed_chapters(state: &AppState, item: &FeedItemRow, details: &ItemDetails) -> Option<Vec<FileChapter>> {
    let url = details.chapters.as_deref()?;
    let read = match fetch::small(&state.outbound, url, chapters::MAX_BYTES).await {
        Ok((bytes, _)) => chapters::parse(&bytes).map_err(|e| e.to_string()),
        Err(e) => Err(format!("the chapters file could not be fetched: {e}")),
    };
    match read {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(feed = %item.feed_id, item = %item.guid, error = %e, "keeping the file's own chapters");
            None
        }
    }
}

/// Fetches the item's transcripts of the kinds Fount keeps and writes each to the assets
/// folder, where the manifest links them from. One that cannot be fetched is left out.
async fn keep_transcripts(state: &AppState, item: &FeedItemRow, details: &ItemDetails) -> Vec<Transcript> {
    let mut kept = Vec::new();
    for t in &details.transcripts {
        if kept.len() >= MAX_TRANSCRIPTS {
            break;
        }
        let Some((_, ext)) = TRANSCRIPT_TYPES.iter().find(|(m, _)| *m == t.media_type) else { continue };
        let bytes = match fetch::small(&state.outbound, &t.url, MAX_TRANSCRIPT_BYTES).await {
            Ok((bytes, _)) => bytes,
            Err(e) => {
                tracing::warn!(feed = %item.feed_id, item = %item.guid, error = %e, "a transcript could not be fetched");
                continue;
            }
        };
        let file = format!("{}.{ext}", uuid::Uuid::new_v4());
        if let Err(e) = state.assets.put(&file, bytes.into()).await {
            tracing::warn!(feed = %item.feed_id, item = %item.guid, error = %e, "a transcript could not be kept");
            continue;
        }
        let language = t.language.as_deref().and_then(|l| validate::language(Some(l)).ok().flatten());
        kept.push(Transcript { file, media_type: t.media_type.clone(), language });
    }
    kept
}

/// A text from a feed, made to fit a title's field: trimmed, cut at `max` characters, and
/// dropped when what is left is not acceptable.
fn fit(value: Option<&str>, max: usize, check: fn(Option<&str>) -> Option<String>) -> Option<String> {
    let value = value?;
    let cut: String = value.chars().take(max).collect();
    check(Some(cut.as_str()))
}

/// The fields of a new title from what the feed says (a serial feed's title is the feed's;
/// an episode's is the item's, falling back on the feed's author and image).
fn fields_for(feed: &FeedRow, item: &FeedItemRow, fd: &FeedDetails, id: &ItemDetails) -> TitleFields {
    let serial = feed.mode == "serial";
    let name = if serial { feed.name.as_deref() } else { item.name.as_deref() };
    let author = if serial { fd.author.as_deref() } else { id.author.as_deref().or(fd.author.as_deref()) };
    let description = if serial { fd.description.as_deref() } else { id.description.as_deref() };
    let image = if serial { fd.image.as_deref() } else { id.image.as_deref().or(fd.image.as_deref()) };
    TitleFields {
        store_id: feed.store_id.clone(),
        name: fit(name, 500, |v| validate::opt_text("title", v, 500).ok().flatten())
            .unwrap_or_else(|| "Untitled".into()),
        author: fit(author, 500, |v| validate::opt_text("author", v, 500).ok().flatten()),
        description: fit(description, crate::api::titles::MAX_DESCRIPTION, |v| {
            validate::opt_long_text("description", v, crate::api::titles::MAX_DESCRIPTION).ok().flatten()
        }),
        language: fd.language.as_deref().and_then(|l| validate::language(Some(l)).ok().flatten()),
        price: feed.price.clone(),
        currency: feed.currency.clone(),
        checkout_url: feed.checkout_url.clone(),
        cover_url: image.and_then(|u| validate::url("cover_url", Some(u)).ok().flatten()),
        stripe_payment_link: None,
    }
}

/// The title an item goes into: a serial feed's one title, or the item's own (made on its
/// first import, with the feed's defaults).
async fn title_for(
    state: &AppState,
    feed: &FeedRow,
    item: &FeedItemRow,
    feed_details: &FeedDetails,
    details: &ItemDetails,
    audit: &crate::events::Audit,
) -> Result<TitleRow, String> {
    let existing = if feed.mode == "serial" { feed.title_id.as_deref() } else { item.title_id.as_deref() };
    if let Some(id) = existing
        && let Some(title) = state.repo.title(id).await.map_err(|e| e.to_string())?
    {
        return Ok(title);
    }
    let fields = fields_for(feed, item, feed_details, details);
    let title = crate::operations::create_title_with(state, fields, audit).await.map_err(|e| e.to_string())?;
    if feed.mode == "serial" {
        // Items of a serial feed import side by side: the first title recorded is the feed's,
        // and one made meanwhile by another item is dropped for it.
        let kept = state.repo.set_feed_title(&feed.id, &title.id, now()).await.map_err(|e| e.to_string())?;
        if let Some(kept) = kept.filter(|k| *k != title.id) {
            let _ = state.repo.delete_title(&title.id, audit, now()).await;
            return state
                .repo
                .title(&kept)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "the feed's title is gone".into());
        }
    } else {
        state.repo.set_feed_item_title(&feed.id, &item.guid, &title.id, now()).await.map_err(|e| e.to_string())?;
    }
    Ok(title)
}
