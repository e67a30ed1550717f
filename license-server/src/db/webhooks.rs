//! Webhook storage: endpoints, deliveries and attempts ([`WebhookStore`]), and the SQL both
//! backends share.
//!
//! A *delivery* is one event for one endpoint; each try at sending it is an *attempt*. The
//! fan-out turns new events into deliveries, each with a `webhook.deliver` job, and moves its
//! cursor in the same transaction, so every event is fanned out exactly once (see
//! docs/events.md, "Webhook delivery"). Recording an attempt is fenced by the delivering job's
//! [`Lease`]: a worker that lost its lease records nothing.

use async_trait::async_trait;

use super::page::{Cursor, Keyed};
use super::{DbResult, EventPosition, Lease, Page, PageQuery};
use crate::events::Audit;

/// A webhook endpoint as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    /// `wh_…`.
    pub id: String,
    /// Its store.
    pub store_id: String,
    /// Where deliveries go.
    pub url: String,
    /// The store's note.
    pub description: String,
    /// The event types it receives, a JSON array; empty for all.
    pub types: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// The signing secret, sealed under the KEK.
    pub secret: Vec<u8>,
    /// The secret before the last rotation, sealed, still signing until `previous_until`.
    pub previous_secret: Option<Vec<u8>>,
    /// Until when (seconds) the previous secret signs too.
    pub previous_until: Option<i64>,
    /// Since when every attempt has failed (seconds); `None` while deliveries succeed.
    pub failing_since: Option<i64>,
    /// Why Fount disabled it.
    pub disabled_reason: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

impl EndpointRow {
    /// Whether it receives events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        let types: Vec<String> = serde_json::from_str(&self.types).unwrap_or_default();
        types.is_empty() || types.iter().any(|t| t == kind)
    }

    /// Whether it receives `event`: one of the kinds it wants, and not the news of its own
    /// creation (whoever made it has not stored its secret yet; the event is for the store's
    /// other endpoints and its log).
    pub fn receives(&self, event: &crate::events::EventRow) -> bool {
        if !self.wants(&event.type_) {
            return false;
        }
        if event.type_ != crate::events::Kind::WebhookEndpointCreated.as_str() {
            return true;
        }
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
        data["webhook_endpoint"]["id"].as_str() != Some(self.id.as_str())
    }
}

/// What creating an endpoint needs (checked by the API).
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Store.
    pub store_id: String,
    /// URL.
    pub url: String,
    /// Note.
    pub description: String,
    /// Types, a JSON array.
    pub types: String,
    /// Enabled from the start.
    pub enabled: bool,
    /// The secret, sealed.
    pub secret: Vec<u8>,
}

/// A change to an endpoint; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    /// URL.
    pub url: Option<String>,
    /// Note.
    pub description: Option<String>,
    /// Types, a JSON array.
    pub types: Option<String>,
    /// Enabled; enabling clears the failure record.
    pub enabled: Option<bool>,
}

/// One event for one endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    /// `dlv_…`.
    pub id: String,
    /// Endpoint.
    pub endpoint_id: String,
    /// Store.
    pub store_id: String,
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// What went wrong on the last attempt.
    pub last_error: Option<String>,
    /// When the next attempt is due (seconds), while pending.
    pub next_attempt_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// When an attempt got a 2xx.
    pub delivered_at: Option<i64>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    /// `att_…`.
    pub id: String,
    /// The delivery.
    pub delivery_id: String,
    /// Its event (from the delivery).
    pub event_id: String,
    /// Its event's type.
    pub event_type: String,
    /// When (seconds).
    pub attempted_at: i64,
    /// How long until the answer (or the failure), ms.
    pub duration_ms: i64,
    /// The HTTP status, if an answer came.
    pub status_code: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

