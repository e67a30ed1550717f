//! Downloads for offline listening: a queue of titles, each fetched in blocks by several
//! range requests at once, checked as it arrives, and resumed where it stopped.
//!
//! # What a download promises
//!
//! * **Nothing fetched twice that is stored.** A title's sealed tracks are fetched in blocks
//!   of whole chunks ([`record`]); each block, once checked, is written to the host's storage
//!   under a key of its own, in one atomic write. After a crash, a kill or a restart, the next
//!   run finds the stored blocks by their keys and fetches only the others: at most the blocks
//!   that were in flight (one per request, [`DownloadSettings::parallel`]) are fetched again.
//! * **Nothing stored unchecked.** Every chunk of a block is authenticated (AES-GCM, the
//!   content key of the license) before the block is stored. A block that fails is fetched
//!   again at once; one that keeps failing ends the download as `Tampered`, never as a
//!   silent gap found while playing.
//! * **Transient failures are retried.** A network error, a timeout or a 408, 429 or 5xx answer
//!   is retried with exponential backoff and jitter (`retry_delay_ms`, doubling to 30 s at
//!   most), up to [`DownloadSettings::attempts`] attempts per block. When they run out the
//!   title is `Failed` with the last error (`Network` or `Server`), and what it stored stays
//!   for the next run. Other answers (401, 403, 404) fail at once.
//! * **Quota.** With a quota set, a title that would take storage past it is refused before
//!   its first block, with [`ClientError::QuotaExceeded`] saying how much it needs and how
//!   much is left.
//! * **Pause, resume, cancel.** Pausing stops claiming blocks: those in flight complete and are
//!   kept. Cancelling also removes what the title stored. Both take effect within one block
//!   per request in flight.
//! * **Progress in order, and true.** Listeners see a title's stored bytes grow, never
//!   shrink, ending with its final state (done, paused, failed or cancelled), called on the
//!   thread that runs the download. A block is reported once it is stored: what an app was
//!   told is there after a kill.
//! * **Ended licenses.** When a license ends (revoked, returned, expired), its title's blocks
//!   are removed ([`Client::check_status`]).
//!
//! The queue and each title's state live in the host's storage (`fount/downloads`), so an app
//! restarted mid-download finds its titles still queued and calls
//! [`Client::run_downloads`] again.
//!
//! # Where the parallelism comes from
//!
//! The core opens no socket and starts no thread. A title's requests are futures joined in
//! one task: hosts whose `send` is asynchronous (a browser's `fetch`) run them at once; the
//! uniffi binding runs each foreign `send` on a thread of its own for the same effect.

mod engine;
pub(crate) mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::PoisonError;

use serde::{Deserialize, Serialize};

use super::error::ClientError;
use super::host::{Host, KeyStore};
use super::{Client, storage};
use record::{Layout, Record};

/// Where a title's download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum DownloadState {
    /// Waiting for [`Client::run_downloads`] to reach it.
    Queued,
    /// Blocks are being fetched.
    Downloading,
    /// Paused by the app; what is stored stays.
    Paused,
    /// Every track is stored: the title plays offline.
    Done,
    /// Stopped by an error (`error` says which); what is stored stays for a retry.
    Failed,
    /// Cancelled: nothing of it is stored any more.
    Cancelled,
}

/// A track's part of a download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct TrackProgress {
    /// Track index.
    pub index: u32,
    /// Sealed bytes stored.
    pub bytes: u64,
    /// Sealed bytes in all (0 until the track's header is known).
    pub total: u64,
}

/// Why a download stopped: the error's stable code (as [`super::FountError::code`]) and
/// message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct DownloadFailure {
    /// `network`, `server`, `tampered`, `quota_exceeded`, …
    pub code: String,
    /// For people.
    pub message: String,
}

