//! Publication manifests: the Readium Web Publication Manifest with its audiobook profile.
//!
//! [`Manifest`] is the wire model (the subset of RWPM Fount writes, with unknown members kept
//! on read); [`Publication`] is the checked view a player works with: tracks with durations
//! and their place on the book's timeline, chapters resolved to (track, offset), and the
//! mappings between a position in seconds, a track, a byte range and a Readium
//! [`Locator`](crate::position::Locator).
//!
//! A sealed track says so in `properties.encrypted` (the Readium encryption module):
//! `scheme` = [`SEALED_SCHEME`], `algorithm` = [`SEALED_ALGORITHM`], the content key's id in
//! `keyId` (a Fount extension), and `originalLength`, the plaintext length.

use core::ops::Range;

use serde::{Deserialize, Serialize};

use crate::sealed::KeyId;
use crate::{Error, Result};

/// The JSON-LD context of every Readium Web Publication Manifest.
pub const CONTEXT: &str = "https://readium.org/webpub-manifest/context.jsonld";
/// The audiobook profile.
pub const AUDIOBOOK_PROFILE: &str = "https://readium.org/webpub-manifest/profiles/audiobook";
/// The media type of an audiobook manifest.
pub const MEDIA_TYPE: &str = "application/audiobook+json";
/// `properties.encrypted.scheme` of a Fount sealed asset.
pub const SEALED_SCHEME: &str = "urn:fount:sealed-asset";
/// `properties.encrypted.algorithm` of a Fount sealed asset.
pub const SEALED_ALGORITHM: &str = "urn:fount:sealed-asset:v1:aes-256-gcm-chunked";

/// A Readium manifest, as on the wire. Members Fount does not use are ignored on input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The JSON-LD context (RWPM allows a string or a list).
    #[serde(rename = "@context", with = "one_or_many")]
    pub context: Vec<String>,
    /// Metadata.
    pub metadata: Metadata,
    /// Links about the publication (`self`, `cover`).
    #[serde(default)]
    pub links: Vec<Link>,
    /// The tracks, in playing order.
    #[serde(rename = "readingOrder")]
    pub reading_order: Vec<Link>,
    /// The table of contents: chapters as `track-href#t=seconds`, possibly nested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toc: Vec<Link>,
    /// Other resources (cover images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Link>,
}

/// Publication metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `http://schema.org/Audiobook`.
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conforms_to: Option<String>,
    /// A URI naming the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// The title.
    pub title: String,
    /// The author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What the title is about, as its publisher wrote it (plain text or simple HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Total duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Last modification, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// A Readium link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Target, relative to the manifest.
    pub href: String,
    /// Media type of the target (for a sealed track, the type of the original file).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Relation(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// Duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Bit rate in kbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<f64>,
    /// Properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties>,
    /// Nested links (sub-chapters in the table of contents).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Link>,
    /// BCP 47 language of the target (a transcript's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Other forms of the same resource: a track's transcripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate: Vec<Link>,
}

/// Link properties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Properties {
    /// Encryption of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<Encryption>,
}

/// A string, or a list of strings (the JSON-LD `@context`), read as a list and written as a
/// string when there is one.
mod one_or_many {
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => s.serialize_str(one),
            many => s.collect_seq(many),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(vec![v.to_owned()])
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// The Readium encryption object, with Fount's `keyId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    /// Protection scheme.
    pub scheme: String,
    /// Algorithm.
    pub algorithm: String,
    /// The content key id.
    pub key_id: String,
    /// Length of the original file in bytes.
    pub original_length: u64,
}

/// A track of a publication, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Its href, relative to the manifest.
    pub href: String,
    /// Media type of the audio.
    pub media_type: String,
    /// Title, if any.
    pub title: Option<String>,
    /// Duration in seconds (finite, positive).
    pub duration: f64,
    /// Where it starts on the publication's timeline, in seconds.
    pub start: f64,
    /// How it is sealed; `None` for an unprotected track.
    pub sealed: Option<SealedTrack>,
}

