//! The Readium audiobook manifest of a title, built from its rows.
//!
//! It is built on each request rather than stored, so it can never disagree with the tracks
//! (two uploads finishing together would otherwise race to write it). Hrefs are relative to
//! the manifest's own URL, `/pub/<title>/manifest.json`, so the manifest and its sealed
//! tracks can be copied as they are to any static host; with `FOUNT_ASSETS_PUBLIC_URL`,
//! tracks are linked at that CDN instead (covers and transcripts stay with the manifest: they
//! are small, and transcripts need the headers this server sends with them).

use fount_sdk::manifest::{
    self, AUDIOBOOK_PROFILE, CONTEXT, Encryption, Link, Manifest, Metadata, Properties, SEALED_ALGORITHM, SEALED_SCHEME,
};

use super::probe::FileChapter;
use crate::db::{TitleRow, TrackRow, Transcript};

/// The language of a title whose store did not say: BCP 47's "undetermined".
pub const UNDETERMINED: &str = "und";

/// Names Fount's titles that are not themselves UUIDs (the demo's `fount-sampler`), so each
/// gets a stable UUID of its own (RFC 9562 version 5).
const TITLE_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x4c7f_2a10_6a8e_4b9c_9d21_5e0f_f0a1_7b33);

/// A title's `identifier`: `urn:uuid:` and its id when that is a UUID, else a UUID derived
/// from it.
pub fn identifier(title_id: &str) -> String {
    let uuid =
        uuid::Uuid::parse_str(title_id).unwrap_or_else(|_| uuid::Uuid::new_v5(&TITLE_NAMESPACE, title_id.as_bytes()));
    format!("urn:uuid:{}", uuid.hyphenated())
}

/// The media type of an image, from its URL's extension; `image/*` when it does not say.
fn image_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        _ => "image/*",
    }
}

/// The href of a track: relative to the manifest, or under `assets_url`
/// (`FOUNT_ASSETS_PUBLIC_URL`, a CDN serving the asset store's files by name) when set.
pub fn track_href(track: &TrackRow, assets_url: Option<&str>) -> String {
    match assets_url {
        Some(base) => format!("{base}/{}", track.file),
        None => format!("tracks/{}", track.file),
    }
}

/// RFC 3339 for a Unix time.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A track's transcripts, as alternates of it: the same words, as text.
fn transcripts(track: &TrackRow) -> Vec<Link> {
    let kept: Vec<Transcript> = serde_json::from_str(&track.transcripts).unwrap_or_default();
    kept.into_iter()
        .map(|t| Link {
            href: format!("transcripts/{}", t.file),
            media_type: Some(t.media_type),
            rel: Some("transcript".into()),
            language: t.language,
            ..Default::default()
        })
        .collect()
}

/// Builds the manifest; tracks are linked under `assets_url` when given (see [`track_href`]).
pub fn build(title: &TitleRow, tracks: &[TrackRow], assets_url: Option<&str>) -> Manifest {
    let mut toc = Vec::new();
    let reading_order = tracks
        .iter()
        .map(|t| {
            let href = track_href(t, assets_url);
            let chapters: Vec<FileChapter> = serde_json::from_str(&t.chapters).unwrap_or_default();
            if chapters.is_empty() {
                toc.push(Link { href: href.clone(), title: Some(t.name.clone()), ..Default::default() });
            }
            for c in chapters {
                toc.push(Link {
                    href: format!("{href}#t={}", (c.offset * 1000.0).round() / 1000.0),
                    title: Some(c.title),
                    ..Default::default()
                });
            }
            Link {
                href,
                media_type: Some(t.media_type.clone()),
                title: Some(t.name.clone()),
                duration: Some(t.duration),
                bitrate: (t.duration > 0.0)
                    .then(|| ((t.original_length as f64 * 8.0 / 1000.0 / t.duration) * 10.0).round() / 10.0),
                alternate: transcripts(t),
                properties: Some(Properties {
                    encrypted: Some(Encryption {
                        scheme: SEALED_SCHEME.into(),
                        algorithm: SEALED_ALGORITHM.into(),
                        key_id: title.key_id.clone(),
                        original_length: u64::try_from(t.original_length).unwrap_or(0),
                    }),
                }),
                ..Default::default()
            }
        })
        .collect();
    let mut resources = Vec::new();
    if let Some((href, media_type)) = title.cover() {
        let media_type = media_type.unwrap_or_else(|| image_type(&href)).to_owned();
        resources.push(Link { href, rel: Some("cover".into()), media_type: Some(media_type), ..Default::default() });
    }
    Manifest {
        context: vec![CONTEXT.into()],
        metadata: Metadata {
            type_: Some("http://schema.org/Audiobook".into()),
            conforms_to: Some(AUDIOBOOK_PROFILE.into()),
            identifier: Some(identifier(&title.id)),
            title: title.name.clone(),
            author: title.author.clone(),
            language: Some(title.language.clone().unwrap_or_else(|| UNDETERMINED.into())),
            description: title.description.clone(),
            duration: Some(tracks.iter().map(|t| t.duration).sum()),
            modified: Some(rfc3339(title.updated_at)),
        },
        links: vec![Link {
            href: "manifest.json".into(),
            rel: Some("self".into()),
            media_type: Some(manifest::MEDIA_TYPE.into()),
            ..Default::default()
        }],
        reading_order,
        toc,
        resources,
    }
}
