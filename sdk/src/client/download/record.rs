//! What a download has stored, as blocks of whole chunks: sans-IO arithmetic.
//!
//! A track's sealed file is its 68-byte header (stored on its own) and then chunks of
//! ciphertext and tag. A *block* is as many consecutive chunks as hold 1 MiB of plaintext
//! ([`chunks_per_block`]: 16 of 64 KiB, 64 of 16 KiB); the last block of a track may hold fewer. Because a
//! block starts and ends on chunk boundaries, each one is authenticated on its own when it
//! arrives, and one range request fetches it.
//!
//! A block is stored under a key of its own once it is checked, and the host's writes are
//! atomic ([`crate::client::Host::save`]), so a stored block is a whole, checked block: the
//! keys present *are* the progress, and nothing else needs writing per block. The [`Layout`]
//! (each track's [`Geometry`]) is stored when a download starts, so that a title packaged again
//! since is noticed and its old blocks dropped. A [`Record`] is a layout with the blocks found.

use core::ops::Range;

use serde::{Deserialize, Serialize};

use crate::sealed::{HEADER_LEN, SealedHeader};

/// Plaintext per stored block: about as much as one range request should fetch.
const BLOCK_PLAINTEXT: u64 = 1 << 20;

/// Chunks per stored block, for a file of `chunk_size`-byte chunks: as many as hold
/// [`BLOCK_PLAINTEXT`], one at least. Files of 64 KiB chunks keep the 16 they had when the
/// count was fixed, so the layouts of downloads stored then still match.
pub(crate) fn chunks_per_block(chunk_size: u32) -> u64 {
    BLOCK_PLAINTEXT.checked_div(u64::from(chunk_size)).unwrap_or(1).max(1)
}

/// A track's blocks: where each lies in the sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Geometry {
    /// Length of the sealed file, header included.
    pub sealed_len: u64,
    /// Sealed bytes per full block.
    pub block_len: u64,
}

impl Geometry {
    /// The blocks of the file with this header.
    pub fn of(header: &SealedHeader) -> Self {
        let stride = u64::from(header.chunk_size()).saturating_add(crate::sealed::TAG_LEN as u64);
        Geometry {
            sealed_len: header.sealed_len(),
            block_len: stride.saturating_mul(chunks_per_block(header.chunk_size())),
        }
    }

    /// Sealed bytes after the header.
    fn body_len(&self) -> u64 {
        self.sealed_len.saturating_sub(HEADER_LEN as u64)
    }

    /// How many blocks.
    pub fn blocks(&self) -> u64 {
        // block_len is at least one chunk's stride (32 bytes), never zero.
        self.body_len()
            .checked_div(self.block_len)
            .unwrap_or(0)
            .saturating_add(u64::from(self.body_len().checked_rem(self.block_len).is_some_and(|r| r > 0)))
    }

    /// The sealed bytes of block `n`.
    pub fn range(&self, n: u64) -> Range<u64> {
        let start = (HEADER_LEN as u64).saturating_add(n.saturating_mul(self.block_len));
        start..start.saturating_add(self.block_len).min(self.sealed_len)
    }

    /// The index of block `n`'s first chunk, in a file of `chunk_size`-byte chunks.
    pub fn first_chunk(n: u64, chunk_size: u32) -> u64 {
        n.saturating_mul(chunks_per_block(chunk_size))
    }

    /// The block holding sealed byte `offset` (past the header).
    pub fn block_at(&self, offset: u64) -> u64 {
        offset.saturating_sub(HEADER_LEN as u64).checked_div(self.block_len).unwrap_or(0)
    }
}

/// One track's part of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackRecord {
    pub geometry: Geometry,
    /// A bit per block, set once the block is stored.
    done: Vec<u64>,
}

impl TrackRecord {
    fn new(geometry: Geometry) -> Self {
        let words = usize::try_from(geometry.blocks().div_ceil(64)).unwrap_or(0);
        TrackRecord { geometry, done: vec![0; words] }
    }

    /// Whether block `n` is stored.
    pub fn is_done(&self, n: u64) -> bool {
        let (word, bit) = (usize::try_from(n / 64).unwrap_or(usize::MAX), n % 64);
        self.done.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    /// Marks block `n` stored.
    pub fn mark(&mut self, n: u64) {
        let (word, bit) = (usize::try_from(n / 64).unwrap_or(usize::MAX), n % 64);
        if let Some(w) = self.done.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Sealed bytes stored (the header counts once it is: always, with a record).
    pub fn bytes(&self) -> u64 {
        (0..self.geometry.blocks())
            .filter(|&n| self.is_done(n))
            .map(|n| {
                let r = self.geometry.range(n);
                r.end.saturating_sub(r.start)
            })
            .fold(HEADER_LEN as u64, u64::saturating_add)
    }

    /// The blocks still missing.
    pub fn missing(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.geometry.blocks()).filter(|&n| !self.is_done(n))
    }

    /// Whether every block is stored.
    pub fn complete(&self) -> bool {
        self.missing().next().is_none()
    }
}

/// A title's record: per track, which blocks are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub tracks: Vec<TrackRecord>,
}

/// Each track's geometry, as stored beside a title's blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub tracks: Vec<Geometry>,
}

/// Where block `n` of `track` is stored, under the title's assets prefix.
pub(crate) fn block_key(assets: &str, track: usize, n: u64) -> String {
    format!("{assets}blocks/{track}/{n}")
}

