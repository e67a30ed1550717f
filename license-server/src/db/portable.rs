//! The SQL both backends share, written once.
//!
//! `portable_repository!` implements [`Repository`](super::Repository) for a backend struct
//! with a `read` pool and an `on_writer` method, which runs a closure with the write pool
//! wherever that backend wants writes to run (SQLite: on its own thread; PostgreSQL: right
//! here). Write closures own their arguments, so they can move. The backend also passes what
//! its dialect spells differently: the statement that locks a row inside a write transaction,
//! and its connection type. Everything else is plain SQL both SQLite and PostgreSQL accept.
//!
//! Every method that changes state writes the change's events (see [`crate::events`]) in the
//! same transaction, through `write_events`: an event exists if and only if its change does.

/// Revokes entitlement `$1` at time `$2`, unless it is revoked already; answers it when it was
/// revoked now.
pub(crate) const REVOKE_ENTITLEMENT_RETURNING: &str =
    "UPDATE entitlements SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *";
/// Revokes the active licenses issued under entitlement `$1`, at time `$2`, answering them.
pub(crate) const REVOKE_ENTITLEMENT_LICENSES_RETURNING: &str = "UPDATE licenses SET status = 'revoked', status_updated_at = $2 WHERE entitlement_id = $1 AND status = 'active' RETURNING *";

/// Inserts event `$1` (id) of store `$2`, type `$3`, data `$4`, actor `$5`, at `$6`.
pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO events (id, store_id, type, data, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// The columns a license is inserted with, in the order of the values of
/// [`UPSERT_LICENSE`] (and of PostgreSQL's batch of them).
macro_rules! license_columns {
    () => {
        "INSERT INTO licenses (id, store_id, customer_id, customer_ref, title_id, device_id, device_jkt, entitlement_id, status, not_before, expires_at, renew_by, issued_at, status_updated_at, created_at) "
    };
}

/// What issuing a license the device already holds does instead: renews that one, keeping
/// its id and last status change; and the row written, either way.
macro_rules! license_renewal {
    () => {
        " ON CONFLICT (device_id, title_id) WHERE status = 'active' DO UPDATE SET \
         entitlement_id = excluded.entitlement_id, not_before = excluded.not_before, expires_at = excluded.expires_at, \
         renew_by = excluded.renew_by, issued_at = excluded.issued_at \
         RETURNING *"
    };
}

/// Issues a license: inserts `$1` to `$12` in `bind_new_license!`'s order, or, when the
/// device already holds an active license of the title, renews that one (keeping its id and
/// last status change); answers the row.
pub(crate) const UPSERT_LICENSE: &str = concat!(
    license_columns!(),
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, $12, $12)",
    license_renewal!()
);

/// Customer `$1`'s active device with thumbprint `$2`.
pub(crate) const ACTIVE_DEVICE: &str =
    "SELECT * FROM devices WHERE customer_id = $1 AND jkt = $2 AND revoked_at IS NULL";

/// The entitlement that lets customer `$1` have title `$2` at `$3`: a purchase before a
/// rental, then the rental that ends last.
pub(crate) const USABLE_ENTITLEMENT: &str = "SELECT * FROM entitlements WHERE customer_id = $1 AND title_id = $2 AND revoked_at IS NULL \
     AND (ends_at IS NULL OR ends_at > $3) \
     ORDER BY CASE WHEN ends_at IS NULL THEN 0 ELSE 1 END, ends_at DESC, starts_at LIMIT 1";

/// Binds a new license (a [`LicenseRow`](super::LicenseRow)) and the time as `$1` to `$12`,
/// the order of the issuing upsert's values.
macro_rules! bind_new_license {
    ($query:expr, $l:expr, $now:expr) => {
        $query
            .bind(&$l.id)
            .bind(&$l.store_id)
            .bind(&$l.customer_id)
            .bind(&$l.customer_ref)
            .bind(&$l.title_id)
            .bind(&$l.device_id)
            .bind(&$l.device_jkt)
            .bind(&$l.entitlement_id)
            .bind($l.not_before)
            .bind($l.expires_at)
            .bind($l.renew_by)
            .bind($now)
    };
}

