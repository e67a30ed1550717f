//! Sealed assets: a content file encrypted in fixed-size chunks with AES-256-GCM.
//!
//! The layout (normative text and test vectors in `docs/formats.md`):
//!
//! ```text
//! header (68 bytes)                         chunk 0            chunk 1          …  chunk n-1
//! magic "FOUNTSA" | 0x01 | chunk size u32 | ciphertext | tag | ciphertext | tag | … (last may be short)
//! plaintext length u64 | key id [16] | salt [32]
//! ```
//!
//! All integers are big-endian. Chunk `i` holds plaintext bytes `[i·C, min((i+1)·C, L))`
//! followed by its 16-byte tag; an empty file still has one (empty) chunk, so that cutting
//! every chunk off is noticed. Each file gets its own AES key,
//! `HKDF-SHA256(salt, content key, "fount-sealed-asset-v1")`, so one content key can seal
//! many files with counter nonces. Chunk `i`'s nonce is `i (u64) || last (u8) || 0 0 0` and its
//! additional data is `header || i (u64) || last (u8)`. Hence:
//!
//! * a flipped bit anywhere fails that chunk's tag (or, in the header, every chunk's);
//! * a chunk moved to another index fails, since the index is in its nonce and data;
//! * truncation shows: the header fixes the length, and only the final chunk carries `last`.
//!
//! Any plaintext range can be read by fetching just the chunks that cover it:
//! [`SealedHeader::sealed_range`] says which bytes, [`Opener::read`] decrypts them. This is
//! what lets sealed files sit on any static host or CDN and be read with HTTP range requests.

use core::ops::Range;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::SecureRandom;
use zeroize::Zeroizing;

use crate::encoding::{b64, unb64_array};
use crate::{Error, Result};

/// The first seven bytes of every sealed asset.
pub const MAGIC: &[u8; 7] = b"FOUNTSA";
/// The format version this implementation reads and writes.
pub const VERSION: u8 = 1;
/// Length of the header in bytes.
pub const HEADER_LEN: usize = 68;
/// Length of each chunk's authentication tag.
pub const TAG_LEN: usize = 16;
/// The chunk size the server packages with: 16 KiB of plaintext. A player can release no byte
/// of a chunk before all of it has arrived and authenticated, so on a slow link the first sound
/// waits for one whole chunk (58 ms of a 9 Mbit/s link at 64 KiB, 15 ms at 16 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 16 * 1024;
/// Smallest chunk size accepted.
pub const MIN_CHUNK_SIZE: u32 = 16;
/// Largest chunk size accepted (16 MiB): bounds the memory a reader must give one chunk.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// Largest plaintext accepted (2^48 bytes), far beyond any audio file, and small enough that
/// no offset computation can overflow.
pub const MAX_PLAINTEXT_LEN: u64 = 1 << 48;
const HKDF_INFO: &[u8] = b"fount-sealed-asset-v1";

/// A content key id: 16 bytes, written as 22 base64url characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// Parses the base64url form.
    pub fn parse(text: &str) -> Result<Self> {
        unb64_array(text, "key id").map(KeyId)
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&b64(self.0))
    }
}

/// A 256-bit content key and its id. Zeroed when dropped.
#[derive(Clone)]
pub struct ContentKey {
    id: KeyId,
    key: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ContentKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl ContentKey {
    /// Wraps key bytes with their id.
    pub fn new(id: KeyId, key: Zeroizing<[u8; 32]>) -> Self {
        ContentKey { id, key }
    }

    /// A key unwrapped from a license: exactly 32 bytes.
    pub fn from_unwrapped(id: KeyId, bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| Error::KeyUnwrap)?;
        Ok(ContentKey { id, key: Zeroizing::new(key) })
    }

