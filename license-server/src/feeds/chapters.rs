//! `podcast:chapters`: the Podcasting 2.0 JSON chapters format
//! (<https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/chapters/jsonChapters.md>),
//! read with serde into the chapters a track keeps. Sans-IO; the file is fetched by the import.
//!
//! Only what a table of contents needs is read: each chapter's `startTime` and `title`. A
//! chapter with `"toc": false` is meant for display while playing (an image, a link), not for
//! the table of contents, so it is left out. Chapters come out sorted by start; ones with a
//! start that is negative or not a number are dropped, as are all past [`MAX_CHAPTERS`].

use serde::Deserialize;

use crate::media::probe::FileChapter;

/// The largest chapters file read, bytes.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// The most chapters a track keeps.
pub const MAX_CHAPTERS: usize = 2_000;

/// Why a chapters file could not be used (the track then keeps the chapters of its file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChaptersError {
    /// Not JSON, or not the chapters format (no `chapters` array).
    #[error("the chapters file is not JSON chapters: {0}")]
    Malformed(String),
    /// Well-formed, but without a single usable chapter.
    #[error("the chapters file has no chapter for a table of contents")]
    Empty,
}

#[derive(Deserialize)]
struct File {
    chapters: Vec<Chapter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chapter {
    start_time: f64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    toc: Option<bool>,
}

/// Reads a JSON chapters file.
pub fn parse(bytes: &[u8]) -> Result<Vec<FileChapter>, ChaptersError> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| ChaptersError::Malformed(e.to_string()))?;
    let mut chapters: Vec<FileChapter> = file
        .chapters
        .into_iter()
        .filter(|c| c.toc != Some(false) && c.start_time.is_finite() && c.start_time >= 0.0)
        .take(MAX_CHAPTERS)
        .map(|c| FileChapter { title: c.title.map(|t| t.trim().to_owned()).unwrap_or_default(), offset: c.start_time })
        .collect();
    chapters.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    for (n, c) in chapters.iter_mut().enumerate() {
        if c.title.is_empty() {
            c.title = format!("Chapter {}", n.saturating_add(1));
        }
    }
    if chapters.is_empty() {
        return Err(ChaptersError::Empty);
    }
    Ok(chapters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sorts_names_and_leaves_out_what_is_not_for_the_toc() {
        let json = br#"{"version": "1.2.0", "chapters": [
            {"startTime": 95.5, "title": "  Part two ", "img": "https://x/2.jpg"},
            {"startTime": 0, "title": "Intro"},
            {"startTime": 60, "title": "Sponsor", "toc": false},
            {"startTime": 120},
            {"startTime": -4, "title": "Before the start"}
        ]}"#;
        let got = parse(json).unwrap();
        let titles: Vec<(&str, f64)> = got.iter().map(|c| (c.title.as_str(), c.offset)).collect();
        assert_eq!(titles, [("Intro", 0.0), ("Part two", 95.5), ("Chapter 3", 120.0)]);
    }

    #[test]
    fn refuses_what_is_not_chapters() {
        assert!(matches!(parse(b"<xml/>"), Err(ChaptersError::Malformed(_))));
        assert!(matches!(parse(br#"{"version": "1.2.0"}"#), Err(ChaptersError::Malformed(_))));
        assert!(matches!(parse(br#"{"chapters": [{"title": "no start"}]}"#), Err(ChaptersError::Malformed(_))));
        assert_eq!(parse(br#"{"chapters": []}"#), Err(ChaptersError::Empty));
        assert_eq!(parse(br#"{"chapters": [{"startTime": 1, "toc": false}]}"#), Err(ChaptersError::Empty));
    }
}
