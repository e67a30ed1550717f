//! The console's accounts and sessions ([`ConsoleAccounts`]).
//!
//! Sign-in failures are counted on the account, in the database, so that a lock holds across
//! every replica: see [`crate::console::sign_in`] for the schedule.

use async_trait::async_trait;

use super::DbResult;

/// A person who signs in to the console.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsoleUserRow {
    /// `usr_…`.
    pub id: String,
    /// Lower-cased email: the sign-in name.
    pub email: String,
    /// Argon2id, PHC string format.
    pub password_hash: String,
    /// `operator` or `staff`.
    pub role: String,
    /// A staff member's store; `None` for an operator.
    pub store_id: Option<String>,
    /// Failed sign-ins since the last success.
    pub failed_sign_ins: i64,
    /// No sign-in is tried before this time (seconds since the epoch).
    pub locked_until: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Disabled: no sign-in, no session.
    pub disabled_at: Option<i64>,
}

impl ConsoleUserRow {
    /// Whether this is an operator (every store).
    pub fn is_operator(&self) -> bool {
        self.role == "operator"
    }

    /// Whether this person may see and change `store_id`.
    pub fn may_see(&self, store_id: &str) -> bool {
        self.is_operator() || self.store_id.as_deref() == Some(store_id)
    }
}

/// A signed-in session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsoleSessionRow {
    /// SHA-256 of the cookie's secret.
    pub id_hash: Vec<u8>,
    /// Whose.
    pub user_id: String,
    /// The session's anti-forgery token, in every form.
    pub csrf: String,
    /// Signed in.
    pub created_at: i64,
    /// Ends.
    pub expires_at: i64,
}

/// The console's storage.
#[async_trait]
pub trait ConsoleAccounts: Send + Sync {
    /// Adds a person; a taken email is a unique violation ([`super::DbError::is_unique_violation`]).
    async fn create_console_user(&self, row: &ConsoleUserRow) -> DbResult<()>;
    /// A person by (lower-cased) email.
    async fn console_user_by_email(&self, email: &str) -> DbResult<Option<ConsoleUserRow>>;
    /// Everyone, oldest first.
    async fn console_users(&self) -> DbResult<Vec<ConsoleUserRow>>;
    /// Sets a person's password and lifts any lock; `false` if there is no such person.
    async fn set_console_password(&self, email: &str, password_hash: &str) -> DbResult<bool>;
    /// Disables a person and ends their sessions; `false` if there is no such person.
    async fn disable_console_user(&self, email: &str, now: i64) -> DbResult<bool>;
    /// Counts a failed sign-in, locking the account until `locked_until` if given.
    async fn record_sign_in_failure(&self, user_id: &str, locked_until: Option<i64>) -> DbResult<()>;
    /// A successful sign-in: the failures are forgotten and the session stored.
    async fn record_sign_in(&self, session: &ConsoleSessionRow) -> DbResult<()>;
    /// The live session with this id hash, and its person (not disabled).
    async fn console_session(&self, id_hash: &[u8], now: i64) -> DbResult<Option<(ConsoleSessionRow, ConsoleUserRow)>>;
    /// Ends a session, and any that have expired.
    async fn end_console_session(&self, id_hash: &[u8], now: i64) -> DbResult<()>;
}

