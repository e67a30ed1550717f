//! The event log's storage: [`EventLog`], and the SQL both backends share.
//!
//! Events are written by the repository's own write methods, in their transactions (see
//! [`portable_repository`]); this trait reads them, scans for the events no request makes
//! (a rental's license reaching its end), and applies retention.
//!
//! *Order.* The log is ordered by `(txid, seq)`: the writing transaction's id, then the row's
//! sequence number. On SQLite `txid` is always 0 and writes are serial, so this is `seq`, the
//! commit order. On PostgreSQL sequence numbers are taken at insert, not at commit, so a
//! transaction that began earlier can commit an event numbered below one already visible. A
//! read therefore returns only events of transactions older than the oldest transaction still
//! running (`pg_snapshot_xmin`): each of those has finished, and any transaction still to
//! commit has a larger id, so its events sort after everything returned. A cursor is the
//! position of the last event read, and never misses one.

use async_trait::async_trait;

use super::DbResult;
use crate::events::{Audit, EventRow};

/// Events deleted per retention transaction (see [`EventLog::purge_events`]).
pub const PURGE_BATCH: i64 = 5_000;

/// A position in the log: the `(txid, seq)` of an event; `(0, 0)` is the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventPosition {
    /// The writing transaction's id (0 on SQLite).
    pub txid: i64,
    /// The event's sequence number.
    pub seq: i64,
}

impl EventPosition {
    /// The position of `event`.
    pub fn of(event: &EventRow) -> Self {
        EventPosition { txid: event.txid, seq: event.seq }
    }
}

/// Reading the log, and the log's housekeeping.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` events of a store after `after`, in log order, of the given kinds (all
    /// when `None`); only events whose place in the order is final (see the module).
    async fn events(
        &self,
        store_id: &str,
        after: EventPosition,
        types: Option<&[String]>,
        limit: i64,
    ) -> DbResult<Vec<EventRow>>;
    /// The store's last `limit` events of the given kinds, newest first (the console's view;
    /// followers poll [`EventLog::events`] after the newest).
    async fn latest_events(&self, store_id: &str, types: Option<&[String]>, limit: i64) -> DbResult<Vec<EventRow>>;
    /// An event of a store by id.
    async fn event(&self, store_id: &str, id: &str) -> DbResult<Option<EventRow>>;
    /// Writes the `license.expired` events of the licenses whose end passed since the last
    /// scan, up to `up_to`; returns how many. One process at a time scans; the others get 0.
    async fn expire_licenses(&self, up_to: i64, audit: &Audit) -> DbResult<u64>;
    /// Deletes events written before `before` (retention), walking the log from its oldest
    /// end in batches of [`PURGE_BATCH`]; returns how many.
    async fn purge_events(&self, before: i64) -> DbResult<u64>;
}

