//! Fetching a title's missing blocks: several workers claim blocks from one list, fetch each
//! with a range request, authenticate it, store it, and mark it in the record.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::Poll;

use super::record::block_key;
use super::record::{Geometry, Record};
use super::{DownloadSettings, Stop};
use crate::client::error::ClientError;
use crate::client::host::{Host, KeyStore};
use crate::client::storage;
use crate::client::title::OpenTitle;
use crate::sealed::{HEADER_LEN, SealedHeader};

/// Runs `futures` together in this task, until all are done. (Polling each on every wake is
/// fine for the few a download runs, and costs the wasm package far less than an executor's
/// `join_all`.)
async fn join_all<F: Future<Output = ()>>(futures: impl IntoIterator<Item = F>) {
    let mut pending: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for slot in &mut pending {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    waiting = true;
                }
            }
        }
        if waiting { Poll::Pending } else { Poll::Ready(()) }
    })
    .await
}

/// The longest wait between two attempts.
const MAX_DELAY_MS: u64 = 30_000;

/// What the workers share.
struct Shared {
    record: Record,
    todo: VecDeque<(usize, u64)>,
    failure: Option<ClientError>,
}

/// Whether an attempt's failure may pass: no answer, or an answer saying "later".
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Network(_) | ClientError::Core(crate::Error::SealedLength) => true,
        ClientError::Server(p) => p.status == 408 || p.status == 429 || p.status >= 500,
        _ => false,
    }
}

/// A random number in `0..=max`, for jitter (0 when the system has no randomness to give).
fn jitter(max: u64) -> u64 {
    let mut bytes = [0u8; 8];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        return 0;
    }
    u64::from_le_bytes(bytes).checked_rem(max.saturating_add(1)).unwrap_or(0)
}

/// The wait before attempt `attempt + 1`: half the doubled delay, plus up to as much again.
fn backoff(settings: &DownloadSettings, attempt: u32) -> u64 {
    let doubled = settings
        .retry_delay_ms
        .saturating_mul(1u64.checked_shl(attempt.saturating_sub(1)).unwrap_or(u64::MAX))
        .min(MAX_DELAY_MS);
    let half = doubled / 2;
    half.saturating_add(jitter(half))
}

impl<H: Host, K: KeyStore> OpenTitle<H, K> {
    /// Each track's blocks (fetching the headers not yet known: one small request each, retried
    /// as blocks are).
    pub(crate) async fn geometries(&self, settings: &DownloadSettings) -> Result<Vec<Geometry>, ClientError> {
        let mut out = Vec::new();
        for i in 0..self.publication().tracks().len() {
            let header = match self.known_header(i).await? {
                Some(header) => header,
                None => {
                    let check = |bytes: &[u8]| SealedHeader::parse(bytes).map(drop);
                    let bytes = self.fetch_checked(i, 0..HEADER_LEN as u64, settings, &check).await?;
                    self.keep_header(i, bytes).await?
                }
            };
            out.push(Geometry::of(&header));
        }
        Ok(out)
    }

    /// Fetches sealed bytes `range` of `track` that pass `check`, retrying transient failures
    /// after a wait, and bytes that fail the check at once.
    async fn fetch_checked(
        &self,
        track: usize,
        range: Range<u64>,
        settings: &DownloadSettings,
        check: &dyn Fn(&[u8]) -> Result<(), crate::Error>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut attempt: u32 = 1;
        loop {
            let error = match self.fetch_sealed(track, range.clone()).await {
                Ok(bytes) => match check(&bytes) {
                    Ok(()) => return Ok(bytes),
                    // Damaged on the way: fetched again at once, without waiting.
                    Err(e) => ClientError::Core(e),
                },
                Err(e) if transient(&e) => {
                    if attempt < settings.attempts {
                        self.client.host().sleep(backoff(settings, attempt)).await;
                    }
                    e
                }
                Err(e) => return Err(e),
            };
            if attempt >= settings.attempts {
                return Err(error);
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// Fetches every block `record` lacks, `settings.parallel` at a time, calling `emit` after
    /// each is stored. `None` when all are stored, or the stop the app asked for.
    pub(crate) async fn fetch_missing(
        &self,
        record: Record,
        settings: &DownloadSettings,
        stop: &dyn Fn() -> Option<Stop>,
        emit: &dyn Fn(&Record),
    ) -> Result<Option<Stop>, ClientError> {
        let title = self.title_id().to_owned();
        let mut openers = Vec::new();
        for i in 0..record.tracks.len() {
            openers.push(self.opener(self.track_header(i).await?)?);
        }
        let todo = record.tracks.iter().enumerate().flat_map(|(i, t)| t.missing().map(move |n| (i, n))).collect();
        let assets = storage::assets(&title);
        emit(&record);
        let shared = Mutex::new(Shared { record, todo, failure: None });
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
        let worker = || async {
            loop {
                let claimed = {
                    let mut s = lock();
                    if s.failure.is_some() || stop().is_some() { None } else { s.todo.pop_front() }
                };
                let Some((track, n)) = claimed else { return };
                let (Some(opener), Some(geometry)) =
                    (openers.get(track), lock().record.tracks.get(track).map(|t| t.geometry))
                else {
                    return;
                };
                let check = |bytes: &[u8]| opener.verify(Geometry::first_chunk(n, opener.header().chunk_size()), bytes);
                let stored = match self.fetch_checked(track, geometry.range(n), settings, &check).await {
                    Ok(bytes) => self
                        .client
                        .host()
                        .save(&block_key(&assets, track, n), bytes)
                        .await
                        .map_err(ClientError::Storage),
                    Err(e) => Err(e),
                };
                let mut s = lock();
                if let Err(e) = stored {
                    s.failure.get_or_insert(e);
                    return;
                }
                if let Some(t) = s.record.tracks.get_mut(track) {
                    t.mark(n);
                }
                // Stored, so what listeners are told survives a kill; under the lock, so in order.
                emit(&s.record);
            }
        };
        join_all((0..settings.parallel.max(1)).map(|_| worker())).await;
        let mut s = lock();
        if let Some(e) = s.failure.take() {
            return Err(e);
        }
        Ok(if s.record.complete() { None } else { stop().or(Some(Stop::Pause)) })
    }
}
