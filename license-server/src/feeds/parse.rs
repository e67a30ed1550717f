//! From a feed's bytes to what Fount keeps of it: sans-IO, so every broken or hostile feed is
//! a unit test.
//!
//! The XML is read by the `rss` crate (rust-syndication, on `quick-xml`). Why it and not the
//! others looked at:
//!
//! * `feed-rs` maps RSS, Atom and JSON Feed onto one model of its own; the podcast namespaces
//!   survive it only partly (no `podcast:transcript` with its attributes, no
//!   `podcast:locked`), and Fount reads RSS 2.0 only;
//! * `badpod` models the iTunes and Podcasting 2.0 namespaces closely and tolerates broken
//!   values, but it is one person's young crate, and its leniency is at the level of each
//!   value, which this module does anyway for the few values it reads;
//! * `rss` is the long-kept crate of the ecosystem, types the iTunes namespace, keeps every
//!   other namespace's elements with their attributes ([`rss::extension::ExtensionMap`]), and
//!   reads `atom:link` (the WebSub hub and the feed's own URL).
//!
//! Entities: `quick-xml` reads no DTD, so a document type declaration is skipped, not obeyed:
//! no external entity is fetched (XXE) and no entity is expanded (no billion laughs). `rss`
//! resolves only the five predefined entities and character references; any other
//! `&name;` stays as its literal text.

use std::collections::BTreeMap;

use rss::extension::{Extension, ExtensionMap};

/// The Podcasting 2.0 namespace.
pub const PODCAST_NAMESPACE: &str = "https://podcastindex.org/namespace/1.0";

/// Why a feed could not be read at all. (A broken *item* is not an error of the feed: see
/// [`Item::problem`].)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not well-formed XML, or not an RSS document.
    #[error("the feed is not RSS 2.0: {0}")]
    Malformed(String),
    /// The owner set `podcast:locked` to `yes`: the feed may not be imported elsewhere.
    #[error("the feed's owner forbids importing it (podcast:locked is yes{})", owner.as_deref().map(|o| format!(", owner {o}")).unwrap_or_default())]
    Locked {
        /// The `owner` attribute, if given.
        owner: Option<String>,
    },
}

/// A feed as Fount reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Feed {
    /// The channel's title.
    pub title: String,
    /// Its description, as given (it may hold HTML).
    pub description: Option<String>,
    /// `itunes:author`, else the managing editor.
    pub author: Option<String>,
    /// A BCP 47 tag, as given (checked where it is stored).
    pub language: Option<String>,
    /// `itunes:image`, else the RSS image.
    pub image: Option<String>,
    /// The feed's `podcast:guid`.
    pub guid: Option<String>,
    /// A WebSub hub announced with `atom:link rel="hub"`.
    pub hub: Option<String>,
    /// The feed's own URL, `atom:link rel="self"` (the topic for the hub).
    pub self_url: Option<String>,
    /// `itunes:new-feed-url`: where the feed has moved.
    pub new_url: Option<String>,
    /// The items, in the feed's order.
    pub items: Vec<Item>,
}

/// One item of a feed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// What identifies the item across syncs: `podcast:guid`, else `guid`, else the
    /// enclosure's URL (never its position). Empty only with a [`problem`](Item::problem).
    pub guid: String,
    /// Its title.
    pub title: Option<String>,
    /// Its description (`content:encoded`, else `description`, else `itunes:summary`).
    pub description: Option<String>,
    /// `itunes:author`, else `author`.
    pub author: Option<String>,
    /// `itunes:image`.
    pub image: Option<String>,
    /// `itunes:duration`, in seconds.
    pub duration: Option<f64>,
    /// `pubDate`, as given.
    pub published: Option<String>,
    /// The audio.
    pub enclosure: Option<Enclosure>,
    /// `podcast:chapters`: the URL of a JSON chapters file.
    pub chapters: Option<String>,
    /// `podcast:transcript`, each of them.
    pub transcripts: Vec<Transcript>,
    /// Why the item cannot become a title, if it cannot (no identity, no enclosure, an
    /// enclosure that is not audio).
    pub problem: Option<String>,
}

