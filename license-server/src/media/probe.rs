//! Reading an audio file's facts: container, duration, chapters, cover art.
//!
//! symphonia reads the audio, the chapters of MP3 (ID3v2 `CHAP`), FLAC, Ogg and Matroska, and
//! cover art in every format (ID3v2 `APIC`, MP4 `covr`, FLAC pictures). It does not read MP4
//! chapters, which is where audiobooks (M4B) keep theirs, so those come from `mp4ameta`: the
//! QuickTime chapter track (a text track that `tref/chap` points to: what Apple's tools and
//! ffmpeg write) and the Nero `chpl` atom (what ffmpeg also writes, and some taggers only),
//! each read on its own so that one broken does not hide the other.
//!
//! The duration is the sum of every packet's duration (less encoder delay and padding), read
//! through the whole file rather than taken from a header: headers of CBR MP3s estimate, and
//! walking the packets also proves the file is audio from start to end before it is sold.
//!
//! What a file holds but Fount cannot use (chapters that will not parse, a cover too large)
//! does not refuse the file: it becomes a warning in the upload's answer.

use std::fs::File;
use std::path::Path;

use serde::{Deserialize, Serialize};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{ChapterGroup, ChapterGroupItem, MetadataOptions, StandardTag, StandardVisualKey, Visual};
use symphonia::core::units::Timestamp;

/// A chapter read from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChapter {
    /// Title (`Chapter n` when the file has none).
    pub title: String,
    /// Start, seconds from the start of the file.
    pub offset: f64,
}

