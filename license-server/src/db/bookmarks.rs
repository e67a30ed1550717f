//! A customer's bookmarks in a title ([`Bookmarks`]), kept so that they follow the listener
//! from device to device.
//!
//! **Merging.** Each change carries the time the device made it (`changed_at`, ms). A device
//! that listened offline sends its changes when it is back; the server keeps, for each
//! bookmark, the change made last, whichever device made it, and answers what it kept. A
//! removal is a change too: the row stays as a tombstone (`deleted`), so a device that still
//! has the bookmark learns of the removal instead of bringing it back.

use async_trait::async_trait;

use super::DbResult;

/// A bookmark as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BookmarkRow {
    /// Whose.
    pub customer_id: String,
    /// In which title.
    pub title_id: String,
    /// The title's store.
    pub store_id: String,
    /// The device's id for it, unique within the title.
    pub id: String,
    /// Where, seconds on the title's timeline.
    pub seconds: f64,
    /// The listener's note.
    pub note: Option<String>,
    /// When it was made (the device's time, ms).
    pub created_at: i64,
    /// When it was last changed or removed (the device's time, ms).
    pub changed_at: i64,
    /// Removed: kept so that other devices remove it too.
    pub deleted: bool,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedBookmark {
    /// The bookmark as kept: the change given, or a later one already stored.
    Kept(BookmarkRow),
    /// A new bookmark, and the title already has `max` of this customer's.
    TooMany,
}

/// The bookmarks' storage.
#[async_trait]
pub trait Bookmarks: Send + Sync {
    /// A customer's bookmarks in a title, removed ones included, oldest first.
    async fn bookmarks(&self, customer_id: &str, title_id: &str) -> DbResult<Vec<BookmarkRow>>;
    /// Saves a change to a bookmark if it is later than the one stored (see the module); a
    /// new one only while the customer has fewer than `max` in the title.
    async fn save_bookmark(&self, change: &BookmarkRow, max: i64) -> DbResult<SavedBookmark>;
}

/// Implements [`Bookmarks`] for a backend.
macro_rules! portable_bookmarks {
    ($repo:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::bookmarks::Bookmarks for $repo {
            async fn bookmarks(&self, customer_id: &str, title_id: &str) -> $crate::db::DbResult<Vec<$crate::db::bookmarks::BookmarkRow>> {
                Ok(sqlx::query_as("SELECT * FROM bookmarks WHERE customer_id = $1 AND title_id = $2 ORDER BY created_at, id")
                    .bind(customer_id)
                    .bind(title_id)
                    .fetch_all(&self.read)
                    .await?)
            }

            async fn save_bookmark(&self, change: &$crate::db::bookmarks::BookmarkRow, max: i64) -> $crate::db::DbResult<$crate::db::bookmarks::SavedBookmark> {
                let b = change.clone();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let exists: Option<i64> = sqlx::query_scalar(
                        "SELECT changed_at FROM bookmarks WHERE customer_id = $1 AND title_id = $2 AND id = $3",
                    )
                    .bind(&b.customer_id)
                    .bind(&b.title_id)
                    .bind(&b.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if exists.is_none() {
                        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookmarks WHERE customer_id = $1 AND title_id = $2")
                            .bind(&b.customer_id)
                            .bind(&b.title_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        if n >= max {
                            return Ok($crate::db::bookmarks::SavedBookmark::TooMany);
                        }
                    }
                    // The later change wins; two devices saving at once both end with it.
                    sqlx::query(
                        "INSERT INTO bookmarks (customer_id, title_id, store_id, id, seconds, note, created_at, changed_at, deleted) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (customer_id, title_id, id) DO UPDATE SET seconds = excluded.seconds, note = excluded.note, \
                           changed_at = excluded.changed_at, deleted = excluded.deleted \
                         WHERE excluded.changed_at > bookmarks.changed_at",
                    )
                    .bind(&b.customer_id)
                    .bind(&b.title_id)
                    .bind(&b.store_id)
                    .bind(&b.id)
                    .bind(b.seconds)
                    .bind(&b.note)
                    .bind(b.created_at)
                    .bind(b.changed_at)
                    .bind(b.deleted)
                    .execute(&mut *tx)
                    .await?;
                    let kept = sqlx::query_as("SELECT * FROM bookmarks WHERE customer_id = $1 AND title_id = $2 AND id = $3")
                        .bind(&b.customer_id)
                        .bind(&b.title_id)
                        .bind(&b.id)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok($crate::db::bookmarks::SavedBookmark::Kept(kept))
                })
                .await
            }
        }
    };
}