macro_rules! keyed_rows {
    ($($row:ty => $at:ident),*) => {
        $(impl Keyed for $row {
            fn key(&self) -> Cursor {
                Cursor { at: self.$at, id: self.id.clone() }
            }
        })*
    };
}
keyed_rows!(EndpointRow => created_at, DeliveryRow => created_at, AttemptRow => attempted_at);

/// What one attempt at a delivery needs, read in one query: the delivery, its endpoint, and
/// its event (`None` once the event is no longer kept).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryContext {
    /// The delivery.
    #[sqlx(flatten)]
    pub delivery: DeliveryRow,
    /// The endpoint's URL.
    pub url: String,
    /// Whether the endpoint is enabled.
    pub enabled: bool,
    /// Its secret, sealed.
    pub secret: Vec<u8>,
    /// The secret before its last rotation, sealed.
    pub previous_secret: Option<Vec<u8>>,
    /// Until when that one signs too.
    pub previous_until: Option<i64>,
    /// Since when every attempt has failed.
    pub failing_since: Option<i64>,
    /// The event's data, JSON.
    pub event_data: Option<String>,
    /// Who caused it.
    pub event_actor: Option<String>,
    /// When.
    pub event_created_at: Option<i64>,
}

/// What one attempt (or the decision not to make one) leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: delivered.
    Delivered,
    /// Failed; the next attempt is due at this time (ms).
    RetryAt(i64),
    /// Failed, and no attempt is left: the delivery has failed.
    GiveUp,
    /// Failed, and the endpoint is to be disabled, with why (410 Gone, or failing for days).
    Disable(String),
    /// Not attempted: the endpoint was disabled or deleted meanwhile.
    Skip(String),
}

/// An attempt to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The HTTP status, if an answer came.
    pub status_code: Option<i64>,
    /// How long, ms.
    pub duration_ms: i64,
    /// What went wrong.
    pub error: Option<String>,
    /// What follows.
    pub verdict: Verdict,
    /// Whether the endpoint was failing before this attempt (a success then clears it).
    pub endpoint_was_failing: bool,
}

/// What the fan-out and replays need to make deliveries' jobs.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryJobs {
    /// The deliver job's priority.
    pub priority: i64,
    /// Claims allowed per delivery job (the schedule's attempts, and slack for crashes).
    pub max_attempts: i64,
}