    /// A new random key with a new random id.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self> {
        let mut id = [0u8; 16];
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill(&mut id).map_err(|_| Error::Random)?;
        rng.fill(key.as_mut()).map_err(|_| Error::Random)?;
        Ok(ContentKey { id: KeyId(id), key })
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The raw key, for the server to wrap it to a device.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.key
    }

    fn file_key(&self, salt: &[u8; 32]) -> Result<LessSafeKey> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(self.key.as_ref());
        let okm = prk.expand(&[HKDF_INFO], &AES_256_GCM).map_err(|_| Error::InvalidKey("hkdf"))?;
        Ok(LessSafeKey::new(UnboundKey::from(okm)))
    }

    /// The AES-256-GCM key of the sealed file with `header`, as bytes: for a host that opens
    /// chunks with its own AES-GCM, as a browser does with WebCrypto's hardware AES where
    /// WebAssembly has none (see [`ReadPlan`]). It opens that one file only; the content key
    /// never leaves the core. The key's id must match the header's.
    pub fn file_key_bytes(&self, header: &SealedHeader) -> Result<Zeroizing<[u8; 32]>> {
        if header.key_id != self.id {
            return Err(Error::NoContentKey);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &header.salt).extract(self.key.as_ref());
        let okm = prk.expand(&[HKDF_INFO], &AES_256_GCM).map_err(|_| Error::InvalidKey("hkdf"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        okm.fill(key.as_mut()).map_err(|_| Error::InvalidKey("hkdf"))?;
        Ok(key)
    }
}

/// A parsed, checked sealed-asset header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeader {
    chunk_size: u32,
    plaintext_len: u64,
    key_id: KeyId,
    salt: [u8; 32],
    raw: [u8; HEADER_LEN],
}

/// Which sealed bytes cover a plaintext range: fetch `bytes`, starting at chunk `first_chunk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSpan {
    /// Index of the first chunk in the span.
    pub first_chunk: u64,
    /// The sealed byte range to fetch (an HTTP `Range: bytes=start-(end-1)`).
    pub bytes: Range<u64>,
}

/// A read of a plaintext range for a host that opens the chunks with its own AES-GCM (with
/// the key of [`ContentKey::file_key_bytes`]): which sealed bytes to get, and for each chunk
/// in them, where it lies, its nonce and its additional data. The host opens every chunk
/// with a 128-bit tag, joins the plaintexts, and keeps `len` bytes from `skip`.
///
/// A chunk that fails to open is tampered with, as [`Opener::read`] would report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// The sealed byte range to get (an HTTP `Range: bytes=start-(end-1)`).
    pub bytes: Range<u64>,
    /// The chunks of `bytes`, in order: consecutive chunks of the file, the first at the
    /// start of `bytes` and each one stride (the chunk size plus the tag) after the one
    /// before, the last one shorter when it is the file's last. Hosts may rely on this
    /// layout (the JavaScript binding packs the chunks by it).
    pub chunks: Vec<PlannedChunk>,
    /// How many plaintext bytes of the first chunk come before the range.
    pub skip: u64,
    /// The range's length.
    pub len: u64,
}

/// One chunk of a [`ReadPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChunk {
    /// The chunk's index in the file.
    pub index: u64,
    /// Where its sealed bytes (ciphertext and tag) lie within the plan's `bytes`.
    pub within: Range<u64>,
    /// Its AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Its AES-GCM additional data.
    pub aad: [u8; HEADER_LEN + 9],
}

impl SealedHeader {
    /// The plan of a read of plaintext range `plain` (see [`ReadPlan`]). An empty range, or
    /// one reaching past the end, is refused.
    pub fn read_plan(&self, plain: Range<u64>) -> Result<ReadPlan> {
        let span = self.sealed_range(plain.clone())?;
        let c = u64::from(self.chunk_size);
        let last = plain.end.saturating_sub(1).checked_div(c).ok_or(Error::Range)?;
        let mut chunks = Vec::new();
        for index in span.first_chunk..=last {
            let range = self.chunk_range(index)?;
            let within = range.start.saturating_sub(span.bytes.start)..range.end.saturating_sub(span.bytes.start);
            let (nonce, aad) = self.nonce_and_aad(index);
            chunks.push(PlannedChunk { index, within, nonce, aad });
        }
        let skip = plain.start.saturating_sub(span.first_chunk.saturating_mul(c));
        Ok(ReadPlan { bytes: span.bytes, chunks, skip, len: plain.end.saturating_sub(plain.start) })
    }