/// A title's download: what a list row or a notification shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct DownloadProgress {
    /// The title.
    pub title_id: String,
    /// Its state.
    pub state: DownloadState,
    /// Sealed bytes stored, all tracks.
    pub bytes: u64,
    /// Sealed bytes in all (0 until the tracks' headers are known).
    pub total: u64,
    /// Per track.
    pub tracks: Vec<TrackProgress>,
    /// Why it failed, when it did.
    pub error: Option<DownloadFailure>,
}

/// Storage a title's download takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct TitleUsage {
    /// The title.
    pub title_id: String,
    /// Bytes stored.
    pub bytes: u64,
}

/// Storage downloads take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct StorageUsage {
    /// Bytes stored, all titles.
    pub bytes: u64,
    /// The quota, if the app set one.
    pub quota: Option<u64>,
    /// Per title, largest first.
    pub titles: Vec<TitleUsage>,
}

/// How downloads run. Kept in the host's storage: set once, it holds across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct DownloadSettings {
    /// Range requests in flight per title (1 to 16; default 4).
    pub parallel: u32,
    /// Attempts per block before the title fails (1 to 20; default 6).
    pub attempts: u32,
    /// The first retry's wait, milliseconds; each next one doubles, up to 30 s (default 500).
    pub retry_delay_ms: u64,
    /// Most bytes downloads may take, all titles together (`None`: no limit).
    pub quota_bytes: Option<u64>,
}

impl Default for DownloadSettings {
    fn default() -> Self {
        DownloadSettings { parallel: 4, attempts: 6, retry_delay_ms: 500, quota_bytes: None }
    }
}

impl DownloadSettings {
    fn check(&self) -> Result<(), ClientError> {
        if !(1..=16).contains(&self.parallel) {
            return Err(ClientError::InvalidArgument("parallel is 1 to 16"));
        }
        if !(1..=20).contains(&self.attempts) {
            return Err(ClientError::InvalidArgument("attempts is 1 to 20"));
        }
        if self.retry_delay_ms > 60_000 {
            return Err(ClientError::InvalidArgument("retry_delay_ms is at most 60000"));
        }
        Ok(())
    }
}

/// A title in the queue, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    title: String,
    state: DownloadState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<DownloadFailure>,
}

/// What the app asked of a running download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Pause,
    Cancel,
}

/// The queue in memory (the stored one is written after each change), and the requests to
/// stop running downloads.
#[derive(Default)]
pub(crate) struct Control {
    queue: Option<Vec<Entry>>,
    /// Each change of the queue counts; `saved` is the latest count known stored, so that a
    /// slower write of an older queue is followed by the newer one.
    changes: u64,
    saved: u64,
    running: BTreeSet<String>,
    stops: BTreeMap<String, Stop>,
}

const QUEUE: &str = "fount/downloads";
const SETTINGS: &str = "fount/download-settings";

/// A title's layout, beside its blocks (so removing the blocks removes it too).
pub(crate) fn layout_key(title: &str) -> String {
    format!("{}layout", storage::assets(title))
}

impl<H: Host, K: KeyStore> Client<H, K> {
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        // A panic while holding it leaves plain data behind, still consistent.
        self.inner.downloads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queue, loaded from storage on first use.
    async fn queue(&self) -> Result<Vec<Entry>, ClientError> {
        if let Some(q) = &self.control().queue {
            return Ok(q.clone());
        }
        let mut stored: Vec<Entry> = storage::load_json(self.host(), QUEUE).await?.unwrap_or_default();
        // Stored as downloading, read by a process that has not started it: the app was killed
        // or crashed mid-download. It is queued again, to resume.
        for e in &mut stored {
            if e.state == DownloadState::Downloading {
                e.state = DownloadState::Queued;
            }
        }
        Ok(self.control().queue.get_or_insert(stored).clone())
    }