/// Webhook endpoints, deliveries and attempts.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Creates an endpoint.
    async fn create_endpoint(
        &self,
        id: &str,
        endpoint: &NewEndpoint,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<EndpointRow>;
    /// An endpoint by id, whatever its store (callers check ownership).
    async fn endpoint(&self, id: &str) -> DbResult<Option<EndpointRow>>;
    /// A store's endpoints, oldest first.
    async fn endpoints(&self, store_id: &str, page: &PageQuery) -> DbResult<Page<EndpointRow>>;
    /// Changes an endpoint; `None` if there is none.
    async fn update_endpoint(&self, id: &str, patch: &EndpointPatch, now: i64) -> DbResult<Option<EndpointRow>>;
    /// Deletes an endpoint with its deliveries; `false` if there was none.
    async fn delete_endpoint(&self, id: &str) -> DbResult<bool>;
    /// Replaces the secret; the current one keeps signing until `previous_until`.
    async fn rotate_secret(
        &self,
        id: &str,
        sealed: &[u8],
        previous_until: i64,
        now: i64,
    ) -> DbResult<Option<EndpointRow>>;
    /// Turns new events into deliveries and their jobs: looks at up to `window` events past
    /// the fan-out's cursor and reads those an endpoint may want, at most `limit` of them.
    /// Returns whether more may wait (a full window or a full batch). One process at a time
    /// fans out; the others get `false`.
    async fn fanout(&self, window: i64, limit: i64, jobs: DeliveryJobs, now_ms: i64) -> DbResult<bool>;
    /// Delivers the store's event `event_id` to the endpoint again; `None` if the store has
    /// no such event.
    async fn redeliver(
        &self,
        endpoint_id: &str,
        event_id: &str,
        jobs: DeliveryJobs,
        now_ms: i64,
    ) -> DbResult<Option<DeliveryRow>>;
    /// Makes deliveries to the endpoint of up to `limit` of its store's events after `after`
    /// (those it subscribes to); returns how many it made and the position it read up to.
    async fn replay(
        &self,
        endpoint_id: &str,
        after: EventPosition,
        limit: i64,
        jobs: DeliveryJobs,
        now_ms: i64,
    ) -> DbResult<(u64, Option<EventPosition>)>;
    /// A delivery by id.
    async fn delivery(&self, id: &str) -> DbResult<Option<DeliveryRow>>;
    /// A delivery with what an attempt at it needs; `None` if it is gone (with its endpoint).
    async fn delivery_context(&self, id: &str) -> DbResult<Option<DeliveryContext>>;
    /// An endpoint's deliveries, newest first.
    async fn deliveries(&self, endpoint_id: &str, page: &PageQuery) -> DbResult<Page<DeliveryRow>>;
    /// An endpoint's attempts, newest first.
    async fn attempts(&self, endpoint_id: &str, page: &PageQuery) -> DbResult<Page<AttemptRow>>;
    /// Records an attempt and what follows from it, with the delivering job's completion or
    /// rescheduling, in one transaction fenced by `lease`; `false` if the lease was lost
    /// (then nothing is recorded).
    async fn record_attempt(
        &self,
        lease: &Lease,
        attempt: &AttemptRecord,
        audit: &Audit,
        now_ms: i64,
    ) -> DbResult<bool>;
    /// Deletes deliveries (with their attempts) made before `before`; returns how many.
    async fn purge_deliveries(&self, before: i64) -> DbResult<u64>;
}