    /// A header for a new asset.
    pub fn new(key_id: KeyId, chunk_size: u32, plaintext_len: u64, salt: [u8; 32]) -> Result<Self> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(Error::Malformed("sealed header: chunk size"));
        }
        if plaintext_len > MAX_PLAINTEXT_LEN {
            return Err(Error::Malformed("sealed header: length"));
        }
        let mut raw = [0u8; HEADER_LEN];
        let fields: [&[u8]; 6] =
            [MAGIC, &[VERSION], &chunk_size.to_be_bytes(), &plaintext_len.to_be_bytes(), &key_id.0, &salt];
        let mut at = 0usize;
        for field in fields {
            let end = at.saturating_add(field.len());
            if let Some(dst) = raw.get_mut(at..end) {
                dst.copy_from_slice(field);
            }
            at = end;
        }
        Ok(SealedHeader { chunk_size, plaintext_len, key_id, salt, raw })
    }

    /// Parses the header from the first [`HEADER_LEN`] bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let raw: [u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Malformed("sealed header: too short"))?;
        let (magic, rest) = raw.split_at(7);
        let (version, rest) = rest.split_at(1);
        let (chunk, rest) = rest.split_at(4);
        let (len, rest) = rest.split_at(8);
        let (key_id, salt) = rest.split_at(16);
        if magic != MAGIC {
            return Err(Error::Malformed("sealed header: magic"));
        }
        if version != [VERSION] {
            return Err(Error::Unsupported("sealed header: version"));
        }
        fn array<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
            b.try_into().map_err(|_| Error::Malformed("sealed header"))
        }
        let header = Self::new(
            KeyId(array(key_id)?),
            u32::from_be_bytes(array(chunk)?),
            u64::from_be_bytes(array(len)?),
            array(salt)?,
        )?;
        debug_assert_eq!(header.raw, raw);
        Ok(header)
    }

    /// The header bytes.
    pub fn as_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.raw
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Length of the original file.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// The id of the content key that sealed it.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Number of chunks: `max(1, ceil(L / C))`.
    pub fn chunk_count(&self) -> u64 {
        self.plaintext_len.div_ceil(u64::from(self.chunk_size)).max(1)
    }

    /// Total length of the sealed file: header, plaintext, and one tag per chunk.
    pub fn sealed_len(&self) -> u64 {
        // Bounded by MAX_PLAINTEXT_LEN, so no overflow.
        (HEADER_LEN as u64)
            .saturating_add(self.plaintext_len)
            .saturating_add(self.chunk_count().saturating_mul(TAG_LEN as u64))
    }

    /// Plaintext length of chunk `index`.
    fn chunk_plain_len(&self, index: u64) -> Result<u64> {
        let start = index.checked_mul(u64::from(self.chunk_size)).ok_or(Error::Range)?;
        if index >= self.chunk_count() {
            return Err(Error::Range);
        }
        Ok(self.plaintext_len.saturating_sub(start).min(u64::from(self.chunk_size)))
    }

    /// The sealed byte range holding chunk `index` (ciphertext and tag).
    pub fn chunk_range(&self, index: u64) -> Result<Range<u64>> {
        let len = self.chunk_plain_len(index)?;
        let stride = u64::from(self.chunk_size).saturating_add(TAG_LEN as u64);
        let start = (HEADER_LEN as u64).saturating_add(index.saturating_mul(stride));
        Ok(start..start.saturating_add(len).saturating_add(TAG_LEN as u64))
    }

    /// The chunks, and the sealed bytes, that cover plaintext range `plain`.
    /// An empty range, or one reaching past the end, is refused.
    pub fn sealed_range(&self, plain: Range<u64>) -> Result<SealedSpan> {
        if plain.start >= plain.end || plain.end > self.plaintext_len {
            return Err(Error::Range);
        }
        let c = u64::from(self.chunk_size);
        // c >= MIN_CHUNK_SIZE, so the divisions cannot fail.
        let first = plain.start.checked_div(c).ok_or(Error::Range)?;
        let last = plain.end.saturating_sub(1).checked_div(c).ok_or(Error::Range)?;
        Ok(SealedSpan { first_chunk: first, bytes: self.chunk_range(first)?.start..self.chunk_range(last)?.end })
    }

    fn is_last(&self, index: u64) -> bool {
        index.saturating_add(1) == self.chunk_count()
    }

    fn nonce_and_aad(&self, index: u64) -> ([u8; NONCE_LEN], [u8; HEADER_LEN + 9]) {
        let last = u8::from(self.is_last(index));
        let mut nonce = [0u8; NONCE_LEN];
        let mut aad = [0u8; HEADER_LEN + 9];
        let (n_index, n_rest) = nonce.split_at_mut(8);
        n_index.copy_from_slice(&index.to_be_bytes());
        if let Some(flag) = n_rest.first_mut() {
            *flag = last;
        }
        let (a_header, a_rest) = aad.split_at_mut(HEADER_LEN);
        a_header.copy_from_slice(&self.raw);
        let (a_index, a_flag) = a_rest.split_at_mut(8);
        a_index.copy_from_slice(&index.to_be_bytes());
        a_flag.copy_from_slice(&[last]);
        (nonce, aad)
    }
}