    /// Changes the queue in memory, then stores it (again, if a newer change was stored first).
    async fn change_queue(&self, change: impl FnOnce(&mut Vec<Entry>)) -> Result<(), ClientError> {
        self.queue().await?;
        let (mut snapshot, mut number) = {
            let mut c = self.control();
            change(c.queue.get_or_insert_with(Vec::new));
            c.changes = c.changes.saturating_add(1);
            (c.queue.clone().unwrap_or_default(), c.changes)
        };
        loop {
            storage::save_json(self.host(), QUEUE, &snapshot).await?;
            let mut c = self.control();
            if c.saved > number {
                // A newer queue was stored before this older one: store the latest again.
                (snapshot, number) = (c.queue.clone().unwrap_or_default(), c.changes);
                continue;
            }
            c.saved = number;
            return Ok(());
        }
    }

    async fn set_entry(
        &self,
        title: &str,
        state: DownloadState,
        error: Option<DownloadFailure>,
    ) -> Result<(), ClientError> {
        self.change_queue(|q| match q.iter_mut().find(|e| e.title == title) {
            Some(e) => {
                e.state = state;
                e.error = error;
            }
            None => q.push(Entry { title: title.to_owned(), state, error }),
        })
        .await
    }

    /// Forgets a title's download (its blocks already removed).
    pub(crate) async fn forget_download(&self, title: &str) -> Result<(), ClientError> {
        if self.queue().await?.iter().any(|e| e.title == title) {
            self.change_queue(|q| q.retain(|e| e.title != title)).await?;
        }
        Ok(())
    }

    /// How downloads run.
    pub async fn download_settings(&self) -> Result<DownloadSettings, ClientError> {
        Ok(storage::load_json(self.host(), SETTINGS).await?.unwrap_or_default())
    }

    /// Sets how downloads run (from the next block on).
    pub async fn set_download_settings(&self, settings: DownloadSettings) -> Result<(), ClientError> {
        settings.check()?;
        storage::save_json(self.host(), SETTINGS, &settings).await
    }

    /// A title's record: its stored layout, with the blocks stored, if a download began.
    async fn record(&self, title: &str) -> Result<Option<Record>, ClientError> {
        let Some(layout) = storage::load_json::<H, Layout>(self.host(), &layout_key(title)).await? else {
            return Ok(None);
        };
        let assets = storage::assets(title);
        let keys = self.host().keys(&format!("{assets}blocks/")).await.map_err(ClientError::Storage)?;
        Ok(Some(Record::found(&layout, &assets, &keys)))
    }

    /// Adds a title to the queue (a paused, failed or cancelled one is queued again; a done
    /// one stays done). Nothing is fetched until [`Client::run_downloads`].
    pub async fn enqueue_download(&self, title_id: &str) -> Result<DownloadProgress, ClientError> {
        self.stored_for_title(title_id).await?;
        let current = self.queue().await?.into_iter().find(|e| e.title == title_id).map(|e| e.state);
        if current != Some(DownloadState::Done) && current != Some(DownloadState::Downloading) {
            self.set_entry(title_id, DownloadState::Queued, None).await?;
        }
        self.download_progress(title_id).await
    }

    /// A title's download as it stands.
    pub async fn download_progress(&self, title_id: &str) -> Result<DownloadProgress, ClientError> {
        super::check_id(title_id)?;
        let entry = self.queue().await?.into_iter().find(|e| e.title == title_id);
        let (state, error) = entry.map_or((DownloadState::Cancelled, None), |e| (e.state, e.error));
        Ok(progress(title_id, state, self.record(title_id).await?.as_ref(), error))
    }

    /// Every title in the queue, in its order, with its progress.
    pub async fn downloads(&self) -> Result<Vec<DownloadProgress>, ClientError> {
        let mut out = Vec::new();
        for e in self.queue().await? {
            out.push(progress(&e.title, e.state, self.record(&e.title).await?.as_ref(), e.error));
        }
        Ok(out)
    }

    /// Asks a running download of `title` to stop; `false` if none is running.
    fn ask_to_stop(&self, title: &str, stop: Stop) -> bool {
        let mut c = self.control();
        let running = c.running.contains(title);
        if running {
            c.stops.insert(title.to_owned(), stop);
        }
        running
    }