/// An item's enclosure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    /// Where the audio is.
    pub url: String,
    /// The length the feed announces, in bytes (often 0 or wrong: a hint only).
    pub length: Option<u64>,
    /// The media type the feed announces.
    pub media_type: String,
}

/// A `podcast:transcript`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transcript {
    /// Where it is.
    pub url: String,
    /// Its media type (`text/vtt`, `application/x-subrip`, `application/json`, `text/html` …).
    pub media_type: String,
    /// Its language, if given.
    pub language: Option<String>,
    /// `captions` when the transcript is timed captions.
    pub rel: Option<String>,
}

/// Reads a feed. Refuses a locked one ([`FeedError::Locked`]).
pub fn parse(bytes: &[u8]) -> Result<Feed, FeedError> {
    let channel = rss::Channel::read_from(bytes).map_err(|e| FeedError::Malformed(e.to_string()))?;
    let podcast = prefixes(channel.namespaces());
    if let Some(locked) = first(channel.extensions(), &podcast, "locked")
        && locked.value.as_deref().map(str::trim).is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    {
        return Err(FeedError::Locked { owner: locked.attrs.get("owner").cloned() });
    }
    let itunes = channel.itunes_ext();
    let links = channel.atom_ext().map(|a| a.links.as_slice()).unwrap_or_default();
    let link = |rel: &str| links.iter().find(|l| l.rel == rel).map(|l| l.href.clone()).filter(|h| !h.trim().is_empty());
    Ok(Feed {
        title: channel.title.trim().to_owned(),
        description: text(Some(&channel.description)),
        author: text(itunes.and_then(|i| i.author.as_ref())).or_else(|| text(channel.managing_editor.as_ref())),
        language: text(channel.language.as_ref()),
        image: text(itunes.and_then(|i| i.image.as_ref()))
            .or_else(|| channel.image.as_ref().and_then(|i| text(Some(&i.url)))),
        guid: first(channel.extensions(), &podcast, "guid").and_then(|e| text(e.value.as_ref())),
        hub: link("hub"),
        self_url: link("self"),
        new_url: text(itunes.and_then(|i| i.new_feed_url.as_ref())),
        items: channel.items.iter().map(|i| item(i, &podcast)).collect(),
    })
}

fn item(i: &rss::Item, podcast: &[String]) -> Item {
    let itunes = i.itunes_ext();
    let enclosure = i.enclosure.as_ref().and_then(|e| {
        let url = e.url.trim();
        (!url.is_empty()).then(|| Enclosure {
            url: url.to_owned(),
            length: e.length.trim().parse().ok().filter(|&n| n > 0),
            media_type: e.mime_type.trim().to_ascii_lowercase(),
        })
    });
    let guid = first(&i.extensions, podcast, "guid")
        .and_then(|e| text(e.value.as_ref()))
        .or_else(|| i.guid.as_ref().and_then(|g| text(Some(&g.value))))
        .or_else(|| enclosure.as_ref().map(|e| e.url.clone()))
        .unwrap_or_default();
    let problem = if guid.is_empty() {
        Some("the item has no guid and no enclosure".to_owned())
    } else {
        match &enclosure {
            None => Some("the item has no enclosure".to_owned()),
            Some(e) if !is_audio_type(&e.media_type) => Some(format!(
                "the enclosure is {}, not audio",
                if e.media_type.is_empty() { "untyped" } else { &e.media_type }
            )),
            Some(_) => None,
        }
    };
    Item {
        guid,
        title: text(i.title.as_ref()).or_else(|| text(itunes.and_then(|x| x.subtitle.as_ref()))),
        description: text(i.content.as_ref())
            .or_else(|| text(i.description.as_ref()))
            .or_else(|| text(itunes.and_then(|x| x.summary.as_ref()))),
        author: text(itunes.and_then(|x| x.author.as_ref())).or_else(|| text(i.author.as_ref())),
        image: text(itunes.and_then(|x| x.image.as_ref())),
        duration: itunes.and_then(|x| x.duration.as_deref()).and_then(duration),
        published: text(i.pub_date.as_ref()),
        enclosure,
        chapters: first(&i.extensions, podcast, "chapters").and_then(|e| text(e.attrs.get("url"))),
        transcripts: all(&i.extensions, podcast, "transcript")
            .filter_map(|e| {
                Some(Transcript {
                    url: text(e.attrs.get("url"))?,
                    media_type: text(e.attrs.get("type"))?.to_ascii_lowercase(),
                    language: text(e.attrs.get("language")),
                    rel: text(e.attrs.get("rel")),
                })
            })
            .collect(),
        problem,
    }
}