/// Implements [`ConsoleAccounts`] for a backend.
macro_rules! portable_console {
    ($repo:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::console::ConsoleAccounts for $repo {
            async fn create_console_user(&self, r: &$crate::db::console::ConsoleUserRow) -> $crate::db::DbResult<()> {
                let r = r.clone();
                self.on_writer(move |pool| async move {
                    sqlx::query(
                        "INSERT INTO console_users (id, email, password_hash, role, store_id, failed_sign_ins, locked_until, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 0, NULL, $6)",
                    )
                    .bind(r.id)
                    .bind(r.email)
                    .bind(r.password_hash)
                    .bind(r.role)
                    .bind(r.store_id)
                    .bind(r.created_at)
                    .execute(&pool)
                    .await?;
                    Ok(())
                })
                .await
            }

            async fn console_user_by_email(&self, email: &str) -> $crate::db::DbResult<Option<$crate::db::console::ConsoleUserRow>> {
                Ok(sqlx::query_as("SELECT * FROM console_users WHERE email = $1").bind(email).fetch_optional(&self.read).await?)
            }

            async fn console_users(&self) -> $crate::db::DbResult<Vec<$crate::db::console::ConsoleUserRow>> {
                Ok(sqlx::query_as("SELECT * FROM console_users ORDER BY created_at, email").fetch_all(&self.read).await?)
            }

            async fn set_console_password(&self, email: &str, hash: &str) -> $crate::db::DbResult<bool> {
                let (email, hash) = (email.to_owned(), hash.to_owned());
                self.on_writer(move |pool| async move {
                    let done = sqlx::query(
                        "UPDATE console_users SET password_hash = $2, failed_sign_ins = 0, locked_until = NULL WHERE email = $1",
                    )
                    .bind(email)
                    .bind(hash)
                    .execute(&pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }

            async fn disable_console_user(&self, email: &str, now: i64) -> $crate::db::DbResult<bool> {
                let email = email.to_owned();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    let id: Option<String> =
                        sqlx::query_scalar("UPDATE console_users SET disabled_at = COALESCE(disabled_at, $2) WHERE email = $1 RETURNING id")
                            .bind(email)
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(id) = &id {
                        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(id.is_some())
                })
                .await
            }

            async fn record_sign_in_failure(&self, user_id: &str, locked_until: Option<i64>) -> $crate::db::DbResult<()> {
                let user_id = user_id.to_owned();
                self.on_writer(move |pool| async move {
                    sqlx::query(
                        "UPDATE console_users SET failed_sign_ins = failed_sign_ins + 1, \
                         locked_until = COALESCE($2, locked_until) WHERE id = $1",
                    )
                    .bind(user_id)
                    .bind(locked_until)
                    .execute(&pool)
                    .await?;
                    Ok(())
                })
                .await
            }

            async fn record_sign_in(&self, s: &$crate::db::console::ConsoleSessionRow) -> $crate::db::DbResult<()> {
                let s = s.clone();
                self.on_writer(move |pool| async move {
                    let mut tx = begin_write(&pool).await?;
                    sqlx::query("UPDATE console_users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
                        .bind(&s.user_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1").bind(s.created_at).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(s.id_hash)
                        .bind(s.user_id)
                        .bind(s.csrf)
                        .bind(s.created_at)
                        .bind(s.expires_at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
                .await
            }

            async fn console_session(
                &self,
                id_hash: &[u8],
                now: i64,
            ) -> $crate::db::DbResult<Option<($crate::db::console::ConsoleSessionRow, $crate::db::console::ConsoleUserRow)>> {
                let session: Option<$crate::db::console::ConsoleSessionRow> =
                    sqlx::query_as("SELECT * FROM console_sessions WHERE id_hash = $1 AND expires_at > $2")
                        .bind(id_hash)
                        .bind(now)
                        .fetch_optional(&self.read)
                        .await?;
                let Some(session) = session else { return Ok(None) };
                let user: Option<$crate::db::console::ConsoleUserRow> =
                    sqlx::query_as("SELECT * FROM console_users WHERE id = $1 AND disabled_at IS NULL")
                        .bind(&session.user_id)
                        .fetch_optional(&self.read)
                        .await?;
                Ok(user.map(|u| (session, u)))
            }

            async fn end_console_session(&self, id_hash: &[u8], now: i64) -> $crate::db::DbResult<()> {
                let id_hash = id_hash.to_vec();
                self.on_writer(move |pool| async move {
                    sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1 OR expires_at <= $2")
                        .bind(id_hash)
                        .bind(now)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
                .await
            }
        }
    };
}
