//! Positions and bookmarks as plain data: Readium Locators the host stores where it likes.
//!
//! A [`Locator`] (Readium's locator model) names a point in a publication by track href and a
//! Media Fragments time (`t=seconds`), with progressions for display. It survives a re-encode
//! of the audio better than a byte offset would, and other Readium software reads it.

use serde::{Deserialize, Serialize};

use crate::manifest::{Publication, TrackPosition, within};
use crate::{Error, Result};

/// Where in a locator's resource it points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Locations {
    /// Media fragments; Fount writes one, `t=<seconds>`.
    #[serde(default)]
    pub fragments: Vec<String>,
    /// Progression within the track, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progression: Option<f64>,
    /// Progression within the publication, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_progression: Option<f64>,
}

/// A Readium Locator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locator {
    /// The track href.
    pub href: String,
    /// The track's media type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// The chapter title at this point, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The point.
    pub locations: Locations,
}

/// A bookmark: a locator, when it was made, and an optional note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    /// An id the host chooses, unique within the title.
    pub id: String,
    /// Where.
    pub locator: Locator,
    /// When, seconds since the epoch (passed in by the host).
    pub created: i64,
    /// The listener's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was last changed or removed, milliseconds since the epoch: the latest change
    /// wins when devices sync ([`Changed::wins_over`]). 0 in bookmarks stored before this was
    /// kept: their creation time stands for it.
    #[serde(default)]
    pub changed: i64,
    /// Removed: kept as a tombstone until synced, so that other devices remove it too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Bookmark {
    /// When it last changed, ms (its creation for bookmarks stored before changes were kept).
    pub fn changed_ms(&self) -> i64 {
        if self.changed > 0 { self.changed } else { self.created.saturating_mul(1000) }
    }
}

/// A listening position as a device keeps it: where, and when the listener got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPosition {
    /// Where.
    pub locator: Locator,
    /// When, milliseconds since the epoch (0: unknown, from before this was kept).
    #[serde(default)]
    pub changed: i64,
}

impl StoredPosition {
    /// A stored position, or a bare [`Locator`] as earlier versions stored it.
    pub fn parse(bytes: &[u8]) -> Option<StoredPosition> {
        serde_json::from_slice(bytes).ok().or_else(|| {
            serde_json::from_slice::<Locator>(bytes).ok().map(|locator| StoredPosition { locator, changed: 0 })
        })
    }
}

/// The rule devices and the server share: of two changes to the same thing, the later wins;
/// at the same millisecond, the one already kept stays.
pub struct Changed;

impl Changed {
    /// Whether a change at `mine` (ms) replaces one at `theirs`.
    pub fn wins_over(mine: i64, theirs: Option<i64>) -> bool {
        theirs.is_none_or(|t| mine > t)
    }
}

/// Seconds as decimal text to the millisecond, without trailing zeros (`10`, `12.5`, `0.125`).
/// Integer formatting: a float formatter would be one more thing in the wasm build.
fn seconds_text(seconds: f64) -> String {
    // Clamped to [0, 2^53) ms first, so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = within((seconds * 1000.0).round(), 0.0, 9_007_199_254_740_991.0) as u64;
    let (whole, frac) = (ms / 1000, ms % 1000);
    if frac == 0 { whole.to_string() } else { format!("{whole}.{frac:03}").trim_end_matches('0').to_owned() }
}

impl Publication {
    /// The locator of `seconds` on the timeline (clamped to the publication).
    pub fn locator_at(&self, seconds: f64) -> Locator {
        let TrackPosition { track, offset } = self.locate(seconds);
        let at = self.seconds(TrackPosition { track, offset }).unwrap_or(0.0);
        let t = self.tracks().get(track);
        let ratio = |num: f64, den: f64| if den > 0.0 { within(num / den, 0.0, 1.0) } else { 0.0 };
        Locator {
            href: t.map(|t| t.href.clone()).unwrap_or_default(),
            media_type: t.map(|t| t.media_type.clone()).unwrap_or_default(),
            title: self.chapter_at(at).and_then(|c| self.chapters().get(c)).map(|c| c.title.clone()),
            locations: Locations {
                fragments: vec![format!("t={}", seconds_text(offset))],
                progression: Some(ratio(offset, t.map_or(0.0, |t| t.duration))),
                total_progression: Some(ratio(at, self.duration())),
            },
        }
    }