/// How a track is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedTrack {
    /// The content key id.
    pub key_id: KeyId,
    /// Length of the original audio file.
    pub original_length: u64,
}

/// A chapter, resolved to the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    /// Its title.
    pub title: String,
    /// Index of the track it starts in.
    pub track: usize,
    /// Offset into that track, seconds.
    pub offset: f64,
    /// Start on the publication's timeline, seconds.
    pub start: f64,
    /// Nesting depth in the table of contents (0 for top level).
    pub depth: usize,
}

/// A point on the timeline as (track, offset into the track).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPosition {
    /// Track index.
    pub track: usize,
    /// Seconds into the track.
    pub offset: f64,
}

/// A checked publication: what a player needs from a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    manifest: Manifest,
    tracks: Vec<Track>,
    chapters: Vec<Chapter>,
    duration: f64,
}

/// `x` held within `[lo, hi]`. Unlike `f64::clamp` it never panics (bounds out of order or
/// NaN give `lo` or `hi`), and it keeps `clamp`'s panic message, which formats floats, out
/// of the wasm build: `core`'s float formatting is some 13 KB of it.
pub(crate) fn within(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

fn positive_finite(v: Option<f64>, what: &'static str) -> Result<f64> {
    match v {
        Some(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(Error::Malformed(what)),
    }
}

/// Parses a non-negative decimal (`12`, `12.5`) into seconds. Written out rather than
/// `str::parse::<f64>`, which would pull a second float parser into the wasm build (serde_json
/// has its own); exponents, signs and infinities are not valid clock values anyway.
pub(crate) fn parse_seconds(text: &str) -> Option<f64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(frac)) {
        return None;
    }
    let int =
        |s: &str| s.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b.saturating_sub(b'0'))));
    #[allow(clippy::cast_precision_loss)] // at most 15 digits each: exact in an f64
    let value = int(whole) as f64
        + if frac.is_empty() { 0.0 } else { int(frac) as f64 / 10f64.powi(i32::try_from(frac.len()).unwrap_or(0)) };
    Some(value)
}

/// Parses a Media Fragments temporal start (`t=12.5`, `t=npt:12.5,20`, `t=1:02:03.5`).
fn fragment_start(fragment: &str) -> Option<f64> {
    let value = fragment.split('&').find_map(|p| p.strip_prefix("t="))?;
    let value = value.strip_prefix("npt:").unwrap_or(value);
    let start = value.split(',').next()?;
    let mut seconds = 0.0f64;
    for part in start.split(':') {
        seconds = seconds.mul_add(60.0, parse_seconds(part)?);
    }
    Some(seconds)
}

