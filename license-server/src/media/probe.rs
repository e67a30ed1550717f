//! Reading an audio file's facts with symphonia: container, duration, chapters.
//!
//! The duration is the sum of every packet's duration (less encoder delay and padding), read
//! through the whole file rather than taken from a header: headers of CBR MP3s estimate, and
//! walking the packets also proves the file is audio from start to end before it is sold.

use std::fs::File;
use std::path::Path;

use serde::{Deserialize, Serialize};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{ChapterGroup, ChapterGroupItem, MetadataOptions, StandardTag};
use symphonia::core::units::Timestamp;

/// A chapter read from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChapter {
    /// Title (`Chapter n` when the file has none).
    pub title: String,
    /// Start, seconds from the start of the file.
    pub offset: f64,
}

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

/// Probes the file at `path`. `hint` is an extension or media type the client gave.
pub fn probe(path: &Path, hint: Option<&str>) -> Result<Probed, ProbeError> {
    let file = File::open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut h = Hint::new();
    if let Some(hint) = hint {
        if hint.contains('/') {
            h.mime_type(hint);
        } else {
            h.with_extension(hint);
        }
    }
    let mut reader = symphonia::default::get_probe()
        .probe(&h, mss, FormatOptions::default(), MetadataOptions::default())
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
    let title = reader.metadata().skip_to_latest().and_then(|rev| {
        rev.media.tags.iter().find_map(|t| match &t.std {
            Some(StandardTag::TrackTitle(s)) | Some(StandardTag::Album(s)) => Some(s.to_string()),
            _ => None,
        })
    });

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
    chapters.retain(|c| c.offset < duration);
    Ok(Probed { media_type, duration, chapters, title })
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
