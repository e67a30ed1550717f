//! Feed storage: feeds and what became of their items ([`FeedStore`]), and the SQL both
//! backends share.
//!
//! A feed has one `feed.sync` job at a time (its unique key is [`sync_key`]): created with the
//! feed, moved to now by "sync now", and put back in the queue by the worker after each sync
//! for the next one. Items are keyed by `(feed, guid)`: the item's identity in the feed,
//! never its position.

use async_trait::async_trait;

use super::page::{Cursor, Keyed};
use super::{DbResult, Fenced, JobRow, Lease, NewJob, Page, PageQuery};
use crate::events::Audit;

/// A feed as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedRow {
    /// `feed_…`.
    pub id: String,
    /// Its store.
    pub store_id: String,
    /// Where it is now.
    pub url: String,
    /// `episodes` or `serial`.
    pub mode: String,
    /// A serial feed's title.
    pub title_id: Option<String>,
    /// Default price of the titles it makes.
    pub price: Option<String>,
    /// Their currency.
    pub currency: Option<String>,
    /// Their checkout URL.
    pub checkout_url: Option<String>,
    /// `active` or `paused`.
    pub status: String,
    /// Seconds between syncs.
    pub interval_s: i64,
    /// The channel's title, as last read.
    pub name: Option<String>,
    /// `ETag` of the last `200`.
    pub etag: Option<String>,
    /// `Last-Modified` of the last `200`.
    pub last_modified: Option<String>,
    /// SHA-256 (hex) of the last body read.
    pub body_sha256: Option<String>,
    /// The WebSub hub the feed announces.
    pub hub: Option<String>,
    /// Until when the hub subscription holds (seconds).
    pub hub_lease_until: Option<i64>,
    /// When the feed last changed anything (seconds): an import, or a failure.
    pub last_sync_at: Option<i64>,
    /// `imported`, `unchanged` or `failed`.
    pub last_result: Option<String>,
    /// Why the last sync failed.
    pub last_error: Option<String>,
    /// Failed syncs in a row.
    pub failures: i64,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// The channel's details, JSON ([`crate::feeds::details::FeedDetails`]).
    pub details: Option<String>,
    /// The topic subscribed to at the hub.
    pub hub_topic: Option<String>,
    /// The random id in the subscription's callback URL.
    pub hub_callback: Option<String>,
    /// The secret the hub signs its pushes with, sealed with the master key.
    pub hub_secret: Option<Vec<u8>>,
    /// `pending`, `active`, `denied` or `failed`.
    pub hub_state: Option<String>,
    /// Why the hub refused or could not be reached.
    pub hub_error: Option<String>,
}

impl Keyed for FeedRow {
    fn key(&self) -> Cursor {
        Cursor { at: self.created_at, id: self.id.clone() }
    }
}

/// An item of a feed as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedItemRow {
    /// Its feed.
    pub feed_id: String,
    /// Its identity in the feed.
    pub guid: String,
    /// Its title in the feed.
    pub name: Option<String>,
    /// Its place in the feed at the last sync.
    pub position: i64,
    /// The enclosure's URL.
    pub enclosure_url: Option<String>,
    /// The length the feed announced.
    pub enclosure_length: Option<i64>,
    /// The type the feed announced.
    pub enclosure_type: Option<String>,
    /// The title it became.
    pub title_id: Option<String>,
    /// Its track's file.
    pub track_file: Option<String>,
    /// `queued`, `processing`, `published`, `failed` or `removed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Last changed.
    pub updated_at: i64,
    /// Its details, JSON ([`crate::feeds::details::ItemDetails`]).
    pub details: Option<String>,
}

/// What creating a feed needs (checked by the API).
#[derive(Debug, Clone)]
pub struct NewFeed {
    /// Store.
    pub store_id: String,
    /// URL.
    pub url: String,
    /// `episodes` or `serial`.
    pub mode: String,
    /// Defaults for its titles.
    pub price: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Checkout URL.
    pub checkout_url: Option<String>,
    /// Seconds between syncs.
    pub interval_s: i64,
}

