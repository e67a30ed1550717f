//! An open title: its timeline, decrypted reads of any range, downloads, positions and
//! bookmarks.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::download::DownloadProgress;
use super::download::record::{Geometry, block_key};
use super::error::ClientError;
use super::host::{Host, HttpRequest, KeyStore};
use super::storage::{self, StoredLicense};
use super::{Client, api};
use crate::manifest::Track;
use crate::position::{Bookmark, Changed, StoredPosition};
use crate::sealed::{HEADER_LEN, Opener, ReadPlan, SealedHeader};
use crate::{ContentKey, Publication};

/// A read for a host that opens the chunks itself ([`OpenTitle::read_sealed`]).
pub struct SealedRead {
    /// The AES-256-GCM key of the track's file (zeroed when dropped).
    pub key: zeroize::Zeroizing<[u8; 32]>,
    /// The sealed bytes of `plan.bytes`.
    pub sealed: Vec<u8>,
    /// Where each chunk lies in `sealed`, with its nonce and additional data.
    pub plan: ReadPlan,
}

impl std::fmt::Debug for SealedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRead")
            .field("sealed", &self.sealed.len())
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// A read planned for a host that fetches and opens the chunks itself
/// ([`OpenTitle::plan_sealed`]): what [`SealedRead`] holds, with the sealed bytes either on
/// the device already or still to be fetched, so that the host can open each chunk as it
/// arrives instead of waiting for the whole range.
pub struct SealedPlan {
    /// The AES-256-GCM key of the track's file (zeroed when dropped).
    pub key: zeroize::Zeroizing<[u8; 32]>,
    /// Where each chunk lies in the sealed bytes of `plan.bytes`, with its nonce and
    /// additional data.
    pub plan: ReadPlan,
    /// Where those sealed bytes are.
    pub source: SealedSource,
}

/// Where a [`SealedPlan`]'s sealed bytes are.
pub enum SealedSource {
    /// On the device: a download stored them.
    Stored(Vec<u8>),
    /// On the server: this range request fetches them, answered by a 206 with exactly the
    /// range. On any other answer (a server that ignores ranges sends the whole file with
    /// 200; a refusal) or none, [`OpenTitle::read_sealed`] reads the same range: it handles
    /// the whole file, types a refusal, and falls back to storage.
    Fetch(HttpRequest),
}

impl std::fmt::Debug for SealedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealedSource::Stored(bytes) => f.debug_tuple("Stored").field(&bytes.len()).finish(),
            SealedSource::Fetch(request) => f.debug_tuple("Fetch").field(&request.url).finish(),
        }
    }
}

impl std::fmt::Debug for SealedPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedPlan").field("plan", &self.plan).field("source", &self.source).finish_non_exhaustive()
    }
}

/// A track of a title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct TrackInfo {
    /// Index in the reading order.
    pub index: u32,
    /// Title.
    pub title: String,
    /// Media type of the audio (`audio/mpeg`, `audio/mp4`, …): what to tell the player.
    pub media_type: String,
    /// Seconds.
    pub duration: f64,
    /// Where it starts on the title's timeline, seconds.
    pub start: f64,
    /// Length of the audio in bytes: the size of the decrypted file.
    pub length: u64,
}

/// A chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct ChapterInfo {
    /// Index in the table of contents.
    pub index: u32,
    /// Title.
    pub title: String,
    /// Track it starts in.
    pub track: u32,
    /// Seconds into that track.
    pub offset: f64,
    /// Seconds on the title's timeline.
    pub start: f64,
    /// Nesting depth (0 for top level).
    pub depth: u32,
}

/// Where a point of the timeline falls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct PositionInfo {
    /// Track index.
    pub track: u32,
    /// Seconds into the track.
    pub offset: f64,
    /// The chapter playing there.
    pub chapter: Option<u32>,
}

/// A bookmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct BookmarkInfo {
    /// Id.
    pub id: String,
    /// Seconds on the title's timeline.
    pub position: f64,
    /// The listener's note.
    pub note: Option<String>,
    /// When it was made, seconds since the epoch.
    pub created: i64,
    /// The chapter it is in.
    pub chapter: Option<String>,
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A title opened for playing.
pub struct OpenTitle<H, K> {
    pub(crate) client: Client<H, K>,
    license: StoredLicense,
    publication: Publication,
    keys: Vec<ContentKey>,
    /// Each track's sealed header, once read: every read needs it.
    headers: Vec<OnceLock<SealedHeader>>,
    downloaded: AtomicBool,
}

