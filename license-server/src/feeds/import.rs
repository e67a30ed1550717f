//! `feed.item`: brings one queued item in. Its enclosure is downloaded, streaming, to the data
//! folder, then handed to packaging exactly like an upload ([`queue_upload`]): a processing
//! track with its `track.package` job. When that job publishes the track, the item is
//! published with it (`feed_item.published`), in the same transaction; when it fails, the
//! item fails with it.

use std::time::Duration;

use super::fetch::{self, FetchError};
use crate::db::{FeedItemRow, FeedRow, JobRow, Lease, TitleFields, TitleRow};
use crate::media::package::queue_upload;
use crate::queue::Outcome;
use crate::state::{AppState, now};

/// The longest an enclosure's download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The longest a download may go without a byte.
pub const DOWNLOAD_STALL: Duration = Duration::from_secs(30);

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
    let title = match title_for(state, &feed, &item, &audit).await {
        Ok(t) => t,
        Err(e) => return Outcome::retry(e),
    };
    let dir = state.settings.data_dir.join("uploads");
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return Outcome::retry(e);
    }
    let download = dir.join(format!("{}.download", uuid::Uuid::new_v4()));
    let got = match fetch::download(&state.downloads, &url, &download, state.settings.limits.upload_bytes).await {
        Ok(got) => got,
        // What another attempt may cure: the server's trouble, a stall.
        Err(e @ (FetchError::Transport(_) | FetchError::Disk(_))) if lease.attempt < job.max_attempts => {
            return Outcome::retry(e);
        }
        Err(FetchError::Status(s)) if (s >= 500 || s == 429) && lease.attempt < job.max_attempts => {
            return Outcome::retry(format!("the server answered {s}"));
        }
        Err(e) => return fail(format!("the enclosure could not be downloaded: {e}")).await,
    };
    // A changed enclosure replaces the item's track: the old one goes when the new is queued.
    if let Some(old) = item.track_file.as_deref()
        && let Ok(tracks) = state.repo.tracks(&title.id).await
        && let Some(track) = tracks.iter().find(|t| t.file == old)
        && let Err(e) = state.repo.delete_track(&title.id, track.position, &audit, now()).await
    {
        let _ = tokio::fs::remove_file(&download).await;
        return Outcome::retry(e);
    }
    let hint = got.media_type.or(item.enclosure_type.clone()).filter(|t| !t.is_empty());
    let this = Some((feed_id.to_owned(), guid.to_owned()));
    match queue_upload(state, &title, &download, item.name.clone(), hint, this, &audit).await {
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

/// The title an item goes into: a serial feed's one title, or the item's own (made on its
/// first import, with the feed's defaults).
async fn title_for(
    state: &AppState,
    feed: &FeedRow,
    item: &FeedItemRow,
    audit: &crate::events::Audit,
) -> Result<TitleRow, String> {
    let existing = if feed.mode == "serial" { feed.title_id.as_deref() } else { item.title_id.as_deref() };
    if let Some(id) = existing
        && let Some(title) = state.repo.title(id).await.map_err(|e| e.to_string())?
    {
        return Ok(title);
    }
    let name = if feed.mode == "serial" { feed.name.clone() } else { item.name.clone() };
    let fields = TitleFields {
        store_id: feed.store_id.clone(),
        name: name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Untitled".into()),
        author: None,
        language: None,
        price: feed.price.clone(),
        currency: feed.currency.clone(),
        checkout_url: feed.checkout_url.clone(),
        cover_url: None,
        stripe_payment_link: None,
    };
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