/// A change to a feed; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct FeedPatch {
    /// `active` or `paused`.
    pub status: Option<String>,
    /// Seconds between syncs.
    pub interval_s: Option<i64>,
    /// Default price.
    pub price: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Checkout URL.
    pub checkout_url: Option<String>,
}

/// What a sync read from a feed that had changed.
#[derive(Debug, Clone)]
pub struct FeedRead {
    /// The channel's title.
    pub name: Option<String>,
    /// Where the feed moved (every redirect on the way permanent).
    pub url: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// SHA-256 (hex) of the body.
    pub body_sha256: String,
    /// A WebSub hub it announces.
    pub hub: Option<String>,
    /// The channel's details, JSON.
    pub details: Option<String>,
    /// What happens to each item, in the feed's order, then the removals.
    pub changes: Vec<ItemChange>,
}

/// A change to one stored item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemChange {
    /// Written as given: new, changed (`queued`), or failing (`failed` with why).
    Upsert {
        /// Identity.
        guid: String,
        /// Its title in the feed.
        name: Option<String>,
        /// Enclosure URL.
        enclosure_url: Option<String>,
        /// Announced length.
        enclosure_length: Option<i64>,
        /// Announced type.
        enclosure_type: Option<String>,
        /// `queued` or `failed`.
        status: String,
        /// Why it failed.
        error: Option<String>,
        /// Whether it is stored already (changed, back, or fixed) rather than new.
        known: bool,
        /// Its details, JSON.
        details: Option<String>,
    },
    /// Unchanged but for its title in the feed and its details.
    Keep {
        /// Identity.
        guid: String,
        /// Its title in the feed.
        name: Option<String>,
        /// Its details, JSON.
        details: Option<String>,
    },
    /// Gone from the feed.
    Remove {
        /// Identity.
        guid: String,
    },
}

/// The unique key of the job importing an item.
pub fn item_key(feed_id: &str, guid: &str) -> String {
    format!("feed.item:{feed_id}:{guid}")
}

/// The unique key of a feed's sync job.
pub fn sync_key(feed_id: &str) -> String {
    format!("feed.sync:{feed_id}")
}

/// Feeds' storage.
#[async_trait]
pub trait FeedStore: Send + Sync + 'static {
    /// Creates a feed with its first sync job, in one transaction.
    async fn create_feed(&self, id: &str, feed: &NewFeed, sync: &NewJob, now: i64) -> DbResult<FeedRow>;
    /// A feed by id, whatever its store (callers check ownership).
    async fn feed(&self, id: &str) -> DbResult<Option<FeedRow>>;
    /// A store's feeds, oldest first.
    async fn feeds(&self, store_id: &str, page: &PageQuery) -> DbResult<Page<FeedRow>>;
    /// A feed's items, in the feed's order (removed ones last).
    async fn feed_items(&self, feed_id: &str) -> DbResult<Vec<FeedItemRow>>;
    /// A feed and its items as one picture (one read-only snapshot: never an import's new
    /// items beside the feed row from before it), whatever its store (callers check
    /// ownership); `None` if there is no such feed.
    async fn feed_with_items(&self, id: &str) -> DbResult<Option<(FeedRow, Vec<FeedItemRow>)>>;
    /// Changes a feed; `None` if there is none. Resuming a paused feed queues its sync job
    /// (`resume`) if it has none.
    async fn update_feed(&self, id: &str, patch: &FeedPatch, resume: &NewJob, now: i64) -> DbResult<Option<FeedRow>>;
    /// Deletes a feed and its items; the titles it made stay, and with them every license
    /// issued. `false` if there was none.
    async fn delete_feed(&self, id: &str) -> DbResult<bool>;
    /// Makes the feed's sync job due now, or queues `job` if it has none waiting.
    async fn sync_now(&self, feed_id: &str, job: &NewJob, now_ms: i64) -> DbResult<JobRow>;
    /// Puts the running job of `lease` back in the queue, due at `at_ms`, its attempts
    /// reset: a recurring job's turn done. `false` if the lease was lost.
    async fn requeue_job(&self, lease: &Lease, at_ms: i64, now_ms: i64) -> DbResult<bool>;
    /// Records a failed sync (its `feed.failed` event) and requeues the sync job at `at_ms`,
    /// fenced by `lease`.
    async fn record_feed_failure(
        &self,
        feed_id: &str,
        error: &str,
        lease: &Lease,
        at_ms: i64,
        audit: &Audit,
        now_ms: i64,
    ) -> DbResult<Fenced<Option<FeedRow>>>;
    /// Clears a feed's failures after an unchanged read, and requeues the sync job.
    async fn record_feed_recovered(&self, feed_id: &str, lease: &Lease, at_ms: i64, now_ms: i64) -> DbResult<bool>;
    /// Records a changed feed: its metadata, validators, and each item's change, with the
    /// events that follow (`feed.synced`, `feed_item.failed`), and requeues the sync job, in
    /// one transaction fenced by `lease`. An item gone from an episodic feed withdraws its
    /// title from sale.
    async fn record_feed_read(
        &self,
        feed_id: &str,
        read: &FeedRead,
        lease: &Lease,
        at_ms: i64,
        audit: &Audit,
        now_ms: i64,
    ) -> DbResult<Fenced<Option<FeedRow>>>;
}