impl<H: Host, K: KeyStore> OpenTitle<H, K> {
    pub(crate) fn new(
        client: Client<H, K>,
        license: StoredLicense,
        publication: Publication,
        keys: Vec<ContentKey>,
    ) -> Self {
        let headers = publication.tracks().iter().map(|_| OnceLock::new()).collect();
        let downloaded = AtomicBool::new(license.downloaded);
        OpenTitle { client, license, publication, keys, headers, downloaded }
    }

    fn host(&self) -> &H {
        self.client.host()
    }

    /// The title id.
    pub fn title_id(&self) -> &str {
        &self.license.title_id
    }

    /// The title's name.
    pub fn name(&self) -> &str {
        self.publication.title()
    }

    /// The author, if the manifest names one.
    pub fn author(&self) -> Option<&str> {
        self.publication.manifest().metadata.author.as_deref()
    }

    /// Total seconds.
    pub fn duration(&self) -> f64 {
        self.publication.duration()
    }

    /// The publication (manifest, timeline).
    pub fn publication(&self) -> &Publication {
        &self.publication
    }

    /// The tracks.
    pub fn tracks(&self) -> Vec<TrackInfo> {
        self.publication
            .tracks()
            .iter()
            .enumerate()
            .map(|(i, t)| TrackInfo {
                index: index(i),
                title: t.title.clone().unwrap_or_else(|| format!("Track {}", i.saturating_add(1))),
                media_type: t.media_type.clone(),
                duration: t.duration,
                start: t.start,
                length: t.sealed.map_or(0, |s| s.original_length),
            })
            .collect()
    }

    /// The chapters, in table-of-contents order.
    pub fn chapters(&self) -> Vec<ChapterInfo> {
        self.publication
            .chapters()
            .iter()
            .enumerate()
            .map(|(i, c)| ChapterInfo {
                index: index(i),
                title: c.title.clone(),
                track: index(c.track),
                offset: c.offset,
                start: c.start,
                depth: index(c.depth),
            })
            .collect()
    }

    /// Where `seconds` falls: track, offset, chapter.
    pub fn locate(&self, seconds: f64) -> PositionInfo {
        let at = self.publication.locate(seconds);
        let timeline = self.publication.seconds(at).unwrap_or(0.0);
        PositionInfo {
            track: index(at.track),
            offset: at.offset,
            chapter: self.publication.chapter_at(timeline).map(index),
        }
    }

    fn track(&self, track: u32) -> Result<&Track, ClientError> {
        self.publication.tracks().get(track as usize).ok_or(ClientError::InvalidArgument("no such track"))
    }

    fn track_url(&self, track: &Track) -> String {
        if track.href.contains("://") {
            return track.href.clone();
        }
        let dir = self.license.manifest_url.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{}", track.href)
    }