/// Cover art found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Cover {
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif`.
    pub media_type: &'static str,
    /// The image.
    pub data: Vec<u8>,
}

/// Largest cover kept from a file, bytes.
pub const MAX_COVER_BYTES: usize = 5 * 1024 * 1024;

/// What probing found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// The media type to serve the audio as.
    pub media_type: &'static str,
    /// Seconds.
    pub duration: f64,
    /// Chapters, in order of start; empty if the file has none.
    pub chapters: Vec<FileChapter>,
    /// The file's own title tag, if any.
    pub title: Option<String>,
    /// The file's cover art, if it has one Fount can serve.
    pub cover: Option<Cover>,
    /// What the file holds but could not be used, for the uploader.
    pub warnings: Vec<String>,
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Not a container symphonia knows, or no audio track in it.
    #[error("not a supported audio file: {0}")]
    Unsupported(String),
    /// The file ends or breaks partway.
    #[error("the audio is damaged: {0}")]
    Damaged(String),
    /// Reading the temporary file failed.
    #[error("reading the upload failed: {0}")]
    Io(#[from] std::io::Error),
}

fn media_type(short_name: &str) -> Option<&'static str> {
    Some(match short_name {
        "mp3" | "mp2" | "mp1" => "audio/mpeg",
        "isomp4" | "mp4" => "audio/mp4",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "wave" | "wav" => "audio/wav",
        "aiff" => "audio/aiff",
        "mkv" | "matroska" | "webm" => "audio/webm",
        _ => return None,
    })
}

fn flatten(group: &ChapterGroup, out: &mut Vec<FileChapter>) {
    for item in &group.items {
        match item {
            ChapterGroupItem::Group(inner) => flatten(inner, out),
            ChapterGroupItem::Chapter(chapter) => {
                let title = chapter.tags.iter().find_map(|t| match &t.std {
                    Some(StandardTag::ChapterTitle(s)) => Some(s.to_string()),
                    _ => None,
                });
                let offset = chapter.start_time.as_secs_f64();
                if offset.is_finite() && offset >= 0.0 {
                    let title = title.unwrap_or_else(|| format!("Chapter {}", out.len().saturating_add(1)));
                    out.push(FileChapter { title, offset });
                }
            }
        }
    }
}

/// Packets [`sniff`] reads: random bytes can look like a frame or two of MPEG audio, never
/// like this many in a row.
const SNIFF_PACKETS: usize = 16;

/// Recognises the container of the file at `path`, finds an audio track in it and reads its
/// first packets: the quick check an upload gets before it is queued (the worker's [`probe`]
/// then reads it all). Returns the media type.
pub fn sniff(path: &Path, hint: Option<&str>) -> Result<&'static str, ProbeError> {
    let file = File::open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(&hint_of(hint), mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| ProbeError::Unsupported(e.to_string()))?;
    let media_type = media_type(reader.format_info().short_name)
        .ok_or_else(|| ProbeError::Unsupported(reader.format_info().long_name.to_owned()))?;
    let track = reader
        .first_track_known_codec(TrackType::Audio)
        .ok_or_else(|| ProbeError::Unsupported("no audio track".into()))?
        .id;
    let mut packets = 0usize;
    while packets < SNIFF_PACKETS {
        match reader.next_packet() {
            Ok(Some(packet)) if packet.track_id == track => packets = packets.saturating_add(1),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(symphonia::core::errors::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(ProbeError::Damaged(e.to_string())),
        }
    }
    if packets == 0 {
        return Err(ProbeError::Damaged("no audio packets".into()));
    }
    Ok(media_type)
}

fn hint_of(hint: Option<&str>) -> Hint {
    let mut h = Hint::new();
    if let Some(hint) = hint {
        if hint.contains('/') {
            h.mime_type(hint);
        } else {
            h.with_extension(hint);
        }
    }
    h
}

/// Probes the file at `path`. `hint` is an extension or media type the client gave.
pub fn probe(path: &Path, hint: Option<&str>) -> Result<Probed, ProbeError> {
    let file = File::open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(&hint_of(hint), mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| ProbeError::Unsupported(e.to_string()))?;
    let media_type = media_type(reader.format_info().short_name)
        .ok_or_else(|| ProbeError::Unsupported(reader.format_info().long_name.to_owned()))?;
    let track = reader
        .first_track_known_codec(TrackType::Audio)
        .ok_or_else(|| ProbeError::Unsupported("no audio track".into()))?;
    let track_id = track.id;
    let time_base = track.time_base.ok_or_else(|| ProbeError::Unsupported("no time base".into()))?;

    let mut chapters = Vec::new();
    if let Some(group) = reader.chapters() {
        flatten(group, &mut chapters);
    }
    chapters.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    let mut warnings = Vec::new();
    if chapters.is_empty() && media_type == "audio/mp4" {
        chapters = mp4_chapters(path, &mut warnings);
    }
    let (title, cover) = match reader.metadata().skip_to_latest() {
        Some(rev) => {
            let title = rev.media.tags.iter().find_map(|t| match &t.std {
                Some(StandardTag::TrackTitle(s)) | Some(StandardTag::Album(s)) => Some(s.to_string()),
                _ => None,
            });
            (title, cover(&rev.media.visuals, &mut warnings))
        }
        None => (None, None),
    };

    let mut ticks: u64 = 0;
    let mut packets: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) if packet.track_id == track_id => {
                let dur =
                    packet.dur.get().saturating_sub(packet.trim_start.get()).saturating_sub(packet.trim_end.get());
                ticks = ticks.saturating_add(dur);
                packets = packets.saturating_add(1);
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(symphonia::core::errors::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(ProbeError::Damaged(e.to_string())),
        }
    }
    if packets == 0 {
        return Err(ProbeError::Damaged("no audio packets".into()));
    }
    let duration = time_base
        .calc_time(Timestamp::new(i64::try_from(ticks).unwrap_or(i64::MAX)))
        .map(|t| t.as_secs_f64())
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| ProbeError::Damaged("no duration".into()))?;
    let before = chapters.len();
    chapters.retain(|c| c.offset < duration);
    if chapters.len() < before {
        warnings.push(format!(
            "{} chapter(s) start after the end of the audio ({duration:.1} s) and were left out",
            before.saturating_sub(chapters.len())
        ));
    }
    Ok(Probed { media_type, duration, chapters, title, cover, warnings })
}

/// The chapters of an MP4 file: from its QuickTime chapter track, or its Nero `chpl` atom,
/// whichever has more.
fn mp4_chapters(path: &Path, warnings: &mut Vec<String>) -> Vec<FileChapter> {
    use mp4ameta::{ReadConfig, Tag};
    let track = Tag::read_with_path(path, &ReadConfig { read_chapter_track: true, ..ReadConfig::NONE })
        .map(|mut t| t.take_chapter_track());
    let list = Tag::read_with_path(path, &ReadConfig { read_chapter_list: true, ..ReadConfig::NONE })
        .map(|mut t| t.take_chapter_list());
    let chosen = match (track, list) {
        (Ok(t), Ok(l)) => {
            if t.len() >= l.len() {
                t
            } else {
                l
            }
        }
        (Ok(t), Err(_)) if !t.is_empty() => t,
        (Err(_), Ok(l)) if !l.is_empty() => l,
        (Ok(_), Err(e)) | (Err(e), Ok(_)) | (Err(e), Err(_)) => {
            warnings.push(format!("the file's chapters could not be read ({e}); the track has none"));
            Vec::new()
        }
    };
    let mut out: Vec<FileChapter> = Vec::new();
    for c in chosen {
        let offset = c.start.as_secs_f64();
        let title = c.title.trim();
        let title =
            if title.is_empty() { format!("Chapter {}", out.len().saturating_add(1)) } else { title.to_owned() };
        out.push(FileChapter { title, offset });
    }
    out.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    out
}

/// The front cover among a file's pictures (else its only one), if it is an image a browser
/// shows and not too large.
fn cover(visuals: &[Visual], warnings: &mut Vec<String>) -> Option<Cover> {
    let chosen = visuals
        .iter()
        .find(|v| v.usage == Some(StandardVisualKey::FrontCover))
        .or_else(|| (visuals.len() == 1).then(|| visuals.first()).flatten())?;
    let media_type = match chosen.media_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("image/jpeg" | "image/jpg") => "image/jpeg",
        Some("image/png") => "image/png",
        Some("image/webp") => "image/webp",
        Some("image/gif") => "image/gif",
        other => {
            warnings.push(format!(
                "the cover art ({}) is not an image type browsers show; it was left out",
                other.unwrap_or("of no type")
            ));
            return None;
        }
    };
    if chosen.data.len() > MAX_COVER_BYTES {
        warnings.push(format!("the cover art is over {} MB; it was left out", MAX_COVER_BYTES / (1024 * 1024)));
        return None;
    }
    Some(Cover { media_type, data: chosen.data.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/media/sample.mp3")
    }

    #[test]
    fn sample_has_three_chapters_and_its_duration() {
        let p = probe(&sample(), Some("mp3")).unwrap();
        assert_eq!(p.media_type, "audio/mpeg");
        // ffprobe says 38.32 s; the sum of packets less the encoder delay and padding is
        // within a frame of it.
        assert!((p.duration - 38.3).abs() < 0.1, "{}", p.duration);
        let titles: Vec<&str> = p.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["The Spring", "The Keeper", "The Library"]);
        assert!((p.chapters[1].offset - 12.853).abs() < 0.01);
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media").join(name)
    }

    fn titles(p: &Probed) -> Vec<&str> {
        p.chapters.iter().map(|c| c.title.as_str()).collect()
    }

    #[test]
    fn mp4_and_mp3_chapters_and_covers_made_by_ffmpeg() {
        for (file, hint) in [("chapters.m4b", "m4b"), ("track-only.m4a", "m4a"), ("chapters.mp3", "mp3")] {
            let p = probe(&fixture(file), Some(hint)).unwrap();
            assert_eq!(titles(&p), ["Low", "Middle", "High"], "{file}");
            assert!((p.chapters[1].offset - 2.0).abs() < 0.05, "{file}: {:?}", p.chapters);
            assert!((p.duration - 6.0).abs() < 0.1, "{file}: {}", p.duration);
            let cover = p.cover.as_ref().unwrap_or_else(|| panic!("{file} has a cover"));
            assert_eq!(cover.media_type, "image/png");
            assert!(cover.data.starts_with(b"\x89PNG"), "{file}");
            assert!(p.warnings.is_empty(), "{file}: {:?}", p.warnings);
        }
        let plain = probe(&fixture("plain.m4a"), Some("m4a")).unwrap();
        assert!(plain.chapters.is_empty() && plain.cover.is_none() && plain.warnings.is_empty());
    }

    #[test]
    fn a_nero_chapter_list_alone_is_read_and_a_broken_one_is_reported() {
        let dir = std::env::temp_dir().join(format!("fount-probe-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        // A chapter list written by mp4ameta into a file that had none.
        let nero = dir.join("nero.m4a");
        std::fs::copy(fixture("plain.m4a"), &nero).unwrap();
        let mut tag = mp4ameta::Tag::read_from_path(&nero).unwrap();
        tag.chapter_list_mut().extend([
            mp4ameta::Chapter { start: std::time::Duration::ZERO, title: "One".into() },
            mp4ameta::Chapter { start: std::time::Duration::from_secs(3), title: "Two".into() },
            mp4ameta::Chapter { start: std::time::Duration::from_secs(60), title: "Past the end".into() },
        ]);
        tag.write_with_path(&nero, &mp4ameta::WriteConfig { write_chapter_list: true, ..mp4ameta::WriteConfig::NONE })
            .unwrap();
        let p = probe(&nero, Some("m4a")).unwrap();
        assert_eq!(titles(&p), ["One", "Two"]);
        assert!(p.warnings.iter().any(|w| w.contains("after the end")), "{:?}", p.warnings);
        // The same atom, broken: the audio is still taken, and the answer says the chapters
        // could not be read.
        let mut bytes = std::fs::read(&nero).unwrap();
        let at = bytes.windows(4).position(|w| w == b"chpl").unwrap();
        bytes[at - 4..at].copy_from_slice(&u32::MAX.to_be_bytes());
        let broken = dir.join("broken.m4a");
        std::fs::write(&broken, &bytes).unwrap();
        let p = probe(&broken, Some("m4a")).unwrap();
        assert!(p.chapters.is_empty());
        assert!(p.warnings.iter().any(|w| w.contains("chapters could not be read")), "{:?}", p.warnings);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_and_truncation_are_refused() {
        let dir = std::env::temp_dir().join(format!("fount-probe-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk");
        std::fs::write(&junk, b"this is not audio at all, just some text bytes").unwrap();
        assert!(matches!(probe(&junk, None), Err(ProbeError::Unsupported(_))));
        let empty = dir.join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(probe(&empty, Some("mp3")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