/// Seals a file chunk by chunk, so that the server never holds a whole file in memory.
pub struct Sealer {
    header: SealedHeader,
    key: LessSafeKey,
    next: u64,
}

impl Sealer {
    /// A sealer with a fresh random salt.
    pub fn new(key: &ContentKey, chunk_size: u32, plaintext_len: u64, rng: &dyn SecureRandom) -> Result<Self> {
        let mut salt = [0u8; 32];
        rng.fill(&mut salt).map_err(|_| Error::Random)?;
        Self::with_salt(key, chunk_size, plaintext_len, salt)
    }

    /// A sealer with a given salt. Reusing a salt with the same key reuses nonces; only test
    /// vectors should call this.
    pub fn with_salt(key: &ContentKey, chunk_size: u32, plaintext_len: u64, salt: [u8; 32]) -> Result<Self> {
        let header = SealedHeader::new(key.id(), chunk_size, plaintext_len, salt)?;
        let key = key.file_key(&header.salt)?;
        Ok(Sealer { header, key, next: 0 })
    }

    /// The header, to write before the first chunk.
    pub fn header(&self) -> &SealedHeader {
        &self.header
    }

    /// Whether every chunk has been sealed.
    pub fn is_finished(&self) -> bool {
        self.next >= self.header.chunk_count()
    }

    /// Seals the next chunk, which must be exactly as long as the layout says (the chunk size,
    /// or what remains for the final chunk). Returns ciphertext followed by tag.
    pub fn seal_chunk(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let expected = self.header.chunk_plain_len(self.next)?;
        if plaintext.len() as u64 != expected {
            return Err(Error::Range);
        }
        let (nonce, aad) = self.header.nonce_and_aad(self.next);
        let mut out = Vec::with_capacity(plaintext.len().saturating_add(TAG_LEN));
        out.extend_from_slice(plaintext);
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad[..]), &mut out)
            .map_err(|_| Error::Range)?;
        self.next = self.next.saturating_add(1);
        Ok(out)
    }
}

/// Seals a whole file held in memory: header then every chunk.
pub fn seal(key: &ContentKey, chunk_size: u32, plaintext: &[u8], rng: &dyn SecureRandom) -> Result<Vec<u8>> {
    let sealer = Sealer::new(key, chunk_size, plaintext.len() as u64, rng)?;
    seal_all(sealer, plaintext)
}

/// [`seal`] with a given salt, for test vectors.
pub fn seal_with_salt(key: &ContentKey, chunk_size: u32, plaintext: &[u8], salt: [u8; 32]) -> Result<Vec<u8>> {
    let sealer = Sealer::with_salt(key, chunk_size, plaintext.len() as u64, salt)?;
    seal_all(sealer, plaintext)
}

