//! What a sync must do, decided from the feed as read and the items as stored: sans-IO, so
//! each rule of [the guarantees](super) is a unit test.

use std::collections::{HashMap, HashSet};

use super::parse::{Feed, Item};
use crate::db::FeedItemRow;

/// What happens to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// New in the feed, and importable: download, probe and seal it.
    Import(Item),
    /// Known, and its enclosure changed, or back in the feed, or fixed since it failed:
    /// package it again (the title stays).
    Repackage(Item),
    /// Known and unchanged, or known and still in progress: nothing but its place, name and
    /// details.
    Keep(Item),
    /// In the feed but not importable (see [`Item::problem`]): it fails, with why.
    Fail(Item),
    /// Gone from the feed: unpublish it (no longer sold; licenses already issued keep
    /// working).
    Remove {
        /// Its identity.
        guid: String,
    },
}

/// The steps of a sync, in the feed's order, then the removals.
pub fn plan(feed: &Feed, stored: &[FeedItemRow]) -> Vec<Step> {
    let known: HashMap<&str, &FeedItemRow> = stored.iter().map(|r| (r.guid.as_str(), r)).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut steps = Vec::with_capacity(feed.items.len());
    for item in &feed.items {
        // A guid the feed repeats is the first item with it; the others are ignored, as a
        // reader of the feed would show one episode.
        if item.guid.is_empty() || !seen.insert(item.guid.as_str()) {
            if item.guid.is_empty() {
                steps.push(Step::Fail(item.clone()));
            }
            continue;
        }
        let item = item.clone();
        let step = match known.get(item.guid.as_str()) {
            _ if item.problem.is_some() => Step::Fail(item),
            None => Step::Import(item),
            // Back in the feed, or fixed since it failed: import it again.
            Some(row) if row.status == "removed" || row.status == "failed" => Step::Repackage(item),
            Some(row) if enclosure_changed(row, &item) => Step::Repackage(item),
            Some(_) => Step::Keep(item),
        };
        steps.push(step);
    }
    for row in stored {
        if row.status != "removed" && !seen.contains(row.guid.as_str()) {
            steps.push(Step::Remove { guid: row.guid.clone() });
        }
    }
    steps
}

/// Puts a serial feed's items in the order its title plays them: oldest first by `pubDate`,
/// since podcast feeds list their newest item first whatever their kind; items without a
/// date (or with one that does not parse) keep their place in the feed, after the dated
/// ones. Removals stay last.
pub fn serial_order(steps: &mut [Step]) {
    let published = |step: &Step| match step {
        Step::Import(i) | Step::Repackage(i) | Step::Keep(i) | Step::Fail(i) => i
            .published
            .as_deref()
            .and_then(|p| time::OffsetDateTime::parse(p.trim(), &time::format_description::well_known::Rfc2822).ok()),
        Step::Remove { .. } => None,
    };
    // A stable sort: equal keys keep the feed's order.
    steps.sort_by_key(|step| (matches!(step, Step::Remove { .. }), published(step).is_none(), published(step)));
}