/// Where a feed's WebSub subscription stands, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubChange {
    /// A subscription is being asked for: the hub will verify `callback` for `topic`.
    Subscribing {
        /// The topic (the feed's own URL).
        topic: String,
        /// The callback's random id.
        callback: String,
        /// The secret, sealed.
        secret: Vec<u8>,
        /// When to ask again if the hub never verifies (seconds).
        retry_at: i64,
    },
    /// The hub verified the subscription of `callback`, which holds until `lease_until`.
    Verified {
        /// The callback verified.
        callback: String,
        /// Seconds.
        lease_until: i64,
    },
    /// The hub denied the subscription, or could not be asked: `state` is `denied` or
    /// `failed`.
    Refused {
        /// `denied` or `failed`.
        state: String,
        /// Why.
        error: String,
        /// When to ask again (seconds).
        retry_at: i64,
    },
}

/// A feed's WebSub subscription.
#[async_trait]
pub trait FeedHubs: Send + Sync + 'static {
    /// The feed whose subscription's callback id is `callback`.
    async fn feed_by_callback(&self, callback: &str) -> DbResult<Option<FeedRow>>;
    /// Records a change to a feed's subscription. A verification or a refusal for a callback
    /// that is no longer the feed's is ignored (`false`).
    async fn record_hub(&self, feed_id: &str, change: &HubChange, now: i64) -> DbResult<bool>;
}

/// What the import of one item records.
#[async_trait]
pub trait FeedItems: Send + Sync + 'static {
    /// An item of a feed.
    async fn feed_item(&self, feed_id: &str, guid: &str) -> DbResult<Option<FeedItemRow>>;
    /// Sets a serial feed's title, unless it has one; answers the feed's title.
    async fn set_feed_title(&self, feed_id: &str, title_id: &str, now: i64) -> DbResult<Option<String>>;
    /// Records the title a queued item became (before its track exists).
    async fn set_feed_item_title(&self, feed_id: &str, guid: &str, title_id: &str, now: i64) -> DbResult<()>;
    /// Notes on a queued item why its last attempt failed, while it waits to be retried.
    async fn note_feed_item_error(&self, feed_id: &str, guid: &str, error: &str, now: i64) -> DbResult<()>;
    /// Marks a queued item failed, with its `feed_item.failed` event; `None` if it is no
    /// longer queued.
    async fn fail_feed_item(
        &self,
        feed_id: &str,
        guid: &str,
        error: &str,
        audit: &Audit,
        now: i64,
    ) -> DbResult<Option<FeedItemRow>>;
}

/// Puts back job `$1` held by worker `$2` at attempt `$3` (the fence), due at `$4`, at `$5`.
pub(crate) const REQUEUE_JOB: &str = "UPDATE jobs SET state = 'queued', run_at = $4, attempts = 0, worker = NULL, lease_until = NULL, \
     last_error = NULL, updated_at = $5 WHERE id = $1 AND worker = $2 AND attempts = $3 AND state = 'running'";