fn seal_all(mut sealer: Sealer, plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(sealer.header.sealed_len()).map_err(|_| Error::Range)?);
    out.extend_from_slice(sealer.header.as_bytes());
    let chunk_size = sealer.header.chunk_size as usize;
    if plaintext.is_empty() {
        out.extend(sealer.seal_chunk(&[])?);
    }
    for chunk in plaintext.chunks(chunk_size) {
        out.extend(sealer.seal_chunk(chunk)?);
    }
    Ok(out)
}

/// Opens chunks of one sealed asset.
pub struct Opener {
    header: SealedHeader,
    key: LessSafeKey,
}

impl Opener {
    /// An opener for the asset with `header`. The key's id must match the header's.
    pub fn new(header: SealedHeader, key: &ContentKey) -> Result<Self> {
        if header.key_id != key.id() {
            return Err(Error::NoContentKey);
        }
        let file_key = key.file_key(&header.salt)?;
        Ok(Opener { header, key: file_key })
    }

    /// The header.
    pub fn header(&self) -> &SealedHeader {
        &self.header
    }

    /// Decrypts chunk `index` in place: `buf` holds exactly that chunk's sealed bytes
    /// (ciphertext and tag); on success the returned slice is its plaintext.
    pub fn open_chunk_in_place<'b>(&self, index: u64, buf: &'b mut [u8]) -> Result<&'b mut [u8]> {
        let range = self.header.chunk_range(index)?;
        if buf.len() as u64 != range.end.saturating_sub(range.start) {
            return Err(Error::SealedLength);
        }
        let (nonce, aad) = self.header.nonce_and_aad(index);
        self.key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad[..]), buf)
            .map_err(|_| Error::ChunkAuthentication(index))
    }

    /// Checks every chunk of `sealed`, whole chunks from `first_chunk` on (the last one may be
    /// the file's short final chunk), without keeping the plaintext: what a download does with
    /// each block before storing it. Fails with the first chunk that does not authenticate,
    /// or [`Error::SealedLength`] when the bytes do not end on a chunk's end.
    pub fn verify(&self, first_chunk: u64, sealed: &[u8]) -> Result<()> {
        let mut scratch = Vec::new();
        let mut index = first_chunk;
        let mut rest = sealed;
        while !rest.is_empty() {
            let range = self.header.chunk_range(index)?;
            let len = usize::try_from(range.end.saturating_sub(range.start)).map_err(|_| Error::Range)?;
            let (chunk, tail) = rest.split_at_checked(len).ok_or(Error::SealedLength)?;
            scratch.clear();
            scratch.extend_from_slice(chunk);
            self.open_chunk_in_place(index, &mut scratch)?;
            rest = tail;
            index = index.saturating_add(1);
        }
        Ok(())
    }

    /// Decrypts plaintext range `plain`, given `sealed`: exactly the bytes of
    /// [`SealedHeader::sealed_range`] for that range.
    ///
    /// Each chunk is copied once, into the output, and decrypted there; only the first chunk,
    /// whose head may be cut, goes through a scratch buffer.
    pub fn read(&self, plain: Range<u64>, sealed: &[u8]) -> Result<Vec<u8>> {
        let span = self.header.sealed_range(plain.clone())?;
        if sealed.len() as u64 != span.bytes.end.saturating_sub(span.bytes.start) {
            return Err(Error::SealedLength);
        }
        let want = usize::try_from(plain.end.saturating_sub(plain.start)).map_err(|_| Error::Range)?;
        let mut out = Vec::with_capacity(sealed.len());
        let c = u64::from(self.header.chunk_size);
        let mut index = span.first_chunk;
        let mut offset = 0usize;
        while offset < sealed.len() {
            let range = self.header.chunk_range(index)?;
            let len = usize::try_from(range.end.saturating_sub(range.start)).map_err(|_| Error::Range)?;
            let end = offset.saturating_add(len);
            let chunk = sealed.get(offset..end).ok_or(Error::SealedLength)?;
            let skip =
                usize::try_from(plain.start.saturating_sub(index.saturating_mul(c))).map_err(|_| Error::Range)?;
            if skip > 0 {
                let mut scratch = chunk.to_vec();
                let plaintext = self.open_chunk_in_place(index, &mut scratch)?;
                out.extend_from_slice(plaintext.get(skip..).ok_or(Error::Range)?);
            } else {
                let base = out.len();
                out.extend_from_slice(chunk);
                let tail = out.get_mut(base..).ok_or(Error::Range)?;
                let n = self.open_chunk_in_place(index, tail)?.len();
                out.truncate(base.saturating_add(n));
            }
            offset = end;
            index = index.saturating_add(1);
        }
        out.truncate(want);
        Ok(out)
    }
}