/// Whether an enclosure's announced type may be audio. An empty type or
/// `application/octet-stream` is allowed through: the probe decides.
fn is_audio_type(t: &str) -> bool {
    t.is_empty() || t.starts_with("audio/") || t == "application/octet-stream" || t == "video/mp4" || t == "video/x-m4v"
}

/// The prefixes a feed gives the Podcasting 2.0 namespace (`podcast` when it declares none
/// on the root, as many feeds forget to).
fn prefixes(namespaces: &BTreeMap<String, String>) -> Vec<String> {
    let mut found: Vec<String> = namespaces
        .iter()
        .filter(|(_, uri)| uri.trim_end_matches('/') == PODCAST_NAMESPACE)
        .map(|(prefix, _)| prefix.clone())
        .collect();
    if found.is_empty() {
        found.push("podcast".into());
    }
    found
}

fn all<'a>(map: &'a ExtensionMap, prefixes: &'a [String], name: &'a str) -> impl Iterator<Item = &'a Extension> + 'a {
    prefixes.iter().filter_map(move |p| map.get(p)?.get(name)).flatten()
}

fn first<'a>(map: &'a ExtensionMap, prefixes: &'a [String], name: &'a str) -> Option<&'a Extension> {
    all(map, prefixes, name).next()
}

fn text(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `itunes:duration`: seconds (`3600`, `3600.5`), `MM:SS` or `HH:MM:SS`.
pub fn duration(s: &str) -> Option<f64> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut total = 0.0f64;
    for (i, p) in parts.iter().enumerate() {
        let v: f64 = p.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
        // Only the last part may have a fraction.
        if i < parts.len().saturating_sub(1) && v.fract() != 0.0 {
            return None;
        }
        total = total * 60.0 + v;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title> The Long Walk </title>
    <description>A serial &amp; more</description>
    <language>en-GB</language>
    <itunes:author>Ada Writer</itunes:author>
    <itunes:image href="https://cdn.example/cover.jpg"/>
    <podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>
    <atom:link rel="hub" href="https://hub.example/"/>
    <atom:link rel="self" href="https://feeds.example/walk.xml" type="application/rss+xml"/>
    <item>
      <title>Chapter one</title>
      <description>Plain</description>
      <content:encoded><![CDATA[<p>Rich</p>]]></content:encoded>
      <guid isPermaLink="false">ep-1</guid>
      <pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate>
      <itunes:duration>01:02:03</itunes:duration>
      <enclosure url="https://cdn.example/1.mp3" length="1234" type="audio/mpeg"/>
      <podcast:chapters url="https://cdn.example/1.json" type="application/json+chapters"/>
      <podcast:transcript url="https://cdn.example/1.vtt" type="text/vtt" language="en" rel="captions"/>
      <podcast:transcript url="https://cdn.example/1.html" type="text/HTML"/>
    </item>
    <item>
      <title>No guid</title>
      <enclosure url="https://cdn.example/2.m4a" length="0" type="audio/x-m4a"/>
    </item>
    <item><title>Text only</title><guid>ep-3</guid></item>
    <item><guid>ep-4</guid><enclosure url="https://cdn.example/4.pdf" length="9" type="application/pdf"/></item>
  </channel>
</rss>"#;

    #[test]
    fn reads_what_fount_keeps() {
        let f = parse(FEED.as_bytes()).unwrap();
        assert_eq!(f.title, "The Long Walk");
        assert_eq!(f.description.as_deref(), Some("A serial & more"));
        assert_eq!(f.author.as_deref(), Some("Ada Writer"));
        assert_eq!(f.language.as_deref(), Some("en-GB"));
        assert_eq!(f.image.as_deref(), Some("https://cdn.example/cover.jpg"));
        assert_eq!(f.guid.as_deref(), Some("917393e3-1b1e-5cef-ace4-edaa54e1f810"));
        assert_eq!(f.hub.as_deref(), Some("https://hub.example/"));
        assert_eq!(f.self_url.as_deref(), Some("https://feeds.example/walk.xml"));
        assert_eq!(f.items.len(), 4);
        let one = &f.items[0];
        assert_eq!(one.guid, "ep-1");
        assert_eq!(one.title.as_deref(), Some("Chapter one"));
        assert_eq!(one.description.as_deref(), Some("<p>Rich</p>"));
        assert_eq!(one.duration, Some(3723.0));
        assert_eq!(
            one.enclosure,
            Some(Enclosure {
                url: "https://cdn.example/1.mp3".into(),
                length: Some(1234),
                media_type: "audio/mpeg".into()
            })
        );
        assert_eq!(one.chapters.as_deref(), Some("https://cdn.example/1.json"));
        assert_eq!(one.transcripts.len(), 2);
        assert_eq!(one.transcripts[0].rel.as_deref(), Some("captions"));
        assert_eq!(one.transcripts[1].media_type, "text/html");
        assert_eq!(one.problem, None);
        // Without a guid, the enclosure's URL is the identity; a zero length is no length.
        assert_eq!(f.items[1].guid, "https://cdn.example/2.m4a");
        assert_eq!(f.items[1].enclosure.as_ref().unwrap().length, None);
        assert_eq!(f.items[2].problem.as_deref(), Some("the item has no enclosure"));
        assert_eq!(f.items[3].problem.as_deref(), Some("the enclosure is application/pdf, not audio"));
    }

    #[test]
    fn a_locked_feed_is_refused_with_its_owner() {
        let locked = FEED
            .replace("<podcast:guid>", "<podcast:locked owner=\"ada@example.com\">yes</podcast:locked><podcast:guid>");
        assert_eq!(parse(locked.as_bytes()), Err(FeedError::Locked { owner: Some("ada@example.com".into()) }));
        let open = FEED.replace("<podcast:guid>", "<podcast:locked>no</podcast:locked><podcast:guid>");
        assert!(parse(open.as_bytes()).is_ok());
    }

    #[test]
    fn another_prefix_for_the_podcast_namespace_is_the_same_namespace() {
        let other =
            FEED.replace("xmlns:podcast=", "xmlns:p20=").replace("<podcast:", "<p20:").replace("</podcast:", "</p20:");
        let f = parse(other.as_bytes()).unwrap();
        assert_eq!(f.items[0].chapters.as_deref(), Some("https://cdn.example/1.json"));
        assert_eq!(f.guid.as_deref(), Some("917393e3-1b1e-5cef-ace4-edaa54e1f810"));
    }

    #[test]
    fn entities_are_never_expanded_nor_fetched() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>&lol3;</title><description>&xxe;</description></channel></rss>"#;
        match parse(laughs.as_bytes()) {
            Ok(f) => {
                assert_eq!(f.title, "&lol3;");
                assert_eq!(f.description.as_deref(), Some("&xxe;"));
            }
            Err(FeedError::Malformed(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn broken_feeds_are_malformed_not_a_panic() {
        for bad in [
            "",
            "not xml",
            "<rss><channel><title>cut",
            "<html><body>hi</body></html>",
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
        ] {
            assert!(matches!(parse(bad.as_bytes()), Err(FeedError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("3600"), Some(3600.0));
        assert_eq!(duration("90.5"), Some(90.5));
        assert_eq!(duration("1:30"), Some(90.0));
        assert_eq!(duration(" 1:00:01 "), Some(3601.0));
        for bad in ["", "1::2", "a:b", "-5", "1:2:3:4", "1.5:00", "inf", "NaN"] {
            assert_eq!(duration(bad), None, "{bad:?}");
        }
    }
}