/// Implements [`EventLog`] for a backend, given the condition that keeps an event out of
/// reads until its place in the order is final (`visible`), the condition that an event comes
/// after the position `($1, $2)` (`after`: a comparison the backend's planner seeks to in an
/// index; see the SQLite backend's), how its dialect tests an event's type against a JSON
/// array `$N` of names (`type_in`, with `$N` as `$4`), and how it locks a cursor row so that
/// one process at a time moves it (`lock_cursor`, `$1` the cursor's name, answering its
/// `txid, position`, or nothing when another process holds it).
macro_rules! portable_event_log {
    (
        $repo:ty,
        visible = $visible:literal,
        after = $after:literal,
        type_in = $type_in:literal,
        lock_cursor = $lock_cursor:literal $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::db::EventLog for $repo {
            async fn events(
                &self,
                store_id: &str,
                after: $crate::db::EventPosition,
                types: Option<&[String]>,
                limit: i64,
            ) -> $crate::db::DbResult<Vec<$crate::events::EventRow>> {
                let types = types.map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
                Ok(sqlx::query_as(concat!(
                    "SELECT * FROM events WHERE ",
                    $after,
                    " AND store_id = $3 AND ($4 IS NULL OR ",
                    $type_in,
                    ") AND ",
                    $visible,
                    " ORDER BY txid, seq LIMIT $5"
                ))
                .bind(after.txid)
                .bind(after.seq)
                .bind(store_id)
                .bind(types)
                .bind(limit)
                .fetch_all(&self.read)
                .await?)
            }

            async fn latest_events(
                &self,
                store_id: &str,
                types: Option<&[String]>,
                limit: i64,
            ) -> $crate::db::DbResult<Vec<$crate::events::EventRow>> {
                let types = types.map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
                Ok(sqlx::query_as(concat!(
                    "SELECT * FROM events WHERE store_id = $1 AND ($4 IS NULL OR ",
                    $type_in,
                    ") AND ",
                    $visible,
                    " ORDER BY txid DESC, seq DESC LIMIT $2 OFFSET $3"
                ))
                .bind(store_id)
                .bind(limit)
                .bind(0i64)
                .bind(types)
                .fetch_all(&self.read)
                .await?)
            }

            async fn event(&self, store_id: &str, id: &str) -> $crate::db::DbResult<Option<$crate::events::EventRow>> {
                Ok(sqlx::query_as("SELECT * FROM events WHERE store_id = $1 AND id = $2")
                    .bind(store_id)
                    .bind(id)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn expire_licenses(&self, up_to: i64, audit: &$crate::events::Audit) -> $crate::db::DbResult<u64> {
                let audit = audit.clone();
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let Some((_, from)): Option<(i64, i64)> =
                        sqlx::query_as($lock_cursor).bind("license.expiry").fetch_optional(&mut *tx).await?
                    else {
                        return Ok(0);
                    };
                    if up_to <= from {
                        return Ok(0);
                    }
                    let ended: Vec<$crate::db::LicenseRow> = sqlx::query_as(
                        "SELECT * FROM licenses WHERE expires_at > $1 AND expires_at <= $2 AND status = 'active' ORDER BY expires_at, id",
                    )
                    .bind(from)
                    .bind(up_to)
                    .fetch_all(&mut *tx)
                    .await?;
                    let n = u64::try_from(ended.len()).unwrap_or(u64::MAX);
                    // Each as it was at its end: `expired`.
                    let drafts = ended
                        .iter()
                        .map(|l| $crate::events::license($crate::events::Kind::LicenseExpired, l, l.expires_at.unwrap_or(up_to)))
                        .collect();
                    write_events(&mut tx, drafts, &audit, up_to).await?;
                    sqlx::query("UPDATE cursors SET position = $2 WHERE name = $1").bind("license.expiry").bind(up_to).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(n)
                })
                .await
            }

            async fn purge_events(&self, before: i64) -> $crate::db::DbResult<u64> {
                // From the log's oldest end, a batch at a time: the first events in the order
                // that were written before `before`. The order follows time closely enough
                // (transactions are short) that an event left behind a newer one goes at the
                // next run; the log needs no index on time for this, and no transaction holds
                // more than a batch.
                let mut deleted = 0u64;
                loop {
                    let batch = self
                        .on_background(move |pool| async move {
                            Ok(sqlx::query(
                                "DELETE FROM events WHERE (txid, seq) IN ( \
                                   SELECT txid, seq FROM (SELECT txid, seq, created_at FROM events ORDER BY txid, seq LIMIT $2) oldest \
                                   WHERE created_at < $1)",
                            )
                            .bind(before)
                            .bind($crate::db::event_log::PURGE_BATCH)
                            .execute(&pool)
                            .await?
                            .rows_affected())
                        })
                        .await?;
                    deleted = deleted.saturating_add(batch);
                    if batch < $crate::db::event_log::PURGE_BATCH.unsigned_abs() {
                        return Ok(deleted);
                    }
                }
            }
        }
    };
}