/// A new id with a prefix.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Implements [`WebhookStore`] for a backend, with its connection type and the dialect's
/// `visible` and `after` conditions and `lock_cursor` statement of [`portable_event_log`];
/// `through`, an event at or before the position `($3, $4)`, as `after` is written.
macro_rules! portable_webhooks {
    (
        $repo:ty,
        conn = $conn:ty,
        visible = $visible:literal,
        after = $after:literal,
        through = $through:literal,
        lock_cursor = $lock_cursor:literal $(,)?
    ) => {
        /// Inserts a delivery of `event` to `endpoint` and its job, in the caller's transaction.
        async fn insert_delivery(
            tx: &mut $conn,
            endpoint: &$crate::db::EndpointRow,
            event: &$crate::events::EventRow,
            jobs: $crate::db::DeliveryJobs,
            now_ms: i64,
        ) -> $crate::db::DbResult<$crate::db::DeliveryRow> {
            let now = now_ms.div_euclid(1000);
            let delivery: $crate::db::DeliveryRow = sqlx::query_as(
                "INSERT INTO webhook_deliveries (id, endpoint_id, store_id, event_id, event_type, state, attempts, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) RETURNING *",
            )
            .bind($crate::db::webhooks::new_id("dlv"))
            .bind(&endpoint.id)
            .bind(&endpoint.store_id)
            .bind(&event.id)
            .bind(&event.type_)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let job = $crate::db::NewJob {
                id: $crate::db::new_job_id(),
                kind: $crate::queue::JobKind::WebhookDeliver.as_str().to_owned(),
                payload: serde_json::json!({"delivery": delivery.id}).to_string(),
                store_id: Some(endpoint.store_id.clone()),
                priority: jobs.priority,
                run_at: now_ms,
                unique_key: None,
                max_attempts: jobs.max_attempts,
            };
            insert_job(&mut *tx, &job, now_ms).await?;
            Ok(delivery)
        }

        #[async_trait::async_trait]
        impl $crate::db::WebhookStore for $repo {
            async fn create_endpoint(&self, id: &str, e: &$crate::db::NewEndpoint, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::EndpointRow> {
                let (id, e, audit) = (id.to_owned(), e.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: $crate::db::EndpointRow = sqlx::query_as(
                        "INSERT INTO webhook_endpoints (id, store_id, url, description, types, enabled, secret, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *",
                    )
                    .bind(id)
                    .bind(e.store_id)
                    .bind(e.url)
                    .bind(e.description)
                    .bind(e.types)
                    .bind(e.enabled)
                    .bind(e.secret)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let draft = $crate::events::webhook_endpoint($crate::events::Kind::WebhookEndpointCreated, &row);
                    write_events(&mut tx, vec![draft], &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn endpoint(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::EndpointRow>> {
                Ok(sqlx::query_as("SELECT * FROM webhook_endpoints WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn endpoints(&self, store_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::EndpointRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM webhook_endpoints WHERE store_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
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

            async fn update_endpoint(&self, id: &str, p: &$crate::db::EndpointPatch, now: i64) -> $crate::db::DbResult<Option<$crate::db::EndpointRow>> {
                let (id, p) = (id.to_owned(), p.clone());
                self.on_writer(move |pool| async move {
                    Ok(sqlx::query_as(
                        "UPDATE webhook_endpoints SET url = COALESCE($2, url), description = COALESCE($3, description), \
                         types = COALESCE($4, types), enabled = COALESCE($5, enabled), \
                         failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END, \
                         disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
                         updated_at = $6 WHERE id = $1 RETURNING *",
                    )
                    .bind(id)
                    .bind(p.url)
                    .bind(p.description)
                    .bind(p.types)
                    .bind(p.enabled)
                    .bind(now)
                    .fetch_optional(&pool)
                    .await?)
                })
                .await
            }

            async fn delete_endpoint(&self, id: &str) -> $crate::db::DbResult<bool> {
                let id = id.to_owned();
                self.on_writer(move |pool| async move {
                    Ok(sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&pool).await?.rows_affected() > 0)
                })
                .await
            }

            async fn rotate_secret(&self, id: &str, sealed: &[u8], previous_until: i64, now: i64) -> $crate::db::DbResult<Option<$crate::db::EndpointRow>> {
                let (id, sealed) = (id.to_owned(), sealed.to_vec());
                self.on_writer(move |pool| async move {
                    Ok(sqlx::query_as(
                        "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $3, secret = $2, updated_at = $4 \
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(id)
                    .bind(sealed)
                    .bind(previous_until)
                    .bind(now)
                    .fetch_optional(&pool)
                    .await?)
                })
                .await
            }

            async fn fanout(&self, window: i64, limit: i64, jobs: $crate::db::DeliveryJobs, now_ms: i64) -> $crate::db::DbResult<bool> {
                // Read first, on a read connection, then write briefly. The reads (the window's
                // end, the events in it some endpoint may want) cost the most, and on SQLite the
                // write connection is the one every request's license is written through: it is
                // held only for the moves that must be atomic. The write checks that the cursor
                // has not moved since it was read, so another process that fanned these events
                // out meanwhile wins, and this one makes nothing twice. On PostgreSQL the
                // cursor's lock gives the transaction an id, and every event written after it
                // stays out of `/v1/events` until it ends (the ordering rule, docs/events.md),
                // so there too the lock is held for the writes only, and not at all when no
                // event waits.
                let Some((txid, seq)): Option<(i64, i64)> =
                    sqlx::query_as("SELECT txid, position FROM cursors WHERE name = $1")
                        .bind("webhook.fanout")
                        .fetch_optional(&self.read)
                        .await?
                else {
                    return Ok(false);
                };
                // The window: the next `window` visible events, or all of them when fewer
                // wait. Its end is visible, and so is every event before it (the ordering rule,
                // docs/events.md), so the rest needs no visibility test.
                let full: Option<(i64, i64)> = sqlx::query_as(concat!(
                    "SELECT txid, seq FROM events WHERE ",
                    $after,
                    " AND ",
                    $visible,
                    " ORDER BY txid, seq LIMIT 1 OFFSET $3"
                ))
                .bind(txid)
                .bind(seq)
                .bind(window.saturating_sub(1))
                .fetch_optional(&self.read)
                .await?;
                let end = match full {
                    Some(end) => end,
                    None => {
                        let last: Option<(i64, i64)> = sqlx::query_as(concat!(
                            "SELECT txid, seq FROM events WHERE ",
                            $after,
                            " AND ",
                            $visible,
                            " ORDER BY txid DESC, seq DESC LIMIT 1"
                        ))
                        .bind(txid)
                        .bind(seq)
                        .fetch_optional(&self.read)
                        .await?;
                        let Some(last) = last else { return Ok(false) };
                        last
                    }
                };
                // Of the window, only the events some enabled endpoint of their store may want
                // are read: a store's endpoints subscribe to a few types, while the log is
                // mostly `license.issued` (the type test on the stored JSON array can only err
                // towards reading an event, which `receives` then decides, under the write's
                // own reading of the endpoints).
                let events: Vec<$crate::events::EventRow> = sqlx::query_as(concat!(
                    "SELECT * FROM events e WHERE ",
                    $after,
                    " AND ",
                    $through,
                    " AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.store_id = e.store_id AND w.enabled \
                       AND (w.types = '[]' OR w.types LIKE '%\"' || e.type || '\"%')) \
                     ORDER BY txid, seq LIMIT $5",
                ))
                .bind(txid)
                .bind(seq)
                .bind(end.0)
                .bind(end.1)
                .bind(limit)
                .fetch_all(&self.read)
                .await?;
                // A batch that stopped at `limit` moves the cursor to its last event; otherwise
                // the whole window is done.
                let stopped_short = i64::try_from(events.len()).unwrap_or(i64::MAX) >= limit;
                let last = match events.last() {
                    Some(e) if stopped_short => $crate::db::EventPosition::of(e),
                    _ => $crate::db::EventPosition { txid: end.0, seq: end.1 },
                };
                let (moved, made) = self
                    .on_background(move |pool| async move {
                        let mut tx = begin_write(&pool).await?;
                        // Another process that moved the cursor meanwhile, or holds it, fans
                        // these out itself.
                        let locked: Option<(i64, i64)> =
                            sqlx::query_as($lock_cursor).bind("webhook.fanout").fetch_optional(&mut *tx).await?;
                        if locked != Some((txid, seq)) {
                            return Ok((false, false));
                        }
                        let mut endpoints: std::collections::HashMap<String, Vec<$crate::db::EndpointRow>> =
                            std::collections::HashMap::new();
                        let mut made = false;
                        for event in &events {
                            if !endpoints.contains_key(&event.store_id) {
                                let rows = sqlx::query_as("SELECT * FROM webhook_endpoints WHERE store_id = $1 AND enabled")
                                    .bind(&event.store_id)
                                    .fetch_all(&mut *tx)
                                    .await?;
                                endpoints.insert(event.store_id.clone(), rows);
                            }
                            for endpoint in endpoints.get(&event.store_id).into_iter().flatten() {
                                if endpoint.receives(event) {
                                    insert_delivery(&mut tx, endpoint, event, jobs, now_ms).await?;
                                    made = true;
                                }
                            }
                        }
                        sqlx::query("UPDATE cursors SET txid = $2, position = $3 WHERE name = $1")
                            .bind("webhook.fanout")
                            .bind(last.txid)
                            .bind(last.seq)
                            .execute(&mut *tx)
                            .await?;
                        if made {
                            signal_jobs(&mut tx).await?;
                        }
                        tx.commit().await?;
                        Ok((true, made))
                    })
                    .await?;
                if made {
                    self.jobs.bump();
                }
                Ok(moved && (stopped_short || full.is_some()))
            }

            async fn redeliver(&self, endpoint_id: &str, event_id: &str, jobs: $crate::db::DeliveryJobs, now_ms: i64) -> $crate::db::DbResult<Option<$crate::db::DeliveryRow>> {
                let (endpoint_id, event_id) = (endpoint_id.to_owned(), event_id.to_owned());
                let row = self
                    .on_background(move |pool| async move {
                        let mut tx = begin_write(&pool).await?;
                        let Some(endpoint): Option<$crate::db::EndpointRow> =
                            sqlx::query_as("SELECT * FROM webhook_endpoints WHERE id = $1").bind(&endpoint_id).fetch_optional(&mut *tx).await?
                        else {
                            return Ok(None);
                        };
                        let Some(event): Option<$crate::events::EventRow> = sqlx::query_as("SELECT * FROM events WHERE store_id = $1 AND id = $2")
                            .bind(&endpoint.store_id)
                            .bind(&event_id)
                            .fetch_optional(&mut *tx)
                            .await?
                        else {
                            return Ok(None);
                        };
                        let delivery = insert_delivery(&mut tx, &endpoint, &event, jobs, now_ms).await?;
                        signal_jobs(&mut tx).await?;
                        tx.commit().await?;
                        Ok(Some(delivery))
                    })
                    .await?;
                self.jobs.bump();
                Ok(row)
            }

            async fn replay(&self, endpoint_id: &str, after: $crate::db::EventPosition, limit: i64, jobs: $crate::db::DeliveryJobs, now_ms: i64) -> $crate::db::DbResult<(u64, Option<$crate::db::EventPosition>)> {
                let endpoint_id = endpoint_id.to_owned();
                let out = self
                    .on_background(move |pool| async move {
                        let mut tx = begin_write(&pool).await?;
                        let Some(endpoint): Option<$crate::db::EndpointRow> =
                            sqlx::query_as("SELECT * FROM webhook_endpoints WHERE id = $1 AND enabled").bind(&endpoint_id).fetch_optional(&mut *tx).await?
                        else {
                            return Ok((0, None));
                        };
                        let events: Vec<$crate::events::EventRow> = sqlx::query_as(concat!(
                            "SELECT * FROM events WHERE ",
                            $after,
                            " AND store_id = $3 AND ",
                            $visible,
                            " ORDER BY txid, seq LIMIT $4"
                        ))
                        .bind(after.txid)
                        .bind(after.seq)
                        .bind(&endpoint.store_id)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                        let mut made = 0u64;
                        for event in events.iter().filter(|e| endpoint.receives(e)) {
                            insert_delivery(&mut tx, &endpoint, event, jobs, now_ms).await?;
                            made = made.saturating_add(1);
                        }
                        signal_jobs(&mut tx).await?;
                        tx.commit().await?;
                        Ok((made, events.last().map($crate::db::EventPosition::of)))
                    })
                    .await?;
                self.jobs.bump();
                Ok(out)
            }

            async fn delivery(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::DeliveryRow>> {
                Ok(sqlx::query_as("SELECT * FROM webhook_deliveries WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn delivery_context(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::DeliveryContext>> {
                Ok(sqlx::query_as(
                    "SELECT d.*, w.url, w.enabled, w.secret, w.previous_secret, w.previous_until, w.failing_since, \
                       e.data AS event_data, e.actor AS event_actor, e.created_at AS event_created_at \
                     FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
                     LEFT JOIN events e ON e.store_id = d.store_id AND e.id = d.event_id WHERE d.id = $1",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await?)
            }

            async fn deliveries(&self, endpoint_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::DeliveryRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2 IS NULL OR (created_at, id) < ($2, $3)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4",
                )
                .bind(endpoint_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn attempts(&self, endpoint_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::AttemptRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT a.id, a.delivery_id, d.event_id, d.event_type, a.attempted_at, a.duration_ms, a.status_code, a.error \
                     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
                     WHERE d.endpoint_id = $1 AND ($2 IS NULL OR (a.attempted_at, a.id) < ($2, $3)) \
                     ORDER BY a.attempted_at DESC, a.id DESC LIMIT $4",
                )
                .bind(endpoint_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn purge_deliveries(&self, before: i64) -> $crate::db::DbResult<u64> {
                self.on_background(move |pool| async move {
                    Ok(sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < $1").bind(before).execute(&pool).await?.rows_affected())
                })
                .await
            }

            async fn record_attempt(&self, lease: &$crate::db::Lease, a: &$crate::db::AttemptRecord, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<bool> {
                use $crate::db::Verdict;
                let (lease, a, audit) = (lease.clone(), a.clone(), audit.clone());
                self.on_background(move |pool| async move {
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    let retry_at = match &a.verdict {
                        Verdict::RetryAt(at) => Some(*at),
                        _ => None,
                    };
                    let fenced = sqlx::query(
                        "UPDATE jobs SET \
                           state = CASE WHEN $4 IS NULL THEN 'completed' ELSE 'queued' END, \
                           run_at = COALESCE($4, run_at), \
                           finished_at = CASE WHEN $4 IS NULL THEN $5 ELSE NULL END, \
                           lease_until = NULL, last_error = $6, updated_at = $5 \
                         WHERE id = $1 AND worker = $2 AND attempts = $3 AND state = 'running'",
                    )
                    .bind(&lease.job_id)
                    .bind(&lease.worker)
                    .bind(lease.attempt)
                    .bind(retry_at)
                    .bind(now_ms)
                    .bind(&a.error)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if fenced == 0 {
                        return Ok(false);
                    }
                    if let Verdict::Skip(reason) = &a.verdict {
                        sqlx::query("UPDATE webhook_deliveries SET state = 'failed', last_error = $2, next_attempt_at = NULL, updated_at = $3 WHERE id = $1")
                            .bind(&a.delivery_id)
                            .bind(reason)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        return Ok(true);
                    }
                    sqlx::query(
                        "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, duration_ms, status_code, error) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind($crate::db::webhooks::new_id("att"))
                    .bind(&a.delivery_id)
                    .bind(now)
                    .bind(a.duration_ms)
                    .bind(a.status_code)
                    .bind(&a.error)
                    .execute(&mut *tx)
                    .await?;
                    let (state, next) = match &a.verdict {
                        Verdict::Delivered => ("delivered", None),
                        Verdict::RetryAt(at) => ("pending", Some(at.div_euclid(1000))),
                        _ => ("failed", None),
                    };
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_status = $3, last_error = $4, \
                         next_attempt_at = $5, updated_at = $6, delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END \
                         WHERE id = $1",
                    )
                    .bind(&a.delivery_id)
                    .bind(state)
                    .bind(a.status_code)
                    .bind(&a.error)
                    .bind(next)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    match &a.verdict {
                        Verdict::Delivered if a.endpoint_was_failing => {
                            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                                .bind(&a.endpoint_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        Verdict::Delivered => {}
                        Verdict::Disable(reason) => {
                            let disabled: Option<$crate::db::EndpointRow> = sqlx::query_as(
                                "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, failing_since = COALESCE(failing_since, $3), updated_at = $3 \
                                 WHERE id = $1 AND enabled RETURNING *",
                            )
                            .bind(&a.endpoint_id)
                            .bind(reason)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                            let drafts = disabled.iter().map(|e| $crate::events::webhook_endpoint($crate::events::Kind::WebhookEndpointDisabled, e)).collect();
                            write_events(&mut tx, drafts, &audit, now).await?;
                        }
                        _ => {
                            sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1")
                                .bind(&a.endpoint_id)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    if retry_at.is_some() {
                        signal_jobs(&mut tx).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                })
                .await
            }
        }
    };
}
