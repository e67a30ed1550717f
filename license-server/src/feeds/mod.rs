//! Feeds: a content provider hands Fount an RSS feed, and its items become titles a store
//! sells and streams, kept in step with the feed.
//!
//! # What a sync guarantees
//!
//! These come first; the code that keeps them follows.
//!
//! * **A sync is a job** (`feed.sync`), so it runs on whichever worker claims it, once at a
//!   time per feed (its unique key is the feed's id), and a worker that dies mid-sync leaves
//!   it to the next one after the lease.
//! * **An unchanged feed costs one request and no write.** The request is conditional
//!   (`If-None-Match` with the stored `ETag`, `If-Modified-Since` with the stored
//!   `Last-Modified`); a `304` ends the sync without touching the database beyond completing
//!   the job. A `200` whose body hashes the same as the last one is treated the same way.
//! * **Items are known by their identity**, `podcast:guid`, else `guid`, else the enclosure's
//!   URL ([`parse::Item::guid`]), never by their position. A new item is imported; an item
//!   whose enclosure changed (URL, or announced length) is packaged again; an item gone from
//!   the feed is unpublished: no longer sold, while every license already issued for it keeps
//!   working (its title and sealed files stay).
//! * **A broken item never stops the feed.** Each item ends with a status of its own
//!   (`published`, `failed` with why, `removed`), and the rest goes on. A broken feed (too
//!   large, not RSS, unreachable, stalling, redirecting in a loop, locked by its owner) ends
//!   as the feed's last result, with an event, and nothing already published is lost.
//! * **Every URL is the tenant's choice**, so every fetch (the feed, its enclosures, chapters
//!   and transcripts, the WebSub hub) goes through [`crate::outbound`]: public addresses
//!   only, checked after resolution and again on each redirect, which are followed by hand,
//!   a few at most.
//! * **Enclosures stream to disk**, never whole in memory, within a size limit, then are
//!   probed and sealed like an upload ([`crate::media::package`]).
//!
//! The pieces: [`parse`] reads a feed's bytes and [`plan`] decides what a sync does with
//! them (both sans-IO); [`fetch`] gets the feed and its enclosures; [`sync`] and [`import`]
//! are the two jobs; [`details`] is what an item keeps for its title, [`chapters`] reads
//! `podcast:chapters`, and [`websub`] subscribes to a feed's hub and takes its pushes.

pub mod chapters;
pub mod details;
pub mod fetch;
pub mod import;
pub mod parse;
pub mod plan;
pub mod sync;
pub mod websub;