    /// The timeline position a locator points to. Uses the `t=` fragment; without one, the
    /// track progression.
    pub fn resolve(&self, locator: &Locator) -> Result<f64> {
        let track = self.tracks().iter().position(|t| t.href == locator.href).ok_or(Error::Range)?;
        let t = self.tracks().get(track).ok_or(Error::Range)?;
        let offset = locator
            .locations
            .fragments
            .iter()
            .find_map(|f| f.strip_prefix("t=").and_then(crate::manifest::parse_seconds))
            .or_else(|| locator.locations.progression.map(|p| p * t.duration))
            .ok_or(Error::Malformed("locator"))?;
        if !offset.is_finite() {
            return Err(Error::Malformed("locator"));
        }
        self.seconds(TrackPosition { track, offset: within(offset, 0.0, t.duration) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication() -> Publication {
        Publication::from_json(
            serde_json::json!({
                "@context": crate::manifest::CONTEXT,
                "metadata": {"title": "T"},
                "readingOrder": [
                    {"href": "a", "type": "audio/mpeg", "duration": 10.0},
                    {"href": "b", "type": "audio/mpeg", "duration": 30.0}
                ],
                "toc": [{"href": "a", "title": "Start"}, {"href": "b#t=5", "title": "Middle"}]
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn locator_round_trip() {
        let p = publication();
        let loc = p.locator_at(20.0);
        assert_eq!(loc.href, "b");
        assert_eq!(loc.title.as_deref(), Some("Middle"));
        assert_eq!(loc.locations.fragments, ["t=10"]);
        assert_eq!(loc.locations.total_progression, Some(0.5));
        assert_eq!(p.resolve(&loc).unwrap(), 20.0);
        let json = serde_json::to_string(&Bookmark {
            id: "1".into(),
            locator: loc.clone(),
            created: 5,
            note: None,
            changed: 0,
            deleted: false,
        })
        .unwrap();
        assert!(!json.contains("deleted"), "a live bookmark is stored as before");
        let back: Bookmark = serde_json::from_str(&json).unwrap();
        assert_eq!(p.resolve(&back.locator).unwrap(), 20.0);
    }

    #[test]
    fn positions_stored_before_change_times_still_read() {
        let p = publication();
        let bare = serde_json::to_vec(&p.locator_at(20.0)).unwrap();
        let old = StoredPosition::parse(&bare).unwrap();
        assert_eq!((p.resolve(&old.locator).unwrap(), old.changed), (20.0, 0));
        let new = StoredPosition { locator: p.locator_at(3.0), changed: 1_795_000_000_123 };
        assert_eq!(StoredPosition::parse(&serde_json::to_vec(&new).unwrap()), Some(new));
        assert_eq!(StoredPosition::parse(b"junk"), None);
        let old_mark: Bookmark = serde_json::from_str(
            r#"{"id":"1","locator":{"href":"a","type":"audio/mpeg","locations":{"fragments":["t=1"]}},"created":7}"#,
        )
        .unwrap();
        assert_eq!((old_mark.changed_ms(), old_mark.deleted), (7000, false));
        assert!(Changed::wins_over(2, Some(1)) && Changed::wins_over(1, None));
        assert!(!Changed::wins_over(1, Some(1)) && !Changed::wins_over(0, Some(1)));
    }

    #[test]
    fn seconds_as_text() {
        assert_eq!(seconds_text(10.0), "10");
        assert_eq!(seconds_text(12.5), "12.5");
        assert_eq!(seconds_text(0.1254), "0.125");
        assert_eq!(seconds_text(-3.0), "0");
        assert_eq!(seconds_text(f64::NAN), "0");
    }

    #[test]
    fn progression_fallback_and_errors() {
        let p = publication();
        let mut loc = p.locator_at(0.0);
        loc.locations.fragments.clear();
        loc.locations.progression = Some(0.5);
        assert_eq!(p.resolve(&loc).unwrap(), 5.0);
        loc.locations.progression = None;
        assert_eq!(p.resolve(&loc), Err(Error::Malformed("locator")));
        loc.href = "zzz".into();
        assert_eq!(p.resolve(&loc), Err(Error::Range));
    }
}
