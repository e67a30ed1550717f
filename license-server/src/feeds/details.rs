//! What a feed says of itself and of each item beyond what identifies it, kept as JSON with
//! the feed and each item so that the import ([`super::import`]) can make a title of it
//! without reading the feed again.
//!
//! Serialised with a fixed field order, so that an unchanged item serialises to the same text
//! and a sync writes nothing for it.

use serde::{Deserialize, Serialize};

use super::parse::{Feed, Item, Transcript};

/// The channel's details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedDetails {
    /// Its description.
    pub description: Option<String>,
    /// Its author.
    pub author: Option<String>,
    /// Its language, as given.
    pub language: Option<String>,
    /// Its image's URL.
    pub image: Option<String>,
}

/// An item's details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemDetails {
    /// Its description.
    pub description: Option<String>,
    /// Its author.
    pub author: Option<String>,
    /// Its image's URL.
    pub image: Option<String>,
    /// The duration the feed announces, seconds (the track's is measured from the file).
    pub duration: Option<f64>,
    /// `pubDate`, as given.
    pub published: Option<String>,
    /// The URL of its JSON chapters.
    pub chapters: Option<String>,
    /// Its transcripts.
    pub transcripts: Vec<Transcript>,
}

impl From<&Feed> for FeedDetails {
    fn from(f: &Feed) -> Self {
        FeedDetails {
            description: f.description.clone(),
            author: f.author.clone(),
            language: f.language.clone(),
            image: f.image.clone(),
        }
    }
}

impl From<&Item> for ItemDetails {
    fn from(i: &Item) -> Self {
        ItemDetails {
            description: i.description.clone(),
            author: i.author.clone(),
            image: i.image.clone(),
            duration: i.duration,
            published: i.published.clone(),
            chapters: i.chapters.clone(),
            transcripts: i.transcripts.clone(),
        }
    }
}

/// As stored: JSON.
pub fn to_json<T: Serialize>(details: &T) -> Option<String> {
    serde_json::to_string(details).ok()
}

/// From storage; what does not parse (a row from an older version) reads as nothing known.
pub fn from_json<T: for<'de> Deserialize<'de> + Default>(json: Option<&str>) -> T {
    json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}