impl Record {
    /// The record of `layout`, with the blocks whose keys are among `keys` (every stored key
    /// under the title's assets prefix `assets`; others are ignored).
    pub fn found(layout: &Layout, assets: &str, keys: &[String]) -> Self {
        let mut record = Record { tracks: layout.tracks.iter().map(|g| TrackRecord::new(*g)).collect() };
        let prefix = format!("{assets}blocks/");
        for key in keys {
            let Some((track, n)) = key.strip_prefix(&prefix).and_then(|k| k.split_once('/')) else { continue };
            if let (Ok(track), Ok(n)) = (track.parse::<usize>(), n.parse::<u64>())
                && let Some(t) = record.tracks.get_mut(track)
                && n < t.geometry.blocks()
            {
                t.mark(n);
            }
        }
        record
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        Layout { tracks: self.tracks.iter().map(|t| t.geometry).collect() }
    }

    /// Sealed bytes stored, all tracks.
    pub fn bytes(&self) -> u64 {
        self.tracks.iter().map(TrackRecord::bytes).fold(0, u64::saturating_add)
    }

    /// Sealed bytes in all, all tracks.
    pub fn total(&self) -> u64 {
        self.tracks.iter().map(|t| t.geometry.sealed_len).fold(0, u64::saturating_add)
    }

    /// Whether every block of every track is stored.
    pub fn complete(&self) -> bool {
        self.tracks.iter().all(TrackRecord::complete)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::sealed::{KeyId, TAG_LEN};

    fn geometry(chunk: u32, plaintext: u64) -> Geometry {
        Geometry::of(&SealedHeader::new(KeyId([1; 16]), chunk, plaintext, [2; 32]).unwrap())
    }

    #[test]
    fn blocks_are_whole_chunks_and_cover_the_file() {
        for (chunk, len) in [
            (64 * 1024, 0),
            (64 * 1024, 1),
            (64 * 1024, 16 * 64 * 1024),
            (64 * 1024, 5_000_000),
            (16 * 1024, 5_000_000),
            (16 * 1024 * 1024, 40_000_000),
            (16, 1000),
        ] {
            let g = geometry(chunk, len);
            let stride = u64::from(chunk) + TAG_LEN as u64;
            let mut at = HEADER_LEN as u64;
            for n in 0..g.blocks() {
                let r = g.range(n);
                assert_eq!(r.start, at, "blocks follow each other");
                assert_eq!((r.start - HEADER_LEN as u64) % stride, 0, "a block starts on a chunk");
                assert_eq!(Geometry::first_chunk(n, chunk), (r.start - HEADER_LEN as u64) / stride, "its first chunk");
                assert_eq!(g.block_at(r.start), n);
                assert_eq!(g.block_at(r.end - 1), n);
                at = r.end;
            }
            assert_eq!(at, g.sealed_len, "the blocks end where the file does ({chunk}, {len})");
        }
        assert_eq!(geometry(64 * 1024, 0).blocks(), 1, "an empty file still has its one chunk");
        assert_eq!(geometry(64 * 1024, 16 * 64 * 1024).blocks(), 1);
        assert_eq!(geometry(64 * 1024, 16 * 64 * 1024 + 1).blocks(), 2);
        // A block holds 1 MiB of plaintext whatever the chunk size; 64 KiB chunks keep the
        // 16 per block that layouts stored before the count depended on it have.
        assert_eq!(geometry(64 * 1024, 5_000_000).block_len, 16 * (64 * 1024 + TAG_LEN as u64));
        assert_eq!(geometry(16 * 1024, 5_000_000).block_len, 64 * (16 * 1024 + TAG_LEN as u64));
        assert_eq!(geometry(16 * 1024 * 1024, 40_000_000).block_len, 16 * 1024 * 1024 + TAG_LEN as u64);
    }

    #[test]
    fn the_record_counts_what_is_stored() {
        let g = [geometry(64 * 1024, 5_000_000), geometry(64 * 1024, 100)];
        let layout = Layout { tracks: g.to_vec() };
        let mut r = Record::found(&layout, "a/", &[]);
        assert_eq!(r.bytes(), 2 * HEADER_LEN as u64);
        assert!(!r.complete());
        let missing: Vec<u64> = r.tracks[0].missing().collect();
        assert_eq!(missing, (0..g[0].blocks()).collect::<Vec<_>>());
        r.tracks[0].mark(1);
        let one = g[0].range(1);
        assert_eq!(r.bytes(), 2 * HEADER_LEN as u64 + one.end - one.start);
        for n in 0..g[0].blocks() {
            r.tracks[0].mark(n);
        }
        r.tracks[1].mark(0);
        assert!(r.complete());
        assert_eq!(r.bytes(), r.total());

        // Found again from the keys: the same record; keys of other things are ignored.
        let mut keys: Vec<String> = (0..g[0].blocks()).map(|n| block_key("a/", 0, n)).collect();
        keys.extend([
            block_key("a/", 1, 0),
            block_key("a/", 1, 7),
            block_key("a/", 9, 0),
            "a/layout".into(),
            "a/0/3".into(),
        ]);
        assert_eq!(Record::found(&layout, "a/", &keys), r);
        assert_eq!(Record::found(&layout, "b/", &keys).bytes(), 2 * HEADER_LEN as u64);
        assert_eq!(r.layout(), layout);
    }
}