    /// Sealed bytes `range` of a track: from stored blocks when the title is downloaded and
    /// they are all there, else fetched with a range request.
    async fn sealed_bytes(
        &self,
        track: usize,
        header: &SealedHeader,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, ClientError> {
        let source = self.sealed_source(track, header, &range).await?;
        self.resolve(track, header, &range, source).await
    }

    /// Where sealed bytes `range` of a track are: stored, when the title is downloaded and
    /// the blocks are all there, else on the server.
    async fn sealed_source(
        &self,
        track: usize,
        header: &SealedHeader,
        range: &std::ops::Range<u64>,
    ) -> Result<SealedSource, ClientError> {
        // Not downloaded as far as this title knows: the server, without a look in storage
        // first, since one that finds nothing costs a browser an IndexedDB transaction on
        // every read (on the path from a click to the first sound).
        let stored = match self.is_downloaded() {
            true => self.stored_bytes(track, header, range).await?,
            false => None,
        };
        Ok(match stored {
            Some(bytes) => SealedSource::Stored(bytes),
            None => SealedSource::Fetch(self.sealed_request(track, range)?),
        })
    }

    /// The bytes of `source`. A fetch that fails falls back to storage, which may hold the
    /// blocks that a download through another handle of this title stored, or one in progress.
    async fn resolve(
        &self,
        track: usize,
        header: &SealedHeader,
        range: &std::ops::Range<u64>,
        source: SealedSource,
    ) -> Result<Vec<u8>, ClientError> {
        let request = match source {
            SealedSource::Stored(bytes) => return Ok(bytes),
            SealedSource::Fetch(request) => request,
        };
        match self.fetched(request, range).await {
            Ok(bytes) => Ok(bytes),
            // A downloaded title's storage was looked at before the fetch was chosen
            // ([`Self::sealed_source`]): a second look would find the same nothing. Should a
            // download finish in between, the error stands and the next read finds its blocks.
            Err(fetched) if self.is_downloaded() => Err(fetched),
            Err(fetched) => match self.stored_bytes(track, header, range).await {
                Ok(Some(bytes)) => Ok(bytes),
                _ => Err(fetched),
            },
        }
    }

    /// The stored blocks of `track` covering `range`, if a download stored them all (they
    /// were checked when stored; the read checks them again as it decrypts).
    async fn stored_bytes(
        &self,
        track: usize,
        header: &SealedHeader,
        range: &std::ops::Range<u64>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        if range.start < HEADER_LEN as u64 || range.is_empty() {
            return Ok(None);
        }
        let geometry = Geometry::of(header);
        let assets = storage::assets(self.title_id());
        let mut out = Vec::new();
        for n in geometry.block_at(range.start)..=geometry.block_at(range.end.saturating_sub(1)) {
            let key = block_key(&assets, track, n);
            let Some(block) = self.host().load(&key).await.map_err(ClientError::Storage)? else {
                return Ok(None);
            };
            let at = geometry.range(n);
            if u64::try_from(block.len()).ok() != Some(at.end.saturating_sub(at.start)) {
                // Stored by a layout whose blocks differ from today's (a file of chunks other
                // than 64 KiB, downloaded before blocks held 1 MiB whatever the chunk size):
                // not this block. This handle stops looking in storage and reads from the
                // server; downloading again finds the layout changed and starts over. The
                // stored flag is left as it is: writing the license here would put its
                // serializer in the widget's player, which never downloads.
                self.downloaded.store(false, Ordering::Relaxed);
                return Ok(None);
            }
            // Both ends fall inside this block, whose length fits memory: it was stored.
            let from = usize::try_from(range.start.max(at.start).saturating_sub(at.start)).unwrap_or(usize::MAX);
            let to = usize::try_from(range.end.min(at.end).saturating_sub(at.start)).unwrap_or(usize::MAX);
            out.extend_from_slice(block.get(from..to).ok_or(ClientError::Corrupt("a downloaded block is short"))?);
        }
        Ok(Some(out))
    }

    /// Sealed bytes `range` of a track, from the server.
    pub(crate) async fn fetch_sealed(&self, track: usize, range: std::ops::Range<u64>) -> Result<Vec<u8>, ClientError> {
        self.fetched(self.sealed_request(track, &range)?, &range).await
    }

    /// The answer to `request`, the range request for sealed bytes `range`.
    async fn fetched(&self, request: HttpRequest, range: &std::ops::Range<u64>) -> Result<Vec<u8>, ClientError> {
        let response = self.client.send(request).await?;
        let status = response.status;
        let body = api::ok_body(response)?;
        // A server that ignores the range sends the whole file with 200.
        let body = if status == 200 {
            let (from, to) = (usize::try_from(range.start), usize::try_from(range.end));
            match (from, to) {
                (Ok(from), Ok(to)) => body.get(from..to).map(<[u8]>::to_vec).unwrap_or_default(),
                _ => Vec::new(),
            }
        } else {
            body
        };
        if body.len() as u64 != range.end.saturating_sub(range.start) {
            return Err(crate::Error::SealedLength.into());
        }
        Ok(body)
    }

    /// The range request for sealed bytes `range` of a track.
    fn sealed_request(&self, track: usize, range: &std::ops::Range<u64>) -> Result<HttpRequest, ClientError> {
        let url = self.track_url(self.track(index(track))?);
        Ok(api::get_range(url, range.start, range.end))
    }

    /// A track's header: from memory, else storage, else the server (then kept in both).
    pub(crate) async fn track_header(&self, track: usize) -> Result<SealedHeader, ClientError> {
        if let Some(header) = self.known_header(track).await? {
            return Ok(header);
        }
        let bytes = self.fetch_sealed(track, 0..HEADER_LEN as u64).await?;
        self.keep_header(track, bytes).await
    }

    /// A track's header if this device has it: in memory, or stored.
    pub(crate) async fn known_header(&self, track: usize) -> Result<Option<SealedHeader>, ClientError> {
        if let Some(header) = self.headers.get(track).and_then(OnceLock::get) {
            return Ok(Some(header.clone()));
        }
        let stored = self.host().load(&storage::header(self.title_id(), track)).await.map_err(ClientError::Storage)?;
        let Some(bytes) = stored else { return Ok(None) };
        let header = SealedHeader::parse(&bytes)?;
        if let Some(slot) = self.headers.get(track) {
            let _ = slot.set(header.clone());
        }
        Ok(Some(header))
    }

    /// Parses a header fetched from the server and keeps it, stored and in memory.
    pub(crate) async fn keep_header(&self, track: usize, bytes: Vec<u8>) -> Result<SealedHeader, ClientError> {
        let header = SealedHeader::parse(&bytes)?;
        self.host().save(&storage::header(self.title_id(), track), bytes).await.map_err(ClientError::Storage)?;
        if let Some(slot) = self.headers.get(track) {
            let _ = slot.set(header.clone());
        }
        Ok(header)
    }

    pub(crate) fn opener(&self, header: SealedHeader) -> Result<Opener, ClientError> {
        Ok(Opener::new(header.clone(), self.content_key(&header)?)?)
    }

    /// The license's content key for the file with `header`.
    fn content_key(&self, header: &SealedHeader) -> Result<&ContentKey, ClientError> {
        Ok(self.keys.iter().find(|k| k.id() == header.key_id()).ok_or(crate::Error::NoContentKey)?)
    }

    /// Decrypted bytes `[offset, offset + length)` of a track (shorter at the end of the track):
    /// what a player's data source asks for.
    pub async fn read(&self, track: u32, offset: u64, length: u64) -> Result<Vec<u8>, ClientError> {
        let Some((header, range)) = self.read_range(track, offset, length).await? else {
            return Ok(Vec::new());
        };
        let opener = self.opener(header)?;
        let span = opener.header().sealed_range(range.clone())?;
        let bytes = self.sealed_bytes(track as usize, opener.header(), span.bytes).await?;
        Ok(opener.read(range, &bytes)?)
    }

    /// The same read as [`OpenTitle::read`] for a host that opens the chunks with its own
    /// AES-GCM, as a browser does with WebCrypto's hardware AES where WebAssembly has none:
    /// the sealed bytes, the plan of their chunks, and the AES key of that one file (see
    /// [`ReadPlan`]). `None` for an empty read at the end of the track.
    pub async fn read_sealed(&self, track: u32, offset: u64, length: u64) -> Result<Option<SealedRead>, ClientError> {
        let Some((header, SealedPlan { key, plan, source })) = self.planned(track, offset, length).await? else {
            return Ok(None);
        };
        let sealed = self.resolve(track as usize, &header, &plan.bytes, source).await?;
        Ok(Some(SealedRead { key, sealed, plan }))
    }

    /// The same read as [`OpenTitle::read_sealed`], planned but not fetched: the host fetches
    /// the sealed range itself, with the request in [`SealedSource::Fetch`], and opens each
    /// chunk as its bytes arrive. A browser's service worker does, so that an `<audio>`
    /// element has its first bytes after one chunk rather than after the whole range. `None`
    /// for an empty read at the end of the track.
    pub async fn plan_sealed(&self, track: u32, offset: u64, length: u64) -> Result<Option<SealedPlan>, ClientError> {
        Ok(self.planned(track, offset, length).await?.map(|(_, plan)| plan))
    }

    /// A read planned, with the header of its track.
    async fn planned(
        &self,
        track: u32,
        offset: u64,
        length: u64,
    ) -> Result<Option<(SealedHeader, SealedPlan)>, ClientError> {
        let Some((header, range)) = self.read_range(track, offset, length).await? else {
            return Ok(None);
        };
        let key = self.content_key(&header)?.file_key_bytes(&header)?;
        let plan = header.read_plan(range)?;
        let source = self.sealed_source(track as usize, &header, &plan.bytes).await?;
        Ok(Some((header, SealedPlan { key, plan, source })))
    }

    /// The header of `track` and the plaintext range of a read, checked against the
    /// manifest: `None` when the range is empty (at the end of the track).
    async fn read_range(
        &self,
        track: u32,
        offset: u64,
        length: u64,
    ) -> Result<Option<(SealedHeader, std::ops::Range<u64>)>, ClientError> {
        let t = self.track(track)?;
        let sealed = t.sealed.ok_or(ClientError::InvalidArgument("this track is not sealed"))?;
        if offset >= sealed.original_length {
            return Err(ClientError::InvalidArgument("offset past the end of the track"));
        }
        let end = offset.saturating_add(length).min(sealed.original_length);
        if end == offset {
            return Ok(None);
        }
        let header = self.track_header(track as usize).await?;
        if header.plaintext_len() != sealed.original_length {
            return Err(crate::Error::SealedLength.into());
        }
        Ok(Some((header, offset..end)))
    }

    /// Whether every track is downloaded for offline use.
    pub fn is_downloaded(&self) -> bool {
        self.downloaded.load(Ordering::Relaxed)
    }

    /// Downloads every sealed track for offline use, now: as [`Client::download_title`]
    /// without a listener.
    pub async fn download(&self) -> Result<DownloadProgress, ClientError> {
        let progress = self.client.download_title(self.title_id(), &|_| {}).await?;
        self.downloaded.store(progress.state == super::DownloadState::Done, Ordering::Relaxed);
        Ok(progress)
    }

    pub(crate) async fn set_downloaded(&self, downloaded: bool) -> Result<(), ClientError> {
        let key = storage::license(self.title_id());
        let mut stored: StoredLicense =
            storage::load_json(self.host(), &key).await?.unwrap_or_else(|| self.license.clone());
        stored.downloaded = downloaded;
        storage::save_json(self.host(), &key, &stored).await?;
        self.downloaded.store(downloaded, Ordering::Relaxed);
        Ok(())
    }

    /// Removes the downloaded tracks (the license stays).
    pub async fn remove_download(&self) -> Result<(), ClientError> {
        self.client.remove_downloaded(self.title_id()).await?;
        self.downloaded.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Now, ms: the time a change is recorded with.
    fn now_ms(&self) -> i64 {
        self.host().now().saturating_mul(1000)
    }

    /// Saves the listening position (seconds on the title's timeline).
    pub async fn save_position(&self, seconds: f64) -> Result<(), ClientError> {
        let stored = StoredPosition { locator: self.publication.locator_at(seconds), changed: self.now_ms() };
        storage::save_json(self.host(), &storage::position(self.title_id()), &stored).await
    }

    async fn stored_position(&self) -> Result<Option<StoredPosition>, ClientError> {
        let bytes = self.host().load(&storage::position(self.title_id())).await.map_err(ClientError::Storage)?;
        Ok(bytes.as_deref().and_then(StoredPosition::parse))
    }

    /// The saved listening position, if any.
    pub async fn position(&self) -> Result<Option<f64>, ClientError> {
        Ok(self.stored_position().await?.and_then(|p| self.publication.resolve(&p.locator).ok()))
    }

    async fn stored_bookmarks(&self) -> Result<Vec<Bookmark>, ClientError> {
        Ok(storage::load_json(self.host(), &storage::bookmarks(self.title_id())).await?.unwrap_or_default())
    }

    fn bookmark_info(&self, b: &Bookmark) -> BookmarkInfo {
        BookmarkInfo {
            id: b.id.clone(),
            position: self.publication.resolve(&b.locator).unwrap_or(0.0),
            note: b.note.clone(),
            created: b.created,
            chapter: b.locator.title.clone(),
        }
    }

    /// Adds a bookmark at `seconds`.
    pub async fn add_bookmark(&self, seconds: f64, note: Option<String>) -> Result<BookmarkInfo, ClientError> {
        let mut id = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).map_err(|_| crate::Error::Random)?;
        let bookmark = Bookmark {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            locator: self.publication.locator_at(seconds),
            created: self.host().now(),
            note,
            changed: self.now_ms(),
            deleted: false,
        };
        let mut all = self.stored_bookmarks().await?;
        all.push(bookmark.clone());
        storage::save_json(self.host(), &storage::bookmarks(self.title_id()), &all).await?;
        Ok(self.bookmark_info(&bookmark))
    }

    /// The bookmarks, in timeline order.
    pub async fn bookmarks(&self) -> Result<Vec<BookmarkInfo>, ClientError> {
        let mut out: Vec<BookmarkInfo> =
            self.stored_bookmarks().await?.iter().filter(|b| !b.deleted).map(|b| self.bookmark_info(b)).collect();
        out.sort_by(|a, b| a.position.total_cmp(&b.position));
        Ok(out)
    }

    /// Removes a bookmark; `false` if there was none with this id. It is kept as a tombstone
    /// until synced, so that the customer's other devices remove it too.
    pub async fn remove_bookmark(&self, id: &str) -> Result<bool, ClientError> {
        let mut all = self.stored_bookmarks().await?;
        let now = self.now_ms();
        let Some(b) = all.iter_mut().find(|b| b.id == id && !b.deleted) else { return Ok(false) };
        b.deleted = true;
        b.changed = now;
        storage::save_json(self.host(), &storage::bookmarks(self.title_id()), &all).await?;
        Ok(true)
    }

    /// Brings this device's position and bookmarks together with the server's, for the
    /// customer whose token this is: what changed last wins, whichever device changed it
    /// (the server keeps the same rule, [`crate::position::Changed`]). Changes made offline
    /// are sent; changes made elsewhere are taken. Run it when the title opens and after
    /// listening, when online; offline it fails with a network error and changes nothing.
    pub async fn sync_listening(&self, customer_token: &str) -> Result<SyncReport, ClientError> {
        let mut report = SyncReport { position: None, sent: 0, received: 0 };
        let t = self.title_id().to_owned();

        // The position.
        let url = self.client.url(&format!("/v1/me/positions/{t}"));
        let remote: api::PositionView =
            api::json(self.client.send(api::authorized("GET", url.clone(), customer_token)).await?, "position")?;
        let local = self.stored_position().await?;
        let local_seconds = local.as_ref().and_then(|p| self.publication.resolve(&p.locator).ok());
        let kept = match (&local, local_seconds) {
            (Some(p), Some(seconds))
                if Changed::wins_over(p.changed, remote.changed_at.filter(|_| remote.seconds.is_some())) =>
            {
                report.sent = report.sent.saturating_add(1);
                let body = api::SavePosition { seconds, changed_at: p.changed };
                api::json::<api::PositionView>(
                    self.client.send(api::put(url, customer_token, &body)).await?,
                    "position",
                )?
            }
            _ => remote,
        };
        if let (Some(seconds), Some(changed)) = (kept.seconds, kept.changed_at) {
            if local.as_ref().is_none_or(|p| p.changed != changed) {
                report.received = report.received.saturating_add(1);
            }
            let stored = StoredPosition { locator: self.publication.locator_at(seconds), changed };
            storage::save_json(self.host(), &storage::position(&t), &stored).await?;
            report.position = Some(seconds);
        } else {
            report.position = local_seconds;
        }

        // The bookmarks, one by one: each change sent only if it is later than the server's.
        let url = self.client.url(&format!("/v1/me/bookmarks/{t}"));
        let remote: api::BookmarkList =
            api::json(self.client.send(api::authorized("GET", url, customer_token)).await?, "bookmarks")?;
        let local = self.stored_bookmarks().await?;
        let mut merged: Vec<Bookmark> = Vec::new();
        for mine in &local {
            let theirs = remote.items.iter().find(|r| r.id == mine.id);
            if !Changed::wins_over(mine.changed_ms(), theirs.map(|r| r.changed_at)) {
                continue;
            }
            let body = api::SaveBookmark {
                seconds: self.publication.resolve(&mine.locator).unwrap_or(0.0),
                note: mine.note.as_deref(),
                created_at: mine.created.saturating_mul(1000),
                changed_at: mine.changed_ms(),
                deleted: mine.deleted,
            };
            let url = self.client.url(&format!("/v1/me/bookmarks/{t}/{}", mine.id));
            let kept: api::BookmarkView =
                api::json(self.client.send(api::put(url, customer_token, &body)).await?, "bookmark")?;
            report.sent = report.sent.saturating_add(1);
            merged.push(self.as_stored(kept));
        }
        for theirs in remote.items {
            if merged.iter().any(|m| m.id == theirs.id) {
                continue;
            }
            // Taken from the server: new here, or changed later elsewhere.
            if local.iter().find(|b| b.id == theirs.id).is_none_or(|b| b.changed_ms() < theirs.changed_at) {
                report.received = report.received.saturating_add(1);
            }
            merged.push(self.as_stored(theirs));
        }
        merged.sort_by_key(|b| b.created);
        storage::save_json(self.host(), &storage::bookmarks(&t), &merged).await?;
        Ok(report)
    }

    /// A bookmark as the server kept it, as this device stores it.
    fn as_stored(&self, b: api::BookmarkView) -> Bookmark {
        Bookmark {
            id: b.id,
            locator: self.publication.locator_at(b.seconds),
            created: b.created_at.div_euclid(1000),
            note: b.note,
            changed: b.changed_at,
            deleted: b.deleted,
        }
    }
}

/// What [`OpenTitle::sync_listening`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct SyncReport {
    /// The position now, seconds on the title's timeline (`None`: none anywhere).
    pub position: Option<f64>,
    /// Changes this device sent (its own, made later than the server's).
    pub sent: u32,
    /// Changes this device took from the server (made later on another device).
    pub received: u32,
}