    /// Pauses a title's download: a running one stops after the blocks in flight, a queued
    /// one is skipped until resumed.
    pub async fn pause_download(&self, title_id: &str) -> Result<DownloadProgress, ClientError> {
        super::check_id(title_id)?;
        let running = self.ask_to_stop(title_id, Stop::Pause);
        let queued = self.queue().await?.iter().any(|e| e.title == title_id && e.state == DownloadState::Queued);
        if !running && queued {
            self.set_entry(title_id, DownloadState::Paused, None).await?;
        }
        self.download_progress(title_id).await
    }

    /// Queues a paused or failed title again (as [`Client::enqueue_download`]).
    pub async fn resume_download(&self, title_id: &str) -> Result<DownloadProgress, ClientError> {
        self.enqueue_download(title_id).await
    }

    /// Cancels a title's download and removes what it stored (a running one first stops after
    /// the blocks in flight).
    pub async fn cancel_download(&self, title_id: &str) -> Result<DownloadProgress, ClientError> {
        super::check_id(title_id)?;
        if !self.ask_to_stop(title_id, Stop::Cancel) {
            self.remove_downloaded(title_id).await?;
        }
        self.download_progress(title_id).await
    }

    /// Removes a title's blocks and record, marks its license not downloaded, and forgets it.
    pub(crate) async fn remove_downloaded(&self, title_id: &str) -> Result<(), ClientError> {
        let key = storage::license(title_id);
        if let Some(mut stored) = storage::load_json::<H, storage::StoredLicense>(self.host(), &key).await?
            && stored.downloaded
        {
            stored.downloaded = false;
            storage::save_json(self.host(), &key, &stored).await?;
        }
        storage::remove_all(self.host(), &storage::assets(title_id)).await?;
        self.forget_download(title_id).await
    }