/// Opens a whole sealed asset held in memory, checking its length exactly.
pub fn open(key: &ContentKey, sealed: &[u8]) -> Result<Vec<u8>> {
    let header = SealedHeader::parse(sealed)?;
    if sealed.len() as u64 != header.sealed_len() {
        return Err(Error::SealedLength);
    }
    let opener = Opener::new(header, key)?;
    if opener.header.plaintext_len == 0 {
        let mut last = sealed.get(HEADER_LEN..).ok_or(Error::SealedLength)?.to_vec();
        opener.open_chunk_in_place(0, &mut last)?;
        return Ok(Vec::new());
    }
    opener.read(0..opener.header.plaintext_len, sealed.get(HEADER_LEN..).ok_or(Error::SealedLength)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn key() -> ContentKey {
        ContentKey::generate(&SystemRandom::new()).unwrap()
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trip_various_sizes() {
        let k = key();
        for n in [0, 1, 15, 16, 17, 64, 100, 1000] {
            let plain = data(n);
            let sealed = seal(&k, 16, &plain, &SystemRandom::new()).unwrap();
            let header = SealedHeader::parse(&sealed).unwrap();
            assert_eq!(sealed.len() as u64, header.sealed_len(), "n={n}");
            assert_eq!(open(&k, &sealed).unwrap(), plain, "n={n}");
        }
    }

    #[test]
    fn every_range_reads_back() {
        let k = key();
        let plain = data(100);
        let sealed = seal(&k, 16, &plain, &SystemRandom::new()).unwrap();
        let header = SealedHeader::parse(&sealed).unwrap();
        let opener = Opener::new(header.clone(), &k).unwrap();
        for start in 0..100u64 {
            for end in start + 1..=100 {
                let span = header.sealed_range(start..end).unwrap();
                let bytes = &sealed[span.bytes.start as usize..span.bytes.end as usize];
                assert_eq!(opener.read(start..end, bytes).unwrap(), &plain[start as usize..end as usize]);
            }
        }
        assert_eq!(header.sealed_range(5..5), Err(Error::Range));
        assert_eq!(header.sealed_range(0..101), Err(Error::Range));
    }

    /// What a host with its own AES-GCM does with a plan and the file key: every range reads
    /// back, as the core's own reader gives it.
    #[test]
    fn a_read_plan_opens_every_range_with_the_file_key() {
        let k = key();
        let plain = data(100);
        let sealed = seal(&k, 16, &plain, &SystemRandom::new()).unwrap();
        let header = SealedHeader::parse(&sealed).unwrap();
        let file_key = k.file_key_bytes(&header).unwrap();
        let aes = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, file_key.as_ref()).unwrap());
        for start in 0..100u64 {
            for end in start + 1..=100 {
                let plan = header.read_plan(start..end).unwrap();
                assert_eq!(plan.bytes, header.sealed_range(start..end).unwrap().bytes);
                let bytes = &sealed[plan.bytes.start as usize..plan.bytes.end as usize];
                let mut joined = Vec::new();
                let stride = 16 + TAG_LEN as u64;
                let first = plan.chunks[0].index;
                for (i, chunk) in plan.chunks.iter().enumerate() {
                    // The layout `ReadPlan::chunks` promises.
                    let i = i as u64;
                    assert_eq!(chunk.index, first + i);
                    assert_eq!(chunk.within, i * stride..((i + 1) * stride).min(plan.bytes.end - plan.bytes.start));
                    let mut buf = bytes[chunk.within.start as usize..chunk.within.end as usize].to_vec();
                    let nonce = Nonce::assume_unique_for_key(chunk.nonce);
                    joined.extend_from_slice(aes.open_in_place(nonce, Aad::from(&chunk.aad[..]), &mut buf).unwrap());
                }
                let got = &joined[plan.skip as usize..(plan.skip + plan.len) as usize];
                assert_eq!(got, &plain[start as usize..end as usize], "{start}..{end}");
            }
        }
        assert_eq!(header.read_plan(5..5), Err(Error::Range));
        assert_eq!(header.read_plan(0..101), Err(Error::Range));
        // Another key's header is refused.
        assert_eq!(key().file_key_bytes(&header).map(|_| ()), Err(Error::NoContentKey));
    }

    #[test]
    fn tampering_is_detected() {
        let k = key();
        let plain = data(64);
        let sealed = seal(&k, 16, &plain, &SystemRandom::new()).unwrap();
        // A flipped bit in a chunk.
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 40] ^= 0x01;
        assert_eq!(open(&k, &flipped), Err(Error::ChunkAuthentication(1)));
        // A flipped bit in the salt (header): the first chunk fails.
        let mut header_flip = sealed.clone();
        header_flip[50] ^= 0x80;
        assert_eq!(open(&k, &header_flip), Err(Error::ChunkAuthentication(0)));
        // Truncation by a whole chunk, and by one byte.
        assert_eq!(open(&k, &sealed[..sealed.len() - 32]), Err(Error::SealedLength));
        assert_eq!(open(&k, &sealed[..sealed.len() - 1]), Err(Error::SealedLength));
        // Two chunks swapped.
        let mut swapped = sealed.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + 32);
        let first: Vec<u8> = swapped[a..a + 32].to_vec();
        swapped.copy_within(b..b + 32, a);
        swapped[b..b + 32].copy_from_slice(&first);
        assert_eq!(open(&k, &swapped), Err(Error::ChunkAuthentication(0)));
        // The last chunk's flag: a file re-declared shorter, so an inner chunk looks final.
        let mut shorter = sealed[..HEADER_LEN + 64].to_vec();
        shorter[12..20].copy_from_slice(&32u64.to_be_bytes());
        assert!(open(&k, &shorter).is_err());
        // The wrong key.
        assert_eq!(open(&key(), &sealed), Err(Error::NoContentKey));
    }

    #[test]
    fn header_parse_refuses_nonsense() {
        assert_eq!(SealedHeader::parse(b"short"), Err(Error::Malformed("sealed header: too short")));
        let mut raw = [0u8; HEADER_LEN];
        assert_eq!(SealedHeader::parse(&raw), Err(Error::Malformed("sealed header: magic")));
        raw[..7].copy_from_slice(MAGIC);
        raw[7] = 2;
        assert_eq!(SealedHeader::parse(&raw), Err(Error::Unsupported("sealed header: version")));
        raw[7] = 1;
        assert_eq!(SealedHeader::parse(&raw), Err(Error::Malformed("sealed header: chunk size")));
        raw[8..12].copy_from_slice(&64u32.to_be_bytes());
        raw[12..20].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(SealedHeader::parse(&raw), Err(Error::Malformed("sealed header: length")));
    }

    #[test]
    fn sealer_enforces_chunk_lengths() {
        let k = key();
        let mut sealer = Sealer::new(&k, 16, 20, &SystemRandom::new()).unwrap();
        assert_eq!(sealer.seal_chunk(&[0; 15]).unwrap_err(), Error::Range);
        sealer.seal_chunk(&[0; 16]).unwrap();
        assert_eq!(sealer.seal_chunk(&[0; 16]).unwrap_err(), Error::Range);
        sealer.seal_chunk(&[0; 4]).unwrap();
        assert!(sealer.is_finished());
        assert_eq!(sealer.seal_chunk(&[]).unwrap_err(), Error::Range);
    }
}