/// Whether the item's enclosure is not the one stored: another URL, or another announced
/// length when both are known.
fn enclosure_changed(row: &FeedItemRow, item: &Item) -> bool {
    let Some(e) = &item.enclosure else { return false };
    if row.enclosure_url.as_deref() != Some(e.url.as_str()) {
        return true;
    }
    match (row.enclosure_length, e.length) {
        (Some(stored), Some(now)) => u64::try_from(stored).ok() != Some(now),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::parse::Enclosure;

    fn item(guid: &str, url: &str, length: Option<u64>) -> Item {
        Item {
            guid: guid.into(),
            title: Some(format!("Episode {guid}")),
            enclosure: Some(Enclosure { url: url.into(), length, media_type: "audio/mpeg".into() }),
            ..Item::default()
        }
    }

    fn row(guid: &str, url: &str, length: Option<i64>, status: &str) -> FeedItemRow {
        FeedItemRow {
            feed_id: "feed_1".into(),
            guid: guid.into(),
            name: None,
            position: 0,
            enclosure_url: Some(url.into()),
            enclosure_length: length,
            enclosure_type: Some("audio/mpeg".into()),
            title_id: Some("t".into()),
            track_file: Some("f.fsa".into()),
            status: status.into(),
            error: None,
            updated_at: 0,
            details: None,
        }
    }

    #[test]
    fn new_changed_kept_failed_and_removed_items() {
        let mut broken = item("e5", "https://x/5.pdf", None);
        broken.problem = Some("the enclosure is application/pdf, not audio".into());
        let feed = Feed {
            items: vec![
                item("e1", "https://x/1.mp3", Some(10)),
                item("e2", "https://x/2-new.mp3", Some(20)),
                item("e3", "https://x/3.mp3", Some(31)),
                item("e4", "https://x/4.mp3", None),
                broken.clone(),
                // A repeated guid: the first one counts.
                item("e1", "https://x/1-dup.mp3", Some(10)),
            ],
            ..Feed::default()
        };
        let stored = vec![
            row("e2", "https://x/2.mp3", Some(20), "published"),
            row("e3", "https://x/3.mp3", Some(30), "published"),
            row("e4", "https://x/4.mp3", Some(40), "processing"),
            row("gone", "https://x/g.mp3", None, "published"),
            row("long-gone", "https://x/lg.mp3", None, "removed"),
        ];
        assert_eq!(
            plan(&feed, &stored),
            vec![
                Step::Import(item("e1", "https://x/1.mp3", Some(10))),
                Step::Repackage(item("e2", "https://x/2-new.mp3", Some(20))),
                Step::Repackage(item("e3", "https://x/3.mp3", Some(31))),
                // No length announced now: the same URL is the same enclosure.
                Step::Keep(item("e4", "https://x/4.mp3", None)),
                Step::Fail(broken),
                Step::Remove { guid: "gone".into() },
            ]
        );
    }

    #[test]
    fn an_item_back_in_the_feed_or_fixed_is_imported_again() {
        let feed = Feed {
            items: vec![item("a", "https://x/a.mp3", None), item("b", "https://x/b.mp3", None)],
            ..Feed::default()
        };
        let stored = vec![row("a", "https://x/a.mp3", None, "removed"), row("b", "https://x/b.mp3", None, "failed")];
        assert_eq!(
            plan(&feed, &stored),
            vec![
                Step::Repackage(item("a", "https://x/a.mp3", None)),
                Step::Repackage(item("b", "https://x/b.mp3", None))
            ]
        );
    }

    #[test]
    fn a_serial_feed_plays_oldest_first_with_undated_items_after() {
        let dated = |guid: &str, date: Option<&str>| {
            let mut i = item(guid, &format!("https://x/{guid}.mp3"), None);
            i.published = date.map(str::to_owned);
            i
        };
        let mut steps = vec![
            Step::Import(dated("3", Some("Wed, 03 Jan 2024 10:00:00 +0000"))),
            Step::Remove { guid: "gone".into() },
            Step::Import(dated("x", None)),
            Step::Keep(dated("1", Some("Mon, 01 Jan 2024 10:00:00 GMT"))),
            Step::Import(dated("y", Some("not a date"))),
            Step::Fail(dated("2", Some("Tue, 02 Jan 2024 09:00:00 -0100"))),
        ];
        serial_order(&mut steps);
        let order: Vec<&str> = steps
            .iter()
            .map(|s| match s {
                Step::Import(i) | Step::Repackage(i) | Step::Keep(i) | Step::Fail(i) => i.guid.as_str(),
                Step::Remove { guid } => guid.as_str(),
            })
            .collect();
        assert_eq!(order, ["1", "2", "3", "x", "y", "gone"]);
    }

    #[test]
    fn an_empty_feed_removes_everything_once() {
        let stored = vec![row("a", "https://x/a.mp3", None, "published"), row("b", "https://x/b.mp3", None, "removed")];
        assert_eq!(plan(&Feed::default(), &stored), vec![Step::Remove { guid: "a".into() }]);
    }
}