    /// Storage taken by downloads, per title and in all, and the quota.
    pub async fn storage_usage(&self) -> Result<StorageUsage, ClientError> {
        let mut titles = Vec::new();
        for key in self.host().keys(storage::ASSETS).await.map_err(ClientError::Storage)? {
            let Some(title) = key.strip_prefix(storage::ASSETS).and_then(|k| k.strip_suffix("/layout")) else {
                continue;
            };
            if let Some(r) = self.record(title).await? {
                titles.push(TitleUsage { title_id: title.to_owned(), bytes: r.bytes() });
            }
        }
        titles.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.title_id.cmp(&b.title_id)));
        let bytes = titles.iter().map(|t| t.bytes).fold(0, u64::saturating_add);
        Ok(StorageUsage { bytes, quota: self.download_settings().await?.quota_bytes, titles })
    }

    /// Downloads one title now (queued or not), calling `listener` with its progress: the
    /// typed error when it fails, its final progress when it is done, paused or cancelled.
    pub async fn download_title(
        &self,
        title_id: &str,
        listener: &dyn Fn(&DownloadProgress),
    ) -> Result<DownloadProgress, ClientError> {
        let title = self.open_title(title_id).await?;
        {
            let mut c = self.control();
            if !c.running.insert(title_id.to_owned()) {
                return Err(ClientError::InvalidArgument("this title is already downloading"));
            }
            c.stops.remove(title_id);
        }
        let result = self.download_open(&title, listener).await;
        {
            let mut c = self.control();
            c.running.remove(title_id);
            c.stops.remove(title_id);
        }
        let (state, error) = match &result {
            Ok(state) => (*state, None),
            Err(e) => (DownloadState::Failed, Some(failure(e))),
        };
        if state == DownloadState::Cancelled {
            self.remove_downloaded(title_id).await?;
        } else {
            self.set_entry(title_id, state, error.clone()).await?;
        }
        let last = progress(title_id, state, self.record(title_id).await?.as_ref(), error);
        listener(&last);
        result.map(|_| last)
    }

    /// Runs the queue: each queued title in turn, until none is left queued. A title that fails
    /// is marked so (its progress says why) and the next one starts. Returns every title's
    /// progress, as [`Client::downloads`].
    pub async fn run_downloads(
        &self,
        listener: &dyn Fn(&DownloadProgress),
    ) -> Result<Vec<DownloadProgress>, ClientError> {
        let mut tried = BTreeSet::new();
        loop {
            let next =
                self.queue().await?.into_iter().find(|e| e.state == DownloadState::Queued && !tried.contains(&e.title));
            let Some(entry) = next else { break };
            tried.insert(entry.title.clone());
            if let Err(e) = self.download_title(&entry.title, listener).await {
                // A title that could not even start (no license, a damaged record) is marked
                // failed here; one that started was marked by `download_title`.
                if self.queue().await?.iter().any(|q| q.title == entry.title && q.state == DownloadState::Queued) {
                    self.set_entry(&entry.title, DownloadState::Failed, Some(failure(&e))).await?;
                }
            }
        }
        self.downloads().await
    }

    /// Fetches the missing blocks of an open title: its final state, or the error that ended it.
    async fn download_open(
        &self,
        title: &super::OpenTitle<H, K>,
        listener: &dyn Fn(&DownloadProgress),
    ) -> Result<DownloadState, ClientError> {
        let id = title.title_id().to_owned();
        let settings = self.download_settings().await?;
        self.set_entry(&id, DownloadState::Downloading, None).await?;
        let layout = Layout { tracks: title.geometries(&settings).await? };
        let stored = self.record(&id).await?;
        let fresh = stored.as_ref().is_none_or(|r| r.layout() != layout);
        let record = match stored {
            Some(r) if !fresh => r,
            _ => Record::found(&layout, &storage::assets(&id), &[]),
        };
        if let Some(quota) = settings.quota_bytes {
            let others: u64 = self
                .storage_usage()
                .await?
                .titles
                .iter()
                .filter(|t| t.title_id != id)
                .map(|t| t.bytes)
                .fold(0, u64::saturating_add);
            let needed = record.total().saturating_sub(record.bytes());
            let available = quota.saturating_sub(others.saturating_add(record.bytes()));
            if needed > available {
                return Err(ClientError::QuotaExceeded { needed, available });
            }
        }
        if fresh {
            // Never begun, or packaged again since: any old blocks are of other files.
            storage::remove_all(self.host(), &storage::assets(&id)).await?;
            storage::save_json(self.host(), &layout_key(&id), &layout).await?;
        }
        let stop = || self.control().stops.get(&id).copied();
        let emit = |r: &Record| listener(&progress(&id, DownloadState::Downloading, Some(r), None));
        let ended = title.fetch_missing(record, &settings, &stop, &emit).await?;
        Ok(match ended {
            None => {
                title.set_downloaded(true).await?;
                DownloadState::Done
            }
            Some(Stop::Pause) => DownloadState::Paused,
            Some(Stop::Cancel) => DownloadState::Cancelled,
        })
    }
}

/// The failure an error is shown as.
fn failure(e: &ClientError) -> DownloadFailure {
    let e = super::FountError::from(e.clone());
    DownloadFailure { code: e.code().to_owned(), message: e.message() }
}

/// A title's progress from its record.
fn progress(
    title: &str,
    state: DownloadState,
    record: Option<&Record>,
    error: Option<DownloadFailure>,
) -> DownloadProgress {
    let tracks: Vec<TrackProgress> = record
        .map(|r| {
            r.tracks
                .iter()
                .enumerate()
                .map(|(i, t)| TrackProgress {
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    bytes: t.bytes(),
                    total: t.geometry.sealed_len,
                })
                .collect()
        })
        .unwrap_or_default();
    let bytes = tracks.iter().map(|t| t.bytes).fold(0, u64::saturating_add);
    let total = tracks.iter().map(|t| t.total).fold(0, u64::saturating_add);
    DownloadProgress { title_id: title.to_owned(), state, bytes, total, tracks, error }
}