/// Implements [`FeedStore`] for a backend.
macro_rules! portable_feeds {
    ($repo:ty, conn = $conn:ty, snapshot = $snapshot:literal $(,)?) => {
        /// A feed's items on `conn`, in the feed's order (removed ones last).
        async fn feed_items_on(conn: &mut $conn, feed_id: &str) -> $crate::db::DbResult<Vec<$crate::db::FeedItemRow>> {
            Ok(sqlx::query_as(
                "SELECT * FROM feed_items WHERE feed_id = $1 ORDER BY CASE WHEN status = 'removed' THEN 1 ELSE 0 END, position, guid",
            )
            .bind(feed_id)
            .fetch_all(&mut *conn)
            .await?)
        }

        #[async_trait::async_trait]
        impl $crate::db::FeedStore for $repo {
            async fn create_feed(&self, id: &str, f: &$crate::db::NewFeed, sync: &$crate::db::NewJob, now: i64) -> $crate::db::DbResult<$crate::db::FeedRow> {
                let (id, f, sync) = (id.to_owned(), f.clone(), sync.clone());
                let row = self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: $crate::db::FeedRow = sqlx::query_as(
                        "INSERT INTO feeds (id, store_id, url, mode, price, currency, checkout_url, status, interval_s, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9) RETURNING *",
                    )
                    .bind(&id)
                    .bind(f.store_id)
                    .bind(f.url)
                    .bind(f.mode)
                    .bind(f.price)
                    .bind(f.currency)
                    .bind(f.checkout_url)
                    .bind(f.interval_s)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    insert_job(&mut *tx, &sync, now.saturating_mul(1000)).await?;
                    signal_jobs(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await;
                self.jobs.bump();
                row
            }

            async fn feed(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::FeedRow>> {
                Ok(sqlx::query_as("SELECT * FROM feeds WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn feeds(&self, store_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::FeedRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM feeds WHERE store_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
                     ORDER BY created_at, id LIMIT $4",
                )
                .bind(store_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn feed_items(&self, feed_id: &str) -> $crate::db::DbResult<Vec<$crate::db::FeedItemRow>> {
                let mut conn = self.read.acquire().await?;
                feed_items_on(&mut *conn, feed_id).await
            }

            async fn feed_with_items(&self, id: &str) -> $crate::db::DbResult<Option<($crate::db::FeedRow, Vec<$crate::db::FeedItemRow>)>> {
                let mut tx = self.read.begin_with($snapshot).await?;
                let Some(feed) = sqlx::query_as::<_, $crate::db::FeedRow>("SELECT * FROM feeds WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(None);
                };
                let items = feed_items_on(&mut *tx, id).await?;
                tx.commit().await?;
                Ok(Some((feed, items)))
            }

            async fn update_feed(&self, id: &str, p: &$crate::db::FeedPatch, resume: &$crate::db::NewJob, now: i64) -> $crate::db::DbResult<Option<$crate::db::FeedRow>> {
                let (id, p, resume) = (id.to_owned(), p.clone(), resume.clone());
                let row = self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::FeedRow> = sqlx::query_as(
                        "UPDATE feeds SET status = COALESCE($2, status), interval_s = COALESCE($3, interval_s), \
                         price = COALESCE($4, price), currency = COALESCE($5, currency), checkout_url = COALESCE($6, checkout_url), \
                         updated_at = $7 WHERE id = $1 RETURNING *",
                    )
                    .bind(&id)
                    .bind(p.status)
                    .bind(p.interval_s)
                    .bind(p.price)
                    .bind(p.currency)
                    .bind(p.checkout_url)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    // A paused feed's job ends at its next run; an active one has one queued
                    // or running (the unique key makes this a no-op then).
                    let resumed = row.as_ref().is_some_and(|r| r.status == "active");
                    if resumed {
                        insert_job(&mut *tx, &resume, now.saturating_mul(1000)).await?;
                        signal_jobs(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await;
                self.jobs.bump();
                row
            }

            async fn delete_feed(&self, id: &str) -> $crate::db::DbResult<bool> {
                let id = id.to_owned();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    sqlx::query("DELETE FROM feed_items WHERE feed_id = $1").bind(&id).execute(&mut *tx).await?;
                    let gone = sqlx::query("DELETE FROM feeds WHERE id = $1").bind(&id).execute(&mut *tx).await?.rows_affected() > 0;
                    // Its sync job finds no feed and ends.
                    tx.commit().await?;
                    Ok(gone)
                })
                .await
            }

            async fn sync_now(&self, feed_id: &str, job: &$crate::db::NewJob, now_ms: i64) -> $crate::db::DbResult<$crate::db::JobRow> {
                let (key, job) = ($crate::db::feeds::sync_key(feed_id), job.clone());
                let row = self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let moved: Option<$crate::db::JobRow> = sqlx::query_as(
                        "UPDATE jobs SET run_at = $2, updated_at = $2 WHERE unique_key = $1 AND state = 'queued' AND run_at > $2 RETURNING *",
                    )
                    .bind(&key)
                    .bind(now_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let row = match moved {
                        Some(row) => row,
                        None => match insert_job(&mut *tx, &job, now_ms).await? {
                            Some(row) => row,
                            // Queued and due already, or running: that sync is the one asked for.
                            None => sqlx::query_as("SELECT * FROM jobs WHERE unique_key = $1 AND state IN ('queued', 'running')")
                                .bind(&key)
                                .fetch_one(&mut *tx)
                                .await?,
                        },
                    };
                    signal_jobs(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await;
                self.jobs.bump();
                row
            }

            async fn requeue_job(&self, lease: &$crate::db::Lease, at_ms: i64, now_ms: i64) -> $crate::db::DbResult<bool> {
                let lease = lease.clone();
                self.on_background(move |pool| async move {
                    let mut conn = pool.acquire().await?;
                    requeue_in(&mut conn, &lease, at_ms, now_ms).await
                })
                .await
            }

            async fn record_feed_failure(&self, feed_id: &str, error: &str, lease: &$crate::db::Lease, at_ms: i64, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<$crate::db::Fenced<Option<$crate::db::FeedRow>>> {
                let (feed_id, error, lease, audit) = (feed_id.to_owned(), error.to_owned(), lease.clone(), audit.clone());
                self.on_background(move |pool| async move {
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    if !requeue_in(&mut tx, &lease, at_ms, now_ms).await? {
                        return Ok($crate::db::Fenced::Lost);
                    }
                    let before: Option<Option<String>> = sqlx::query_scalar("SELECT last_error FROM feeds WHERE id = $1").bind(&feed_id).fetch_optional(&mut *tx).await?;
                    let row: Option<$crate::db::FeedRow> = sqlx::query_as(
                        "UPDATE feeds SET failures = failures + 1, last_result = 'failed', last_error = $2, last_sync_at = $3, updated_at = $3 \
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(&feed_id)
                    .bind(&error)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    // One event when the feed starts failing, and one each time why changes, not
                    // one per retry.
                    if let Some(feed) = row.as_ref().filter(|f| f.failures == 1 || before.flatten().as_deref() != Some(error.as_str())) {
                        write_events(&mut tx, vec![$crate::events::feed($crate::events::Kind::FeedFailed, feed, [0; 4])], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok($crate::db::Fenced::Done(row))
                })
                .await
            }

            async fn record_feed_recovered(&self, feed_id: &str, lease: &$crate::db::Lease, at_ms: i64, now_ms: i64) -> $crate::db::DbResult<bool> {
                let (feed_id, lease) = (feed_id.to_owned(), lease.clone());
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    if !requeue_in(&mut tx, &lease, at_ms, now_ms).await? {
                        return Ok(false);
                    }
                    sqlx::query("UPDATE feeds SET failures = 0, last_result = 'unchanged', last_error = NULL, last_sync_at = $2, updated_at = $2 WHERE id = $1")
                        .bind(&feed_id)
                        .bind(now_ms.div_euclid(1000))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                })
                .await
            }

            async fn record_feed_read(&self, feed_id: &str, read: &$crate::db::feeds::FeedRead, lease: &$crate::db::Lease, at_ms: i64, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<$crate::db::Fenced<Option<$crate::db::FeedRow>>> {
                let (feed_id, read, lease, audit) = (feed_id.to_owned(), read.clone(), lease.clone(), audit.clone());
                self.on_background(move |pool| async move {
                    use $crate::db::feeds::ItemChange;
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    if !requeue_in(&mut tx, &lease, at_ms, now_ms).await? {
                        return Ok($crate::db::Fenced::Lost);
                    }
                    let Some((mode, store_id)): Option<(String, String)> = sqlx::query_as("SELECT mode, store_id FROM feeds WHERE id = $1").bind(&feed_id).fetch_optional(&mut *tx).await? else {
                        tx.commit().await?;
                        return Ok($crate::db::Fenced::Done(None));
                    };
                    let (mut added, mut changed, mut removed, mut failed) = (0u64, 0u64, 0u64, 0u64);
                    let mut drafts = Vec::new();
                    for (position, change) in read.changes.iter().enumerate() {
                        let position = i64::try_from(position).unwrap_or(i64::MAX);
                        match change {
                            ItemChange::Upsert { guid, name, enclosure_url, enclosure_length, enclosure_type, status, error, known, details } => {
                                // Only what changed is written: a feed item failing the same
                                // way at every sync makes one event, not one a sync.
                                let row: Option<$crate::db::FeedItemRow> = sqlx::query_as(
                                    "INSERT INTO feed_items (feed_id, guid, name, position, enclosure_url, enclosure_length, enclosure_type, status, error, updated_at, details) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                                     ON CONFLICT (feed_id, guid) DO UPDATE SET name = excluded.name, position = excluded.position, \
                                     enclosure_url = excluded.enclosure_url, enclosure_length = excluded.enclosure_length, enclosure_type = excluded.enclosure_type, \
                                     status = excluded.status, error = excluded.error, updated_at = excluded.updated_at, details = excluded.details \
                                     WHERE feed_items.status IS DISTINCT FROM excluded.status OR feed_items.error IS DISTINCT FROM excluded.error \
                                       OR feed_items.enclosure_url IS DISTINCT FROM excluded.enclosure_url OR feed_items.enclosure_length IS DISTINCT FROM excluded.enclosure_length \
                                       OR feed_items.name IS DISTINCT FROM excluded.name OR feed_items.position IS DISTINCT FROM excluded.position \
                                       OR feed_items.details IS DISTINCT FROM excluded.details \
                                     RETURNING *",
                                )
                                .bind(&feed_id)
                                .bind(guid)
                                .bind(name)
                                .bind(position)
                                .bind(enclosure_url)
                                .bind(enclosure_length)
                                .bind(enclosure_type)
                                .bind(status)
                                .bind(error)
                                .bind(now)
                                .bind(details)
                                .fetch_optional(&mut *tx)
                                .await?;
                                if let (Some(item), "queued") = (&row, status.as_str()) {
                                    let mut job = $crate::queue::JobKind::FeedItem.job(serde_json::json!({"feed": feed_id, "guid": item.guid}), Some(&store_id), now_ms);
                                    job.unique_key = Some($crate::db::feeds::item_key(&feed_id, &item.guid));
                                    insert_job(&mut *tx, &job, now_ms).await?;
                                }
                                match (status.as_str(), known, &row) {
                                    ("failed", _, Some(item)) => {
                                        failed = failed.saturating_add(1);
                                        drafts.push($crate::events::feed_item($crate::events::Kind::FeedItemFailed, &store_id, &feed_id, item));
                                    }
                                    ("failed", _, None) => failed = failed.saturating_add(1),
                                    (_, false, _) => added = added.saturating_add(1),
                                    (_, true, Some(_)) => changed = changed.saturating_add(1),
                                    _ => {}
                                }
                            }
                            ItemChange::Keep { guid, name, details } => {
                                sqlx::query(
                                    "UPDATE feed_items SET name = $3, position = $4, updated_at = $5, details = $6 WHERE feed_id = $1 AND guid = $2 \
                                     AND (name IS DISTINCT FROM $3 OR position IS DISTINCT FROM $4 OR details IS DISTINCT FROM $6)",
                                )
                                .bind(&feed_id)
                                .bind(guid)
                                .bind(name)
                                .bind(position)
                                .bind(now)
                                .bind(details)
                                .execute(&mut *tx)
                                .await?;
                            }
                            ItemChange::Remove { guid } => {
                                let title: Option<Option<String>> = sqlx::query_scalar(
                                    "UPDATE feed_items SET status = 'removed', error = NULL, updated_at = $3 WHERE feed_id = $1 AND guid = $2 AND status <> 'removed' RETURNING title_id",
                                )
                                .bind(&feed_id)
                                .bind(guid)
                                .bind(now)
                                .fetch_optional(&mut *tx)
                                .await?;
                                if let Some(title) = title {
                                    removed = removed.saturating_add(1);
                                    if let (Some(title), "episodes") = (title, mode.as_str()) {
                                        sqlx::query("UPDATE titles SET withdrawn_at = $2, updated_at = $2 WHERE id = $1 AND withdrawn_at IS NULL")
                                            .bind(title)
                                            .bind(now)
                                            .execute(&mut *tx)
                                            .await?;
                                    }
                                }
                            }
                        }
                    }
                    let feed: $crate::db::FeedRow = sqlx::query_as(
                        "UPDATE feeds SET name = COALESCE($2, name), url = COALESCE($3, url), etag = $4, last_modified = $5, body_sha256 = $6, hub = $7, \
                         last_sync_at = $8, last_result = 'imported', last_error = NULL, failures = 0, updated_at = $8, details = $9 WHERE id = $1 RETURNING *",
                    )
                    .bind(&feed_id)
                    .bind(&read.name)
                    .bind(&read.url)
                    .bind(&read.etag)
                    .bind(&read.last_modified)
                    .bind(&read.body_sha256)
                    .bind(&read.hub)
                    .bind(now)
                    .bind(&read.details)
                    .fetch_one(&mut *tx)
                    .await?;
                    drafts.insert(0, $crate::events::feed($crate::events::Kind::FeedSynced, &feed, [added, changed, removed, failed]));
                    write_events(&mut tx, drafts, &audit, now).await?;
                    signal_jobs(&mut *tx).await?;
                    tx.commit().await?;
                    Ok($crate::db::Fenced::Done(Some(feed)))
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::feeds::FeedHubs for $repo {
            async fn feed_by_callback(&self, callback: &str) -> $crate::db::DbResult<Option<$crate::db::FeedRow>> {
                Ok(sqlx::query_as("SELECT * FROM feeds WHERE hub_callback = $1").bind(callback).fetch_optional(&self.read).await?)
            }

            async fn record_hub(&self, feed_id: &str, change: &$crate::db::feeds::HubChange, now: i64) -> $crate::db::DbResult<bool> {
                use $crate::db::feeds::HubChange;
                let (feed_id, change) = (feed_id.to_owned(), change.clone());
                self.on_background(move |pool| async move {
                    let done = match change {
                        HubChange::Subscribing { topic, callback, secret, retry_at } => sqlx::query(
                            "UPDATE feeds SET hub_topic = $2, hub_callback = $3, hub_secret = $4, hub_state = 'pending', hub_error = NULL, \
                             hub_lease_until = $5, updated_at = $6 WHERE id = $1",
                        )
                        .bind(&feed_id)
                        .bind(topic)
                        .bind(callback)
                        .bind(secret)
                        .bind(retry_at)
                        .bind(now)
                        .execute(&pool)
                        .await?,
                        HubChange::Verified { callback, lease_until } => sqlx::query(
                            "UPDATE feeds SET hub_state = 'active', hub_error = NULL, hub_lease_until = $3, updated_at = $4 \
                             WHERE id = $1 AND hub_callback = $2",
                        )
                        .bind(&feed_id)
                        .bind(callback)
                        .bind(lease_until)
                        .bind(now)
                        .execute(&pool)
                        .await?,
                        HubChange::Refused { state, error, retry_at } => sqlx::query(
                            "UPDATE feeds SET hub_state = $2, hub_error = $3, hub_lease_until = $4, updated_at = $5 WHERE id = $1",
                        )
                        .bind(&feed_id)
                        .bind(state)
                        .bind(error)
                        .bind(retry_at)
                        .bind(now)
                        .execute(&pool)
                        .await?,
                    };
                    Ok(done.rows_affected() == 1)
                })
                .await
            }
        }

        /// [`REQUEUE_JOB`]($crate::db::feeds::REQUEUE_JOB) in the caller's transaction.
        async fn requeue_in(conn: &mut $conn, lease: &$crate::db::Lease, at_ms: i64, now_ms: i64) -> $crate::db::DbResult<bool> {
            let n = sqlx::query($crate::db::feeds::REQUEUE_JOB)
                .bind(&lease.job_id)
                .bind(&lease.worker)
                .bind(lease.attempt)
                .bind(at_ms)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(n == 1)
        }

        #[async_trait::async_trait]
        impl $crate::db::feeds::FeedItems for $repo {
            async fn feed_item(&self, feed_id: &str, guid: &str) -> $crate::db::DbResult<Option<$crate::db::FeedItemRow>> {
                Ok(sqlx::query_as("SELECT * FROM feed_items WHERE feed_id = $1 AND guid = $2").bind(feed_id).bind(guid).fetch_optional(&self.read).await?)
            }

            async fn set_feed_title(&self, feed_id: &str, title_id: &str, now: i64) -> $crate::db::DbResult<Option<String>> {
                let (feed_id, title_id) = (feed_id.to_owned(), title_id.to_owned());
                self.on_background(move |pool| async move {
                    let row: Option<Option<String>> = sqlx::query_scalar(
                        "UPDATE feeds SET title_id = COALESCE(title_id, $2), updated_at = $3 WHERE id = $1 RETURNING title_id",
                    )
                    .bind(&feed_id)
                    .bind(&title_id)
                    .bind(now)
                    .fetch_optional(&pool)
                    .await?;
                    Ok(row.flatten())
                })
                .await
            }

            async fn set_feed_item_title(&self, feed_id: &str, guid: &str, title_id: &str, now: i64) -> $crate::db::DbResult<()> {
                let (feed_id, guid, title_id) = (feed_id.to_owned(), guid.to_owned(), title_id.to_owned());
                self.on_background(move |pool| async move {
                    sqlx::query("UPDATE feed_items SET title_id = $3, updated_at = $4 WHERE feed_id = $1 AND guid = $2")
                        .bind(&feed_id)
                        .bind(&guid)
                        .bind(&title_id)
                        .bind(now)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn note_feed_item_error(&self, feed_id: &str, guid: &str, error: &str, now: i64) -> $crate::db::DbResult<()> {
                let (feed_id, guid, error) = (feed_id.to_owned(), guid.to_owned(), error.to_owned());
                self.on_background(move |pool| async move {
                    sqlx::query("UPDATE feed_items SET error = $3, updated_at = $4 WHERE feed_id = $1 AND guid = $2 AND status = 'queued'")
                        .bind(&feed_id)
                        .bind(&guid)
                        .bind(&error)
                        .bind(now)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn fail_feed_item(&self, feed_id: &str, guid: &str, error: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::FeedItemRow>> {
                let (feed_id, guid, error, audit) = (feed_id.to_owned(), guid.to_owned(), error.to_owned(), audit.clone());
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::FeedItemRow> = sqlx::query_as(
                        "UPDATE feed_items SET status = 'failed', error = $3, updated_at = $4 WHERE feed_id = $1 AND guid = $2 AND status = 'queued' RETURNING *",
                    )
                    .bind(&feed_id)
                    .bind(&guid)
                    .bind(&error)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(item) = &row {
                        let store_id: String = sqlx::query_scalar("SELECT store_id FROM feeds WHERE id = $1").bind(&feed_id).fetch_one(&mut *tx).await?;
                        write_events(&mut tx, vec![$crate::events::feed_item($crate::events::Kind::FeedItemFailed, &store_id, &feed_id, item)], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }
        }
    };
}
