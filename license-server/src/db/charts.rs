//! What the console's charts read ([`Charts`]): counts by day for a store, and the queue's
//! depth over time.
//!
//! Nothing here is on a hot path's write: licenses per day are counted from the licenses
//! (their `(store_id, created_at)` index), webhook success from the delivery attempts, and
//! the two series nothing else keeps are written off the issuance path: a listener's day when
//! a playback position is saved (at most one row per customer and day), the queue's depth by
//! one worker process a minute.

use async_trait::async_trait;

use super::DbResult;

/// Seconds in a day: days are UTC days since the epoch (`unix / DAY`).
pub const DAY: i64 = 86_400;

/// A count on a day (days since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DayCount {
    /// Days since the epoch, UTC.
    pub day: i64,
    /// How many.
    pub count: i64,
}

/// Webhook delivery attempts on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DayAttempts {
    /// Days since the epoch, UTC.
    pub day: i64,
    /// Attempts made.
    pub attempts: i64,
    /// Those answered 2xx.
    pub succeeded: i64,
}

/// A sample of the queue's depth.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueSample {
    /// When, seconds since the epoch.
    pub at: i64,
    /// The job kind.
    pub kind: String,
    /// Jobs due and not done.
    pub due: i64,
}

/// The charts' storage.
#[async_trait]
pub trait Charts: Send + Sync {
    /// Licenses first issued per day from `since_day` on, for a store (days with none left out).
    async fn licenses_per_day(&self, store_id: &str, since_day: i64) -> DbResult<Vec<DayCount>>;
    /// Customers who listened (saved a position) per day from `since_day` on.
    async fn listeners_per_day(&self, store_id: &str, since_day: i64) -> DbResult<Vec<DayCount>>;
    /// The store's webhook delivery attempts per day from `since_day` on.
    async fn webhook_attempts_per_day(&self, store_id: &str, since_day: i64) -> DbResult<Vec<DayAttempts>>;
    /// Records the queue's depth at `at` (seconds), one row per kind; a second sample at the
    /// same second is ignored.
    async fn record_queue_sample(&self, at: i64, due: &[(String, i64)]) -> DbResult<()>;
    /// The samples from `since` (seconds) on, oldest first.
    async fn queue_samples(&self, since: i64) -> DbResult<Vec<QueueSample>>;
    /// Deletes samples older than `before` (seconds) and listeners' days before `before_day`.
    async fn prune_charts(&self, before: i64, before_day: i64) -> DbResult<u64>;
}

/// Implements [`Charts`] for a backend.
macro_rules! portable_charts {
    ($repo:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::charts::Charts for $repo {
            async fn licenses_per_day(&self, store_id: &str, since_day: i64) -> $crate::db::DbResult<Vec<$crate::db::charts::DayCount>> {
                Ok(sqlx::query_as(
                    "SELECT created_at / 86400 AS day, COUNT(*) AS count FROM licenses \
                     WHERE store_id = $1 AND created_at >= $2 GROUP BY created_at / 86400 ORDER BY day",
                )
                .bind(store_id)
                .bind(since_day.saturating_mul($crate::db::charts::DAY))
                .fetch_all(&self.read)
                .await?)
            }

            async fn listeners_per_day(&self, store_id: &str, since_day: i64) -> $crate::db::DbResult<Vec<$crate::db::charts::DayCount>> {
                Ok(sqlx::query_as(
                    "SELECT day, COUNT(*) AS count FROM listening_days WHERE store_id = $1 AND day >= $2 GROUP BY day ORDER BY day",
                )
                .bind(store_id)
                .bind(since_day)
                .fetch_all(&self.read)
                .await?)
            }

            async fn webhook_attempts_per_day(&self, store_id: &str, since_day: i64) -> $crate::db::DbResult<Vec<$crate::db::charts::DayAttempts>> {
                Ok(sqlx::query_as(
                    "SELECT a.attempted_at / 86400 AS day, COUNT(*) AS attempts, \
                       SUM(CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS succeeded \
                     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE e.store_id = $1 AND a.attempted_at >= $2 GROUP BY a.attempted_at / 86400 ORDER BY day",
                )
                .bind(store_id)
                .bind(since_day.saturating_mul($crate::db::charts::DAY))
                .fetch_all(&self.read)
                .await?)
            }

            async fn record_queue_sample(&self, at: i64, due: &[(String, i64)]) -> $crate::db::DbResult<()> {
                let due = due.to_vec();
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    for (kind, n) in due {
                        sqlx::query("INSERT INTO queue_samples (at, kind, due) VALUES ($1, $2, $3) ON CONFLICT (at, kind) DO NOTHING")
                            .bind(at)
                            .bind(kind)
                            .bind(n)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
                .await
            }

            async fn queue_samples(&self, since: i64) -> $crate::db::DbResult<Vec<$crate::db::charts::QueueSample>> {
                Ok(sqlx::query_as("SELECT * FROM queue_samples WHERE at >= $1 ORDER BY at, kind").bind(since).fetch_all(&self.read).await?)
            }

            async fn prune_charts(&self, before: i64, before_day: i64) -> $crate::db::DbResult<u64> {
                self.on_background(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let a = sqlx::query("DELETE FROM queue_samples WHERE at < $1").bind(before).execute(&mut *tx).await?;
                    let b = sqlx::query("DELETE FROM listening_days WHERE day < $1").bind(before_day).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(a.rows_affected().saturating_add(b.rows_affected()))
                })
                .await
            }
        }
    };
}