impl Publication {
    /// Parses and checks a manifest.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let manifest: Manifest = serde_json::from_slice(json).map_err(|_| Error::Malformed("manifest"))?;
        Self::new(manifest)
    }

    /// Checks a manifest: at least one track; every track with a media type and a finite,
    /// positive duration; a sealed track with a well-formed key id; every chapter pointing
    /// into a track at an offset within it.
    pub fn new(manifest: Manifest) -> Result<Self> {
        if manifest.reading_order.is_empty() {
            return Err(Error::Malformed("manifest: empty reading order"));
        }
        let mut tracks = Vec::with_capacity(manifest.reading_order.len());
        let mut start = 0.0f64;
        for link in &manifest.reading_order {
            let duration = positive_finite(link.duration, "manifest: track duration")?;
            let sealed = match link.properties.as_ref().and_then(|p| p.encrypted.as_ref()) {
                None => None,
                Some(enc) if enc.scheme == SEALED_SCHEME && enc.algorithm == SEALED_ALGORITHM => {
                    Some(SealedTrack { key_id: KeyId::parse(&enc.key_id)?, original_length: enc.original_length })
                }
                Some(_) => return Err(Error::Unsupported("manifest: encryption scheme")),
            };
            tracks.push(Track {
                href: link.href.clone(),
                media_type: link.media_type.clone().ok_or(Error::Malformed("manifest: track type"))?,
                title: link.title.clone(),
                duration,
                start,
                sealed,
            });
            start += duration;
        }
        let mut chapters = Vec::new();
        let mut stack: Vec<(&Link, usize)> = manifest.toc.iter().rev().map(|l| (l, 0)).collect();
        while let Some((link, depth)) = stack.pop() {
            let (path, fragment) = link.href.split_once('#').unwrap_or((&link.href, ""));
            let track = tracks.iter().position(|t| t.href == path).ok_or(Error::Malformed("manifest: toc href"))?;
            let offset = if fragment.is_empty() {
                0.0
            } else {
                fragment_start(fragment).ok_or(Error::Malformed("manifest: toc fragment"))?
            };
            let t = tracks.get(track).ok_or(Error::Malformed("manifest: toc href"))?;
            if offset > t.duration {
                return Err(Error::Malformed("manifest: toc offset"));
            }
            chapters.push(Chapter {
                title: link.title.clone().unwrap_or_default(),
                track,
                offset,
                start: t.start + offset,
                depth,
            });
            stack.extend(link.children.iter().rev().map(|c| (c, depth.saturating_add(1))));
        }
        Ok(Publication { manifest, tracks, chapters, duration: start })
    }

    /// The manifest it was made from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.manifest.metadata.title
    }

    /// Tracks in playing order.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Chapters in table-of-contents order (depth first).
    pub fn chapters(&self) -> &[Chapter] {
        &self.chapters
    }

    /// Total duration, seconds.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// The track and offset at `seconds` on the timeline, clamped to the publication. A time
    /// exactly on a boundary belongs to the track that starts there.
    pub fn locate(&self, seconds: f64) -> TrackPosition {
        let seconds = if seconds.is_finite() { within(seconds, 0.0, self.duration) } else { 0.0 };
        let last = self.tracks.len().saturating_sub(1);
        let track = self.tracks.iter().rposition(|t| t.start <= seconds).unwrap_or(0).min(last);
        let offset = self.tracks.get(track).map_or(0.0, |t| within(seconds - t.start, 0.0, t.duration));
        TrackPosition { track, offset }
    }

    /// The timeline position of `offset` seconds into `track`.
    pub fn seconds(&self, position: TrackPosition) -> Result<f64> {
        let t = self.tracks.get(position.track).ok_or(Error::Range)?;
        if !position.offset.is_finite() || position.offset < 0.0 || position.offset > t.duration {
            return Err(Error::Range);
        }
        Ok(t.start + position.offset)
    }

    /// Index of the chapter playing at `seconds`: the last one starting at or before it.
    pub fn chapter_at(&self, seconds: f64) -> Option<usize> {
        self.chapters.iter().rposition(|c| c.start <= seconds)
    }

    /// An estimate of the plaintext bytes of `track` that hold `[from, to)` seconds, assuming
    /// a constant bit rate (exact for CBR audio, close for VBR). Use it to prefetch; a player
    /// seeks precisely with its own demuxer over [`crate::sealed::Opener::read`].
    pub fn byte_range(&self, track: usize, from: f64, to: f64) -> Result<Range<u64>> {
        let t = self.tracks.get(track).ok_or(Error::Range)?;
        let len = t.sealed.map(|s| s.original_length).ok_or(Error::Range)?;
        if !(from.is_finite() && to.is_finite()) || from < 0.0 || to <= from {
            return Err(Error::Range);
        }
        let at = |s: f64| -> u64 {
            let frac = within(s / t.duration, 0.0, 1.0);
            // A fraction of a u64 length fits in f64 closely enough for an estimate, and the
            // cast saturates rather than wrapping.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let b = (frac * len as f64).round() as u64;
            b.min(len)
        };
        let (start, end) = (at(from), at(to));
        if start >= end {
            return Err(Error::Range);
        }
        Ok(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> serde_json::Value {
        serde_json::json!({
            "@context": CONTEXT,
            "metadata": {"@type": "http://schema.org/Audiobook", "conformsTo": AUDIOBOOK_PROFILE, "title": "T", "duration": 30.0, "publisher": "ignored"},
            "links": [{"rel": "self", "href": "manifest.json", "type": MEDIA_TYPE}],
            "readingOrder": [
                {"href": "tracks/0", "type": "audio/mpeg", "duration": 10.0,
                 "properties": {"encrypted": {"scheme": SEALED_SCHEME, "algorithm": SEALED_ALGORITHM, "keyId": "AAAAAAAAAAAAAAAAAAAAAA", "originalLength": 1000}}},
                {"href": "tracks/1", "type": "audio/mpeg", "duration": 20.0}
            ],
            "toc": [
                {"href": "tracks/0", "title": "One"},
                {"href": "tracks/0#t=4.5", "title": "Two", "children": [{"href": "tracks/1#t=npt:0:05,10", "title": "Two b"}]},
                {"href": "tracks/1#t=12", "title": "Three"}
            ]
        })
    }

    #[test]
    fn chapters_and_positions() {
        let p = Publication::from_json(manifest().to_string().as_bytes()).unwrap();
        assert_eq!(p.duration(), 30.0);
        let starts: Vec<(f64, usize)> = p.chapters().iter().map(|c| (c.start, c.depth)).collect();
        assert_eq!(starts, [(0.0, 0), (4.5, 0), (15.0, 1), (22.0, 0)]);
        assert_eq!(p.locate(12.0), TrackPosition { track: 1, offset: 2.0 });
        assert_eq!(p.locate(10.0), TrackPosition { track: 1, offset: 0.0 });
        assert_eq!(p.locate(-5.0), TrackPosition { track: 0, offset: 0.0 });
        assert_eq!(p.locate(99.0), TrackPosition { track: 1, offset: 20.0 });
        assert_eq!(p.locate(f64::NAN), TrackPosition { track: 0, offset: 0.0 });
        assert_eq!(p.seconds(TrackPosition { track: 1, offset: 2.0 }).unwrap(), 12.0);
        assert_eq!(p.chapter_at(4.4), Some(0));
        assert_eq!(p.chapter_at(16.0), Some(2));
        assert_eq!(p.byte_range(0, 2.5, 5.0).unwrap(), 250..500);
        assert_eq!(p.byte_range(1, 0.0, 1.0), Err(Error::Range));
        assert_eq!(p.manifest().context, [CONTEXT]);
    }

    #[test]
    fn bad_manifests_are_refused() {
        let cases: [(&str, serde_json::Value); 4] = [
            ("/readingOrder/0/duration", serde_json::json!(-1.0)),
            ("/readingOrder/0/properties/encrypted/keyId", serde_json::json!("short")),
            ("/toc/0/href", serde_json::json!("tracks/9")),
            ("/toc/2/href", serde_json::json!("tracks/1#t=21")),
        ];
        for (pointer, value) in cases {
            let mut m = manifest();
            *m.pointer_mut(pointer).unwrap() = value;
            assert!(Publication::from_json(m.to_string().as_bytes()).is_err(), "{pointer}");
        }
        assert!(Publication::from_json(b"{}").is_err());
    }

    #[test]
    fn fragments() {
        assert_eq!(fragment_start("t=12.5"), Some(12.5));
        assert_eq!(fragment_start("t=npt:1:02:03.5,4"), Some(3723.5));
        assert_eq!(fragment_start("x=1&t=3"), Some(3.0));
        assert_eq!(fragment_start("t=-1"), None);
        assert_eq!(fragment_start("t=abc"), None);
    }
}