macro_rules! portable_repository {
    (
        $repo:ty,
        backend = $backend:literal,
        conn = $conn:ty,
        lock_customer = $lock_customer:literal,
        lock_title = $lock_title:literal,
        lock_signing_keys = $lock_signing_keys:literal $(,)?
    ) => {
        /// Writes events in the caller's transaction.
        async fn write_events(
            conn: &mut $conn,
            drafts: Vec<$crate::events::Draft>,
            audit: &$crate::events::Audit,
            now: i64,
        ) -> $crate::db::DbResult<()> {
            for d in drafts {
                sqlx::query($crate::db::portable::INSERT_EVENT)
                    .bind($crate::events::new_id())
                    .bind(d.store_id)
                    .bind(d.kind.as_str())
                    .bind(d.data.to_string())
                    .bind(&audit.actor)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }

        /// Inserts a job in the caller's transaction; `None` if its unique key is taken.
        async fn insert_job(conn: &mut $conn, job: &$crate::db::NewJob, now_ms: i64) -> $crate::db::DbResult<Option<$crate::db::JobRow>> {
            Ok(sqlx::query_as($crate::db::queue::INSERT_JOB)
                .bind(&job.id)
                .bind(&job.kind)
                .bind(&job.payload)
                .bind(&job.store_id)
                .bind(job.priority)
                .bind(job.run_at)
                .bind(&job.unique_key)
                .bind(job.max_attempts)
                .bind(now_ms)
                .fetch_optional(&mut *conn)
                .await?)
        }

        /// Completes the job `lease` holds, in the caller's transaction, with its result;
        /// `false` if the lease was lost (the caller then rolls back its work).
        async fn complete_job_in(conn: &mut $conn, lease: &$crate::db::Lease, result: Option<&str>, now_ms: i64) -> $crate::db::DbResult<bool> {
            let n = sqlx::query(
                "UPDATE jobs SET state = 'completed', lease_until = NULL, finished_at = $4, updated_at = $4, result = $5 \
                 WHERE id = $1 AND worker = $2 AND attempts = $3 AND state = 'running'",
            )
            .bind(&lease.job_id)
            .bind(&lease.worker)
            .bind(lease.attempt)
            .bind(now_ms)
            .bind(result)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok(n == 1)
        }

        /// Puts the tracks of a serial feed's title in the order of the feed's items (items
        /// import side by side, so their tracks are appended in whatever order they finish);
        /// tracks that are not the feed's keep their place after them. Nothing for an
        /// episodic feed.
        async fn order_serial(conn: &mut $conn, title_id: &str, feed_id: &str) -> $crate::db::DbResult<()> {
            let serial: Option<String> = sqlx::query_scalar("SELECT mode FROM feeds WHERE id = $1").bind(feed_id).fetch_optional(&mut *conn).await?;
            if serial.as_deref() != Some("serial") {
                return Ok(());
            }
            let mut rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
                "SELECT t.file, t.position, fi.position FROM tracks t LEFT JOIN feed_items fi ON fi.feed_id = $2 AND fi.track_file = t.file                  WHERE t.title_id = $1",
            )
            .bind(title_id)
            .bind(feed_id)
            .fetch_all(&mut *conn)
            .await?;
            rows.sort_by_key(|(_, now, item)| (item.is_none(), *item, *now));
            // Positions are a key, checked row by row: moved tracks pass through negative
            // values rather than collide.
            let mut moved = false;
            for (new, (file, now, _)) in rows.iter().enumerate() {
                let new = i64::try_from(new).unwrap_or(i64::MAX);
                if new != *now {
                    moved = true;
                    sqlx::query("UPDATE tracks SET position = $3 WHERE title_id = $1 AND file = $2")
                        .bind(title_id)
                        .bind(file)
                        .bind(new.saturating_add(1).saturating_neg())
                        .execute(&mut *conn)
                        .await?;
                }
            }
            if moved {
                sqlx::query("UPDATE tracks SET position = -position - 1 WHERE title_id = $1 AND position < 0").bind(title_id).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Marks a title changed by a track added or published, in the caller's transaction,
        /// and makes the track file's cover art the title's if the title has none; its store.
        async fn touch_title(conn: &mut $conn, title_id: &str, cover: Option<&$crate::db::FileCover>, now: i64) -> $crate::db::DbResult<String> {
            // SET's right-hand sides read the row as it was: the type follows the file only
            // where the file is set here.
            Ok(sqlx::query_scalar(
                "UPDATE titles SET updated_at = $2, \
                 cover_type = CASE WHEN cover_file IS NULL AND $3 IS NOT NULL THEN $4 ELSE cover_type END, \
                 cover_file = COALESCE(cover_file, $3) \
                 WHERE id = $1 RETURNING store_id",
            )
            .bind(title_id)
            .bind(now)
            .bind(cover.map(|c| c.file.as_str()))
            .bind(cover.map(|c| c.media_type.as_str()))
            .fetch_one(&mut *conn)
            .await?)
        }

        /// A title's tracks in reading order, in the caller's transaction.
        async fn tracks_in(conn: &mut $conn, title_id: &str) -> $crate::db::DbResult<Vec<$crate::db::TrackRow>> {
            Ok(sqlx::query_as("SELECT * FROM tracks WHERE title_id = $1 ORDER BY position").bind(title_id).fetch_all(&mut *conn).await?)
        }

        #[async_trait::async_trait]
        impl $crate::db::Repository for $repo {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pools(&self) -> Vec<$crate::db::PoolUse> {
                vec![$crate::db::PoolUse::of("read", &self.read), $crate::db::PoolUse::of("write", &self.write)]
            }

            async fn ping(&self) -> $crate::db::DbResult<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            async fn check_writes(&self, now: i64) -> $crate::db::DbResult<()> {
                self.on_writer(move |pool| async move {
                    sqlx::query(
                        "INSERT INTO health_checks (id, checked_at) VALUES (1, $1) \
                         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                    )
                    .bind(now)
                    .execute(&pool)
                    .await?;
                    Ok(())
                })
                .await
            }

            async fn create_store(&self, id: &str, name: &str, device_limit: i64, now: i64) -> $crate::db::DbResult<$crate::db::Store> {
                let (id, name) = (id.to_owned(), name.to_owned());
                self.on_writer(move |pool| async move {
                    Ok(sqlx::query_as("INSERT INTO stores (id, name, device_limit, created_at) VALUES ($1, $2, $3, $4) RETURNING *")
                        .bind(id)
                        .bind(name)
                        .bind(device_limit)
                        .bind(now)
                        .fetch_one(&pool)
                        .await?)
                })
                .await
            }

            async fn store(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::Store>> {
                Ok(sqlx::query_as("SELECT * FROM stores WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn stores(&self, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::Store>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM stores WHERE ($1 IS NULL OR (created_at, id) > ($1, $2)) ORDER BY created_at, id LIMIT $3",
                )
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn update_store(&self, id: &str, p: &$crate::db::StorePatch, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::Store>> {
                let (id, p, audit) = (id.to_owned(), p.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::Store> = sqlx::query_as(
                        "UPDATE stores SET name = COALESCE($2, name), device_limit = COALESCE($3, device_limit), \
                         offline_seconds = COALESCE($4, offline_seconds), allowed_origins = COALESCE($5, allowed_origins), \
                         demo = COALESCE($6, demo), stripe_webhook_secret = COALESCE($7, stripe_webhook_secret), \
                         device_removal_wait_seconds = COALESCE($8, device_removal_wait_seconds) \
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(id)
                    .bind(p.name)
                    .bind(p.device_limit)
                    .bind(p.offline_seconds)
                    .bind(p.allowed_origins)
                    .bind(p.demo)
                    .bind(p.stripe_webhook_secret)
                    .bind(p.device_removal_wait_seconds)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(store) = &row {
                        let draft = $crate::events::store($crate::events::Kind::StoreUpdated, &audit.base, store);
                        write_events(&mut tx, vec![draft], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn insert_api_key(&self, id: &str, store_id: &str, secret_hash: &[u8], label: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::ApiKeyRow> {
                let (id, store_id, secret_hash, label, audit) = (id.to_owned(), store_id.to_owned(), secret_hash.to_vec(), label.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: $crate::db::ApiKeyRow = sqlx::query_as(
                        "INSERT INTO api_keys (id, store_id, secret_hash, label, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *",
                    )
                    .bind(id)
                    .bind(store_id)
                    .bind(secret_hash)
                    .bind(label)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    write_events(&mut tx, vec![$crate::events::api_key($crate::events::Kind::ApiKeyCreated, &row)], &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn api_key(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::ApiKeyRow>> {
                Ok(sqlx::query_as("SELECT * FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn api_keys(&self, store_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::ApiKeyRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM api_keys WHERE store_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
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

            async fn revoke_api_key(&self, id: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::ApiKeyRow>> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::ApiKeyRow> =
                        sqlx::query_as("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *")
                            .bind(id)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(key) = &row {
                        write_events(&mut tx, vec![$crate::events::api_key($crate::events::Kind::ApiKeyRevoked, key)], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn insert_operator_key(&self, id: &str, secret_hash: &[u8], label: &str, now: i64) -> $crate::db::DbResult<()> {
                let (id, secret_hash, label) = (id.to_owned(), secret_hash.to_vec(), label.to_owned());
                self.on_writer(move |pool| async move {
                    sqlx::query("INSERT INTO operator_keys (id, secret_hash, label, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(id)
                        .bind(secret_hash)
                        .bind(label)
                        .bind(now)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn operator_key(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::OperatorKeyRow>> {
                Ok(sqlx::query_as("SELECT * FROM operator_keys WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn operator_keys(&self) -> $crate::db::DbResult<Vec<$crate::db::OperatorKeyRow>> {
                Ok(sqlx::query_as("SELECT * FROM operator_keys ORDER BY created_at, id").fetch_all(&self.read).await?)
            }

            async fn revoke_operator_key(&self, id: &str, now: i64) -> $crate::db::DbResult<Option<$crate::db::OperatorKeyRow>> {
                let id = id.to_owned();
                self.on_writer(move |pool| async move {
                    Ok(sqlx::query_as("UPDATE operator_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *")
                        .bind(id)
                        .bind(now)
                        .fetch_optional(&pool)
                        .await?)
                })
                .await
            }

            async fn signing_keys(&self) -> $crate::db::DbResult<Vec<$crate::db::SigningKeyRow>> {
                Ok(sqlx::query_as("SELECT * FROM signing_keys ORDER BY created_at DESC, kid").fetch_all(&self.read).await?)
            }

            async fn insert_first_signing_key(&self, row: &$crate::db::SigningKeyRow) -> $crate::db::DbResult<bool> {
                let row = row.clone();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    sqlx::query($lock_signing_keys).execute(&mut *tx).await?;
                    let inserted = sqlx::query(
                        "INSERT INTO signing_keys (kid, public_jwk, private_key, created_at) \
                         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
                    )
                    .bind(row.kid)
                    .bind(row.public_jwk)
                    .bind(row.private_key)
                    .bind(row.created_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    Ok(inserted == 1)
                })
                .await
            }

            async fn insert_signing_key(&self, row: &$crate::db::SigningKeyRow) -> $crate::db::DbResult<()> {
                let row = row.clone();
                self.on_writer(move |pool| async move {
                    sqlx::query("INSERT INTO signing_keys (kid, public_jwk, private_key, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(row.kid)
                        .bind(row.public_jwk)
                        .bind(row.private_key)
                        .bind(row.created_at)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn insert_title(&self, t: &$crate::db::NewTitle, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::TitleRow> {
                let (id, key_id, content_key, t, audit) = (t.id.clone(), t.key_id.clone(), t.content_key.clone(), t.fields.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: $crate::db::TitleRow = sqlx::query_as(
                        "INSERT INTO titles (id, store_id, name, author, language, price, currency, checkout_url, cover_url, key_id, content_key, created_at, updated_at, stripe_payment_link, description) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14) RETURNING *",
                    )
                    .bind(id)
                    .bind(t.store_id)
                    .bind(t.name)
                    .bind(t.author)
                    .bind(t.language)
                    .bind(t.price)
                    .bind(t.currency)
                    .bind(t.checkout_url)
                    .bind(t.cover_url)
                    .bind(key_id)
                    .bind(content_key)
                    .bind(now)
                    .bind(t.stripe_payment_link)
                    .bind(t.description)
                    .fetch_one(&mut *tx)
                    .await?;
                    write_events(&mut tx, vec![$crate::events::title($crate::events::Kind::TitleCreated, &audit.base, &row, &[])], &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn titles(&self, store_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::TitleRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM titles WHERE store_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
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

            async fn delete_title(&self, id: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::TitleDeletion> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    // No grant may slip in between the count and the delete.
                    let exists = sqlx::query($lock_title).bind(&id).fetch_optional(&mut *tx).await?;
                    if exists.is_none() {
                        return Ok($crate::db::TitleDeletion::Missing);
                    }
                    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entitlements WHERE title_id = $1")
                        .bind(&id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if held > 0 {
                        tx.rollback().await?;
                        return Ok($crate::db::TitleDeletion::Held { entitlements: held });
                    }
                    let title: $crate::db::TitleRow = sqlx::query_as("SELECT * FROM titles WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
                    let tracks = tracks_in(&mut tx, &id).await?;
                    let mut files: Vec<String> = tracks.iter().map(|t| t.file.clone()).collect();
                    files.extend(title.cover_file.clone());
                    write_events(&mut tx, vec![$crate::events::title($crate::events::Kind::TitleDeleted, &audit.base, &title, &tracks)], &audit, now).await?;
                    for statement in [
                        "DELETE FROM positions WHERE title_id = $1",
                        "DELETE FROM bookmarks WHERE title_id = $1",
                        "UPDATE payments SET title_id = NULL WHERE title_id = $1",
                        "DELETE FROM tracks WHERE title_id = $1",
                        "DELETE FROM titles WHERE id = $1",
                    ] {
                        sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok($crate::db::TitleDeletion::Deleted { files })
                })
                .await
            }

            async fn delete_track(&self, title_id: &str, position: i64, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::TrackRow>> {
                let (title_id, audit) = (title_id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    sqlx::query($lock_title).bind(&title_id).execute(&mut *tx).await?;
                    let removed: Option<$crate::db::TrackRow> =
                        sqlx::query_as("DELETE FROM tracks WHERE title_id = $1 AND position = $2 RETURNING *")
                            .bind(&title_id)
                            .bind(position)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(track) = &removed {
                        let store_id: String = sqlx::query_scalar("SELECT store_id FROM titles WHERE id = $1").bind(&title_id).fetch_one(&mut *tx).await?;
                        write_events(&mut tx, vec![$crate::events::track($crate::events::Kind::TrackDeleted, &audit.base, &store_id, track)], &audit, now).await?;
                        // The tracks after it move up by one. Positions are a key, checked row by
                        // row, so they pass through negative values rather than collide.
                        sqlx::query("UPDATE tracks SET position = -position WHERE title_id = $1 AND position > $2")
                            .bind(&title_id)
                            .bind(position)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE tracks SET position = -position - 1 WHERE title_id = $1 AND position < 0")
                            .bind(&title_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE titles SET updated_at = $2 WHERE id = $1").bind(&title_id).bind(now).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(removed)
                })
                .await
            }

            async fn title(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::TitleRow>> {
                Ok(sqlx::query_as("SELECT * FROM titles WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn append_track(&self, title_id: &str, t: &$crate::db::NewTrack, job: Option<&$crate::db::NewJob>, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<$crate::db::TrackRow> {
                let (title_id, t, job, audit) = (title_id.to_owned(), t.clone(), job.cloned(), audit.clone());
                let feed_item = t.feed_item.clone();
                let queued = job.is_some();
                let row = self.on_writer(move |pool| async move {
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    // Two uploads to one title must not pick the same position.
                    sqlx::query($lock_title).bind(&title_id).execute(&mut *tx).await?;
                    let row: $crate::db::TrackRow = sqlx::query_as(
                        "INSERT INTO tracks (title_id, position, name, media_type, duration, original_length, sealed_length, file, sha256, chapters, created_at, status, job_id, transcripts) \
                         SELECT $1, COALESCE(MAX(position) + 1, 0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM tracks WHERE title_id = $1 \
                         RETURNING *",
                    )
                    .bind(&title_id)
                    .bind(t.name)
                    .bind(t.media_type)
                    .bind(t.duration)
                    .bind(t.original_length)
                    .bind(t.sealed_length)
                    .bind(t.file)
                    .bind(t.sha256)
                    .bind(t.chapters)
                    .bind(now)
                    .bind(t.status)
                    .bind(t.job_id)
                    .bind(t.transcripts)
                    .fetch_one(&mut *tx)
                    .await?;
                    let store_id = touch_title(&mut tx, &title_id, t.cover.as_ref(), now).await?;
                    let kind = if row.is_published() { $crate::events::Kind::TrackPublished } else { $crate::events::Kind::TrackAdded };
                    write_events(&mut tx, vec![$crate::events::track(kind, &audit.base, &store_id, &row)], &audit, now).await?;
                    if let Some((feed_id, guid)) = &feed_item {
                        sqlx::query(
                            "UPDATE feed_items SET status = 'processing', title_id = $3, track_file = $4, error = NULL, updated_at = $5 \
                             WHERE feed_id = $1 AND guid = $2",
                        )
                        .bind(feed_id)
                        .bind(guid)
                        .bind(&title_id)
                        .bind(&row.file)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(job) = &job {
                        insert_job(&mut tx, job, now_ms).await?;
                        signal_jobs(&mut tx).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await?;
                if queued {
                    self.jobs.bump();
                }
                Ok(row)
            }

            async fn publish_track(&self, title_id: &str, file: &str, p: &$crate::db::PackagedTrack, lease: &$crate::db::Lease, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<$crate::db::Fenced<Option<$crate::db::TrackRow>>> {
                let (title_id, file, p, lease, audit) = (title_id.to_owned(), file.to_owned(), p.clone(), lease.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::TrackRow> = sqlx::query_as(
                        "UPDATE tracks SET status = 'published', error = NULL, file = $3, name = COALESCE($4, name), media_type = $5, duration = $6, \
                         original_length = $7, sealed_length = $8, sha256 = $9, chapters = $10 \
                         WHERE title_id = $1 AND file = $2 AND status = 'processing' RETURNING *",
                    )
                    .bind(&title_id)
                    .bind(&file)
                    .bind(p.file)
                    .bind(p.name)
                    .bind(p.media_type)
                    .bind(p.duration)
                    .bind(p.original_length)
                    .bind(p.sealed_length)
                    .bind(p.sha256)
                    .bind(p.chapters)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let result = row.as_ref().map(|t| serde_json::json!({"title": title_id, "position": t.position, "warnings": p.warnings}).to_string());
                    if !complete_job_in(&mut tx, &lease, result.as_deref(), now_ms).await? {
                        return Ok($crate::db::Fenced::Lost);
                    }
                    if let Some(track) = &row {
                        let store_id = touch_title(&mut tx, &title_id, p.cover.as_ref(), now).await?;
                        let mut drafts = vec![$crate::events::track($crate::events::Kind::TrackPublished, &audit.base, &store_id, track)];
                        // A feed item's track: the item is published, and its title on sale
                        // again if the item had left the feed and come back.
                        let item: Option<$crate::db::FeedItemRow> = sqlx::query_as(
                            "UPDATE feed_items SET status = 'published', track_file = $2, error = NULL, updated_at = $3 \
                             WHERE track_file = $1 AND status = 'processing' RETURNING *",
                        )
                        .bind(&file)
                        .bind(&track.file)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(item) = item {
                            sqlx::query("UPDATE titles SET withdrawn_at = NULL WHERE id = $1").bind(&title_id).execute(&mut *tx).await?;
                            order_serial(&mut tx, &title_id, &item.feed_id).await?;
                            drafts.push($crate::events::feed_item($crate::events::Kind::FeedItemPublished, &store_id, &item.feed_id, &item));
                        }
                        write_events(&mut tx, drafts, &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok($crate::db::Fenced::Done(row))
                })
                .await
            }

            async fn fail_track(&self, title_id: &str, file: &str, error: &str, lease: &$crate::db::Lease, audit: &$crate::events::Audit, now_ms: i64) -> $crate::db::DbResult<$crate::db::Fenced<Option<$crate::db::TrackRow>>> {
                let (title_id, file, error, lease, audit) = (title_id.to_owned(), file.to_owned(), error.to_owned(), lease.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let now = now_ms.div_euclid(1000);
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::TrackRow> = sqlx::query_as(
                        "UPDATE tracks SET status = 'failed', error = $3 WHERE title_id = $1 AND file = $2 AND status = 'processing' RETURNING *",
                    )
                    .bind(&title_id)
                    .bind(&file)
                    .bind(&error)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let result = row.as_ref().map(|t| serde_json::json!({"title": title_id, "position": t.position, "error": error}).to_string());
                    if !complete_job_in(&mut tx, &lease, result.as_deref(), now_ms).await? {
                        return Ok($crate::db::Fenced::Lost);
                    }
                    if let Some(track) = &row {
                        let store_id: String = sqlx::query_scalar("SELECT store_id FROM titles WHERE id = $1").bind(&title_id).fetch_one(&mut *tx).await?;
                        let mut drafts = vec![$crate::events::track($crate::events::Kind::TrackFailed, &audit.base, &store_id, track)];
                        let item: Option<$crate::db::FeedItemRow> = sqlx::query_as(
                            "UPDATE feed_items SET status = 'failed', error = $2, updated_at = $3 WHERE track_file = $1 AND status = 'processing' RETURNING *",
                        )
                        .bind(&file)
                        .bind(&error)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(item) = item {
                            drafts.push($crate::events::feed_item($crate::events::Kind::FeedItemFailed, &store_id, &item.feed_id, &item));
                        }
                        write_events(&mut tx, drafts, &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok($crate::db::Fenced::Done(row))
                })
                .await
            }

            async fn tracks(&self, title_id: &str) -> $crate::db::DbResult<Vec<$crate::db::TrackRow>> {
                Ok(sqlx::query_as("SELECT * FROM tracks WHERE title_id = $1 ORDER BY position").bind(title_id).fetch_all(&self.read).await?)
            }

            async fn update_title(&self, id: &str, t: &$crate::db::TitleFields, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::TitleRow>> {
                let (id, t, audit) = (id.to_owned(), t.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::TitleRow> = sqlx::query_as(
                        "UPDATE titles SET name = COALESCE($2, name), author = COALESCE($3, author), language = COALESCE($4, language), \
                         price = COALESCE($5, price), currency = COALESCE($6, currency), checkout_url = COALESCE($7, checkout_url), \
                         cover_url = COALESCE($8, cover_url), stripe_payment_link = COALESCE($9, stripe_payment_link), updated_at = $10, \
                         description = COALESCE($11, description) WHERE id = $1 RETURNING *",
                    )
                    .bind(&id)
                    .bind((!t.name.is_empty()).then_some(t.name))
                    .bind(t.author)
                    .bind(t.language)
                    .bind(t.price)
                    .bind(t.currency)
                    .bind(t.checkout_url)
                    .bind(t.cover_url)
                    .bind(t.stripe_payment_link)
                    .bind(now)
                    .bind(t.description)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(title) = &row {
                        let tracks = tracks_in(&mut tx, &id).await?;
                        write_events(&mut tx, vec![$crate::events::title($crate::events::Kind::TitleUpdated, &audit.base, title, &tracks)], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn set_title_on_sale(&self, id: &str, on_sale: bool, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::TitleRow>> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::TitleRow> = sqlx::query_as(
                        "UPDATE titles SET withdrawn_at = CASE WHEN $2 THEN NULL ELSE COALESCE(withdrawn_at, $3) END, updated_at = $3 \
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(&id)
                    .bind(on_sale)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(title) = &row {
                        let tracks = tracks_in(&mut tx, &id).await?;
                        write_events(&mut tx, vec![$crate::events::title($crate::events::Kind::TitleUpdated, &audit.base, title, &tracks)], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn title_by_payment_link(&self, store_id: &str, link: &str) -> $crate::db::DbResult<Option<$crate::db::TitleRow>> {
                Ok(sqlx::query_as("SELECT * FROM titles WHERE store_id = $1 AND stripe_payment_link = $2")
                    .bind(store_id)
                    .bind(link)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn upsert_customer(&self, new_id: &str, store_id: &str, external_id: &str, now: i64) -> $crate::db::DbResult<$crate::db::CustomerRow> {
                if let Some(existing) = self.customer(store_id, external_id).await? {
                    return Ok(existing);
                }
                let (new_id, store_id, external_id) = (new_id.to_owned(), store_id.to_owned(), external_id.to_owned());
                self.on_writer(move |pool| async move {
                    // A concurrent first sight of the same customer: the conflict keeps one row
                    // and the no-op update makes RETURNING give it back.
                    Ok(sqlx::query_as(
                        "INSERT INTO customers (id, store_id, external_id, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (store_id, external_id) DO UPDATE SET external_id = excluded.external_id RETURNING *",
                    )
                    .bind(new_id)
                    .bind(store_id)
                    .bind(external_id)
                    .bind(now)
                    .fetch_one(&pool)
                    .await?)
                })
                .await
            }

            async fn customer(&self, store_id: &str, external_id: &str) -> $crate::db::DbResult<Option<$crate::db::CustomerRow>> {
                Ok(sqlx::query_as("SELECT * FROM customers WHERE store_id = $1 AND external_id = $2")
                    .bind(store_id)
                    .bind(external_id)
                    .fetch_optional(&self.read)
                    .await?)
            }


            async fn grant(&self, new_id: &str, g: &$crate::db::NewEntitlement, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<($crate::db::EntitlementRow, bool)> {
                let (new_id, g, audit) = (new_id.to_owned(), g.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let inserted: Option<$crate::db::EntitlementRow> = sqlx::query_as(
                        "INSERT INTO entitlements (id, store_id, customer_id, customer_ref, title_id, kind, starts_at, ends_at, source, reference, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (store_id, reference) DO NOTHING RETURNING *",
                    )
                    .bind(new_id)
                    .bind(&g.store_id)
                    .bind(&g.customer_id)
                    .bind(&g.customer_ref)
                    .bind(&g.title_id)
                    .bind(&g.kind)
                    .bind(g.starts_at)
                    .bind(g.ends_at)
                    .bind(&g.source)
                    .bind(&g.reference)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = inserted {
                        write_events(&mut tx, vec![$crate::events::entitlement($crate::events::Kind::EntitlementGranted, &row)], &audit, now).await?;
                        tx.commit().await?;
                        return Ok((row, true));
                    }
                    let existing = sqlx::query_as("SELECT * FROM entitlements WHERE store_id = $1 AND reference = $2")
                        .bind(&g.store_id)
                        .bind(&g.reference)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok((existing, false))
                })
                .await
            }

            async fn entitlement(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::EntitlementRow>> {
                Ok(sqlx::query_as("SELECT * FROM entitlements WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn entitlements(&self, store_id: &str, customer_id: Option<&str>, title_id: Option<&str>, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::EntitlementRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM entitlements WHERE store_id = $1 AND ($2 IS NULL OR customer_id = $2) AND ($3 IS NULL OR title_id = $3) \
                     AND ($4 IS NULL OR (created_at, id) < ($4, $5)) ORDER BY created_at DESC, id DESC LIMIT $6",
                )
                .bind(store_id)
                .bind(customer_id)
                .bind(title_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn rental_ended(&self, customer_id: &str, title_id: &str, now: i64) -> $crate::db::DbResult<bool> {
                let ended = sqlx::query(
                    "SELECT 1 FROM entitlements WHERE customer_id = $1 AND title_id = $2 AND revoked_at IS NULL \
                     AND ends_at IS NOT NULL AND ends_at <= $3 LIMIT 1",
                )
                .bind(customer_id)
                .bind(title_id)
                .bind(now)
                .fetch_optional(&self.read)
                .await?;
                Ok(ended.is_some())
            }

            async fn revoke_entitlement(&self, id: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::EntitlementRow>> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::EntitlementRow> =
                        sqlx::query_as($crate::db::portable::REVOKE_ENTITLEMENT_RETURNING).bind(&id).bind(now).fetch_optional(&mut *tx).await?;
                    let licenses: Vec<$crate::db::LicenseRow> =
                        sqlx::query_as($crate::db::portable::REVOKE_ENTITLEMENT_LICENSES_RETURNING).bind(&id).bind(now).fetch_all(&mut *tx).await?;
                    let mut drafts: Vec<_> = row.iter().map(|e| $crate::events::entitlement($crate::events::Kind::EntitlementRevoked, e)).collect();
                    drafts.extend(licenses.iter().map(|l| $crate::events::license($crate::events::Kind::LicenseRevoked, l, now)));
                    write_events(&mut tx, drafts, &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn usable_entitlement(&self, customer_id: &str, title_id: &str, now: i64) -> $crate::db::DbResult<Option<$crate::db::EntitlementRow>> {
                self.read_usable_entitlement(customer_id, title_id, now).await
            }

            async fn register_device(&self, new_id: &str, d: &$crate::db::NewDevice, limit: i64, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::Registration> {
                let (new_id, d, audit) = (new_id.to_owned(), d.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    // Serialises registrations of one customer: the count below cannot go stale.
                    sqlx::query($lock_customer).bind(&d.customer_id).execute(&mut *tx).await?;
                    let existing: Option<$crate::db::DeviceRow> =
                        sqlx::query_as("SELECT * FROM devices WHERE customer_id = $1 AND jkt = $2 AND revoked_at IS NULL")
                            .bind(&d.customer_id)
                            .bind(&d.jkt)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(device) = existing {
                        tx.commit().await?;
                        return Ok($crate::db::Registration::Registered(device));
                    }
                    let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE customer_id = $1 AND revoked_at IS NULL")
                        .bind(&d.customer_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if active >= limit {
                        tx.rollback().await?;
                        return Ok($crate::db::Registration::LimitReached { limit });
                    }
                    let device: $crate::db::DeviceRow = sqlx::query_as(
                        "INSERT INTO devices (id, store_id, customer_id, jkt, public_jwk, name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                    )
                    .bind(new_id)
                    .bind(d.store_id)
                    .bind(&d.customer_id)
                    .bind(d.jkt)
                    .bind(d.public_jwk)
                    .bind(d.name)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    write_events(&mut tx, vec![$crate::events::device($crate::events::Kind::DeviceRegistered, &device, &d.customer_ref)], &audit, now).await?;
                    tx.commit().await?;
                    Ok($crate::db::Registration::Registered(device))
                })
                .await
            }

            async fn devices(&self, customer_id: &str, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::DeviceRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM devices WHERE customer_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
                     ORDER BY created_at, id LIMIT $4",
                )
                .bind(customer_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn active_device(&self, customer_id: &str, jkt: &str) -> $crate::db::DbResult<Option<$crate::db::DeviceRow>> {
                self.read_active_device(customer_id, jkt).await
            }

            async fn device_and_entitlement(&self, customer_id: &str, jkt: &str, title_id: &str, now: i64) -> $crate::db::DbResult<(Option<$crate::db::DeviceRow>, Option<$crate::db::EntitlementRow>)> {
                self.read_device_and_entitlement(customer_id, jkt, title_id, now).await
            }

            async fn last_customer_removal(&self, customer_id: &str) -> $crate::db::DbResult<Option<i64>> {
                Ok(sqlx::query_scalar("SELECT MAX(revoked_at) FROM devices WHERE customer_id = $1 AND revoked_by = 'customer'")
                    .bind(customer_id)
                    .fetch_one(&self.read)
                    .await?)
            }

            async fn active_devices(&self, customer_id: &str) -> $crate::db::DbResult<Vec<$crate::db::DeviceRow>> {
                Ok(sqlx::query_as("SELECT * FROM devices WHERE customer_id = $1 AND revoked_at IS NULL ORDER BY created_at, id")
                    .bind(customer_id)
                    .fetch_all(&self.read)
                    .await?)
            }

            async fn rename_device(&self, customer_id: &str, customer_ref: &str, jkt: &str, name: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::DeviceRow>> {
                let (customer_id, customer_ref, jkt, name, audit) = (customer_id.to_owned(), customer_ref.to_owned(), jkt.to_owned(), name.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::DeviceRow> = sqlx::query_as(
                        "UPDATE devices SET name = $3 WHERE customer_id = $1 AND jkt = $2 AND revoked_at IS NULL RETURNING *",
                    )
                    .bind(customer_id)
                    .bind(jkt)
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(device) = &row {
                        write_events(&mut tx, vec![$crate::events::device($crate::events::Kind::DeviceRenamed, device, &customer_ref)], &audit, now).await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn customer_entitlements(&self, customer_id: &str) -> $crate::db::DbResult<Vec<$crate::db::EntitlementRow>> {
                Ok(sqlx::query_as("SELECT * FROM entitlements WHERE customer_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id")
                    .bind(customer_id)
                    .fetch_all(&self.read)
                    .await?)
            }

            async fn revoke_device(&self, by: $crate::db::Remover, customer_id: &str, customer_ref: &str, jkt: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::Removal> {
                let (customer_id, customer_ref, jkt, audit) = (customer_id.to_owned(), customer_ref.to_owned(), jkt.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    if let $crate::db::Remover::Customer { wait_seconds } = by && wait_seconds > 0 {
                        // Serialises one customer's removals: two at once cannot both pass.
                        sqlx::query($lock_customer).bind(&customer_id).execute(&mut *tx).await?;
                        let last: Option<i64> = sqlx::query_scalar(
                            "SELECT MAX(revoked_at) FROM devices WHERE customer_id = $1 AND revoked_by = 'customer'",
                        )
                        .bind(&customer_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        if let Some(next_at) = last.map(|at| at.saturating_add(wait_seconds)).filter(|next| *next > now) {
                            tx.rollback().await?;
                            return Ok($crate::db::Removal::TooSoon { next_at });
                        }
                    }
                    let row: Option<$crate::db::DeviceRow> = sqlx::query_as(
                        "UPDATE devices SET revoked_at = $3, revoked_by = $4 WHERE customer_id = $1 AND jkt = $2 AND revoked_at IS NULL RETURNING *",
                    )
                    .bind(&customer_id)
                    .bind(jkt)
                    .bind(now)
                    .bind(by.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(device) = row else {
                        tx.rollback().await?;
                        return Ok($crate::db::Removal::NotFound);
                    };
                    let licenses: Vec<$crate::db::LicenseRow> = sqlx::query_as(
                        "UPDATE licenses SET status = 'revoked', status_updated_at = $2 WHERE device_id = $1 AND status = 'active' RETURNING *",
                    )
                    .bind(&device.id)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut drafts = vec![$crate::events::device($crate::events::Kind::DeviceRevoked, &device, &customer_ref)];
                    drafts.extend(licenses.iter().map(|l| $crate::events::license($crate::events::Kind::LicenseRevoked, l, now)));
                    write_events(&mut tx, drafts, &audit, now).await?;
                    tx.commit().await?;
                    Ok($crate::db::Removal::Removed(device))
                })
                .await
            }

            async fn issue_license(&self, new_id: &str, g: &$crate::db::LicenseGrant, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<$crate::db::LicenseRow> {
                // The license as written for a new one (a re-issue keeps the stored id and last
                // status change).
                let fresh = $crate::db::LicenseRow {
                    id: new_id.to_owned(),
                    store_id: g.store_id.clone(),
                    customer_id: g.customer_id.clone(),
                    customer_ref: g.customer_ref.clone(),
                    title_id: g.title_id.clone(),
                    device_id: g.device_id.clone(),
                    device_jkt: g.device_jkt.clone(),
                    entitlement_id: g.entitlement_id.clone(),
                    status: "active".into(),
                    not_before: g.not_before,
                    expires_at: g.expires_at,
                    renew_by: g.renew_by,
                    issued_at: now,
                    status_updated_at: now,
                    created_at: now,
                };
                // Issuance is the hottest write, and its event must cost it little (measured in
                // docs/benchmarks.md). The event's data is made here in Rust for a new license,
                // but a re-issue keeps the license's id and last status change, so the backend
                // joins those two in from the row written, as text around the rest, which costs
                // the database no JSON parsing (`license_issued_middle`; tested in
                // tests/api/events.rs). `None` (see its documentation): the general way below.
                if let Some(middle) = $crate::events::license_issued_middle(&fresh, now) {
                    return self.issue_with_event(fresh, $crate::events::new_id(), middle, audit.actor.clone(), now).await;
                }
                let audit = audit.clone();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: $crate::db::LicenseRow = bind_new_license!(sqlx::query_as($crate::db::portable::UPSERT_LICENSE), fresh, now)
                        .fetch_one(&mut *tx)
                        .await?;
                    write_events(&mut tx, vec![$crate::events::license($crate::events::Kind::LicenseIssued, &row, now)], &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn license(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::LicenseRow>> {
                Ok(sqlx::query_as("SELECT * FROM licenses WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn licenses(&self, store_id: &str, customer_id: Option<&str>, title_id: Option<&str>, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::LicenseRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM licenses WHERE store_id = $1 AND ($2 IS NULL OR customer_id = $2) AND ($3 IS NULL OR title_id = $3) \
                     AND ($4 IS NULL OR (created_at, id) < ($4, $5)) ORDER BY created_at DESC, id DESC LIMIT $6",
                )
                .bind(store_id)
                .bind(customer_id)
                .bind(title_id)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn end_license(&self, id: &str, status: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::LicenseRow>> {
                let (id, status, audit) = (id.to_owned(), status.to_owned(), audit.clone());
                let kind = if status == "returned" { $crate::events::Kind::LicenseReturned } else { $crate::events::Kind::LicenseRevoked };
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::LicenseRow> =
                        sqlx::query_as("UPDATE licenses SET status = $2, status_updated_at = $3 WHERE id = $1 AND status = 'active' RETURNING *")
                            .bind(id)
                            .bind(status)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                    write_events(&mut tx, row.iter().map(|l| $crate::events::license(kind, l, now)).collect(), &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn save_position(&self, store_id: &str, customer_id: &str, title_id: &str, seconds: f64, changed_at: i64, now: i64) -> $crate::db::DbResult<$crate::db::PositionRow> {
                let (store_id, customer_id, title_id) = (store_id.to_owned(), customer_id.to_owned(), title_id.to_owned());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    // The later change wins (see `crate::db::bookmarks`): a device syncing what it
                    // recorded offline does not move back a position another device moved since.
                    sqlx::query(
                        "INSERT INTO positions (customer_id, title_id, store_id, seconds, updated_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (customer_id, title_id) DO UPDATE SET seconds = excluded.seconds, updated_at = excluded.updated_at, \
                           changed_at = excluded.changed_at \
                         WHERE positions.changed_at IS NULL OR excluded.changed_at >= positions.changed_at",
                    )
                    .bind(&customer_id)
                    .bind(&title_id)
                    .bind(&store_id)
                    .bind(seconds)
                    .bind(now)
                    .bind(changed_at)
                    .execute(&mut *tx)
                    .await?;
                    let row = sqlx::query_as("SELECT * FROM positions WHERE customer_id = $1 AND title_id = $2")
                        .bind(&customer_id)
                        .bind(&title_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    // The console's listeners per day: one row per customer and the day they listened.
                    sqlx::query("INSERT INTO listening_days (store_id, day, customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(store_id)
                        .bind(changed_at.div_euclid(1000).div_euclid($crate::db::charts::DAY))
                        .bind(customer_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn position(&self, customer_id: &str, title_id: &str) -> $crate::db::DbResult<Option<$crate::db::PositionRow>> {
                Ok(sqlx::query_as("SELECT * FROM positions WHERE customer_id = $1 AND title_id = $2")
                    .bind(customer_id)
                    .bind(title_id)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn record_payment(&self, new_id: &str, p: &$crate::db::NewPayment, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<($crate::db::PaymentRow, bool)> {
                let (new_id, p, audit) = (new_id.to_owned(), p.clone(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let inserted: Option<$crate::db::PaymentRow> = sqlx::query_as(
                        "INSERT INTO payments (id, store_id, provider, reference, payment_intent, title_id, customer_ref, email, amount, currency, status, reason, entitlement_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                         ON CONFLICT (store_id, provider, reference) DO NOTHING RETURNING *",
                    )
                    .bind(new_id)
                    .bind(&p.store_id)
                    .bind(&p.provider)
                    .bind(&p.reference)
                    .bind(&p.payment_intent)
                    .bind(&p.title_id)
                    .bind(&p.customer_ref)
                    .bind(&p.email)
                    .bind(p.amount)
                    .bind(&p.currency)
                    .bind(&p.status)
                    .bind(&p.reason)
                    .bind(&p.entitlement_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = inserted {
                        let kind = if row.status == "granted" { $crate::events::Kind::PaymentReceived } else { $crate::events::Kind::PaymentUnmatched };
                        write_events(&mut tx, vec![$crate::events::payment(kind, &row)], &audit, now).await?;
                        tx.commit().await?;
                        return Ok((row, true));
                    }
                    let existing = sqlx::query_as("SELECT * FROM payments WHERE store_id = $1 AND provider = $2 AND reference = $3")
                        .bind(&p.store_id)
                        .bind(&p.provider)
                        .bind(&p.reference)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok((existing, false))
                })
                .await
            }

            async fn payment(&self, id: &str) -> $crate::db::DbResult<Option<$crate::db::PaymentRow>> {
                Ok(sqlx::query_as("SELECT * FROM payments WHERE id = $1").bind(id).fetch_optional(&self.read).await?)
            }

            async fn payment_by_intent(&self, store_id: &str, intent: &str) -> $crate::db::DbResult<Option<$crate::db::PaymentRow>> {
                Ok(sqlx::query_as("SELECT * FROM payments WHERE store_id = $1 AND payment_intent = $2")
                    .bind(store_id)
                    .bind(intent)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn payments(&self, store_id: &str, status: Option<&str>, page: &$crate::db::PageQuery) -> $crate::db::DbResult<$crate::db::Page<$crate::db::PaymentRow>> {
                let (at, id) = page.after_key();
                let rows = sqlx::query_as(
                    "SELECT * FROM payments WHERE store_id = $1 AND ($2 IS NULL OR status = $2) \
                     AND ($3 IS NULL OR (created_at, id) < ($3, $4)) ORDER BY created_at DESC, id DESC LIMIT $5",
                )
                .bind(store_id)
                .bind(status)
                .bind(at)
                .bind(id)
                .bind(page.fetch())
                .fetch_all(&self.read)
                .await?;
                Ok($crate::db::Page::from_rows(rows, page.limit))
            }

            async fn assign_payment(&self, id: &str, customer_ref: &str, title_id: &str, entitlement_id: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::PaymentRow>> {
                let (id, customer_ref, title_id, entitlement_id, audit) = (id.to_owned(), customer_ref.to_owned(), title_id.to_owned(), entitlement_id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::PaymentRow> = sqlx::query_as(
                        "UPDATE payments SET status = 'granted', reason = NULL, customer_ref = $2, title_id = $3, entitlement_id = $4, updated_at = $5 \
                         WHERE id = $1 AND status = 'unmatched' RETURNING *",
                    )
                    .bind(id)
                    .bind(customer_ref)
                    .bind(title_id)
                    .bind(entitlement_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    write_events(&mut tx, row.iter().map(|p| $crate::events::payment($crate::events::Kind::PaymentAssigned, p)).collect(), &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn refund_payment(&self, id: &str, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::PaymentRow>> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::PaymentRow> = sqlx::query_as(
                        "UPDATE payments SET status = 'refunded', updated_at = $2 WHERE id = $1 AND status <> 'refunded' RETURNING *",
                    )
                    .bind(&id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let mut drafts: Vec<_> = row.iter().map(|p| $crate::events::payment($crate::events::Kind::PaymentRefunded, p)).collect();
                    if let Some(entitlement) = row.as_ref().and_then(|p| p.entitlement_id.clone()) {
                        let revoked: Option<$crate::db::EntitlementRow> =
                            sqlx::query_as($crate::db::portable::REVOKE_ENTITLEMENT_RETURNING).bind(&entitlement).bind(now).fetch_optional(&mut *tx).await?;
                        let licenses: Vec<$crate::db::LicenseRow> =
                            sqlx::query_as($crate::db::portable::REVOKE_ENTITLEMENT_LICENSES_RETURNING).bind(&entitlement).bind(now).fetch_all(&mut *tx).await?;
                        drafts.extend(revoked.iter().map(|e| $crate::events::entitlement($crate::events::Kind::EntitlementRevoked, e)));
                        drafts.extend(licenses.iter().map(|l| $crate::events::license($crate::events::Kind::LicenseRevoked, l, now)));
                    }
                    write_events(&mut tx, drafts, &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

            async fn renew_license(&self, id: &str, renew_by: i64, audit: &$crate::events::Audit, now: i64) -> $crate::db::DbResult<Option<$crate::db::LicenseRow>> {
                let (id, audit) = (id.to_owned(), audit.clone());
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let row: Option<$crate::db::LicenseRow> =
                        sqlx::query_as("UPDATE licenses SET renew_by = $2, issued_at = $3 WHERE id = $1 AND status = 'active' RETURNING *")
                            .bind(id)
                            .bind(renew_by)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                    write_events(&mut tx, row.iter().map(|l| $crate::events::license($crate::events::Kind::LicenseRenewed, l, now)).collect(), &audit, now).await?;
                    tx.commit().await?;
                    Ok(row)
                })
                .await
            }

        }
    };
}
