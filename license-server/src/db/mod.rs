//! Persistence: one [`Repository`] trait, implemented for SQLite ([`sqlite`]) and PostgreSQL
//! ([`postgres`]).
//!
//! Both implementations share their SQL (see [`portable`]): the schema keeps to types and
//! syntax the two agree on (`$n` placeholders, `ON CONFLICT`, `RETURNING`, partial unique
//! indexes, times as 64-bit seconds). What differs lives in each backend's module: connecting,
//! its own migrations, and how a transaction locks a row (`FOR UPDATE` on PostgreSQL; on
//! SQLite every write goes through a single connection, so write transactions never overlap).
//!
//! Invariants that must hold under concurrency, such as the device limit, are enforced inside
//! one transaction that first locks the customer's row.

use async_trait::async_trait;

pub mod models;
#[macro_use]
mod portable;
pub mod postgres;
pub mod sqlite;

pub use models::*;

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The driver reported an error.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed to apply.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The thread that runs writes is gone (the server is shutting down).
    #[error("database writer: {0}")]
    Writer(String),
}

/// What a database failure means for the request that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A concurrent write got there first (a unique key, a serialization failure): retrying
    /// may succeed.
    Conflict,
    /// The database is down, unreachable, out of connections, read-only or out of space: not
    /// the client's fault, and not a bug either. The text says which, for the client.
    Unavailable(&'static str),
    /// A value holds a character the database cannot store (PostgreSQL and NUL). The edge
    /// refuses these first; this is the backstop.
    Unstorable,
    /// Anything else: a bug, or a failure nobody can act on. Logged, answered 500.
    Other,
}

impl DbError {
    /// Whether this is a unique-constraint violation (a conflicting concurrent write).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// What this failure means (see [`Failure`]).
    pub fn failure(&self) -> Failure {
        const DOWN: Failure = Failure::Unavailable("the database is not answering");
        match self {
            DbError::Writer(_) => Failure::Unavailable("the database writer has stopped"),
            DbError::Migrate(_) => Failure::Other,
            DbError::Sqlx(e) => match e {
                sqlx::Error::PoolTimedOut => Failure::Unavailable("the database did not answer in time"),
                sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => DOWN,
                sqlx::Error::Database(db) if db.is_unique_violation() => Failure::Conflict,
                sqlx::Error::Database(db) => {
                    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                        postgres_failure(pg.code())
                    } else if let Some(code) = db.code() {
                        sqlite_failure(code.parse().unwrap_or(0))
                    } else {
                        Failure::Other
                    }
                }
                _ => Failure::Other,
            },
        }
    }
}

/// A PostgreSQL SQLSTATE, by class (appendix A of its manual).
fn postgres_failure(sqlstate: &str) -> Failure {
    match sqlstate {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => Failure::Conflict,
        // character_not_in_repertoire, untranslatable_character
        "22021" | "22P05" => Failure::Unstorable,
        // admin_shutdown, crash_shutdown, cannot_connect_now
        "57P01" | "57P02" | "57P03" => Failure::Unavailable("the database is shutting down or starting"),
        "25006" => Failure::Unavailable("the database is read-only"),
        // disk_full
        "53100" => Failure::Unavailable("the database's disk is full"),
        // connection exceptions; insufficient resources (out of memory, too many connections)
        s if s.starts_with("08") || s.starts_with("53") => Failure::Unavailable("the database is not answering"),
        _ => Failure::Other,
    }
}

/// A SQLite result code (extended codes keep the primary code in their low byte).
fn sqlite_failure(code: i64) -> Failure {
    match code & 0xff {
        // SQLITE_BUSY, SQLITE_LOCKED
        5 | 6 => Failure::Unavailable("the database is busy"),
        // SQLITE_READONLY
        8 => Failure::Unavailable("the database is read-only"),
        // SQLITE_IOERR, SQLITE_CANTOPEN
        10 | 14 => Failure::Unavailable("the database file cannot be read or written"),
        // SQLITE_FULL
        13 => Failure::Unavailable("the database's disk is full"),
        _ => Failure::Other,
    }
}

/// Result of a repository call.
pub type DbResult<T> = Result<T, DbError>;

/// Everything the server stores. Times are seconds since the epoch; ids are generated by the
/// caller so that a retry can be idempotent.
#[async_trait]
pub trait Repository: Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;
    /// Checks the database answers.
    async fn ping(&self) -> DbResult<()>;

    /// Creates a store.
    async fn create_store(&self, id: &str, name: &str, device_limit: i64, now: i64) -> DbResult<Store>;
    /// A store by id.
    async fn store(&self, id: &str) -> DbResult<Option<Store>>;
    /// Changes a store's settings; `None` if there is no such store.
    async fn update_store(&self, id: &str, patch: &StorePatch) -> DbResult<Option<Store>>;

    /// Records an API key (its secret only as a hash).
    async fn insert_api_key(&self, id: &str, store_id: &str, secret_hash: &[u8], label: &str, now: i64)
    -> DbResult<()>;
    /// An API key by its public id.
    async fn api_key(&self, id: &str) -> DbResult<Option<ApiKeyRow>>;

    /// All signing keys, newest first.
    async fn signing_keys(&self) -> DbResult<Vec<SigningKeyRow>>;
    /// Adds a signing key.
    async fn insert_signing_key(&self, row: &SigningKeyRow) -> DbResult<()>;

    /// Creates a title.
    async fn insert_title(&self, title: &NewTitle, now: i64) -> DbResult<TitleRow>;
    /// A store's titles, oldest first.
    async fn titles(&self, store_id: &str) -> DbResult<Vec<TitleRow>>;
    /// A title by id, whatever its store (callers check ownership).
    async fn title(&self, id: &str) -> DbResult<Option<TitleRow>>;
    /// Appends a track to a title's reading order.
    async fn append_track(&self, title_id: &str, track: &NewTrack, now: i64) -> DbResult<TrackRow>;
    /// A title's tracks in reading order.
    async fn tracks(&self, title_id: &str) -> DbResult<Vec<TrackRow>>;
    /// Changes a title's fields (`None` fields keep their value; store and key never change).
    async fn update_title(&self, id: &str, fields: &TitleFields, now: i64) -> DbResult<Option<TitleRow>>;
    /// The store's title sold by this Stripe Payment Link.
    async fn title_by_payment_link(&self, store_id: &str, link: &str) -> DbResult<Option<TitleRow>>;

    /// The customer with this external id, created if new (with id `new_id`).
    async fn upsert_customer(&self, new_id: &str, store_id: &str, external_id: &str, now: i64)
    -> DbResult<CustomerRow>;
    /// A customer by the store's id for it.
    async fn customer(&self, store_id: &str, external_id: &str) -> DbResult<Option<CustomerRow>>;

    /// Grants an entitlement. With a `reference` already used in this store, returns the
    /// existing entitlement instead and `false`.
    async fn grant(&self, new_id: &str, grant: &NewEntitlement, now: i64) -> DbResult<(EntitlementRow, bool)>;
    /// An entitlement by id.
    async fn entitlement(&self, id: &str) -> DbResult<Option<EntitlementRow>>;
    /// A store's entitlements, optionally of one customer and one title, newest first.
    async fn entitlements(
        &self,
        store_id: &str,
        customer_id: Option<&str>,
        title_id: Option<&str>,
    ) -> DbResult<Vec<EntitlementRow>>;
    /// Revokes an entitlement and the active licenses issued under it.
    async fn revoke_entitlement(&self, id: &str, now: i64) -> DbResult<Option<EntitlementRow>>;
    /// The entitlement that lets `customer` have `title` at `now`, or at a later start:
    /// not revoked and not ended; a purchase is preferred, then the rental ending last.
    async fn usable_entitlement(&self, customer_id: &str, title_id: &str, now: i64)
    -> DbResult<Option<EntitlementRow>>;

    /// Registers a device, keeping the customer's active devices within `limit` even under
    /// concurrent registrations. The same key again returns the existing device.
    async fn register_device(&self, new_id: &str, device: &NewDevice, limit: i64, now: i64) -> DbResult<Registration>;
    /// A customer's devices, active and revoked, oldest first.
    async fn devices(&self, customer_id: &str) -> DbResult<Vec<DeviceRow>>;
    /// A customer's active device with this thumbprint.
    async fn active_device(&self, customer_id: &str, jkt: &str) -> DbResult<Option<DeviceRow>>;
    /// Revokes a device and its active licenses.
    async fn revoke_device(&self, customer_id: &str, jkt: &str, now: i64) -> DbResult<Option<DeviceRow>>;

    /// Issues a license, or re-issues the active one of this device and title.
    async fn issue_license(&self, new_id: &str, grant: &LicenseGrant, now: i64) -> DbResult<LicenseRow>;
    /// A license by id.
    async fn license(&self, id: &str) -> DbResult<Option<LicenseRow>>;
    /// A store's licenses, optionally filtered, newest first.
    async fn licenses(
        &self,
        store_id: &str,
        customer_id: Option<&str>,
        title_id: Option<&str>,
    ) -> DbResult<Vec<LicenseRow>>;
    /// Moves an active license to `status` (`returned` or `revoked`). `None` if it was not active.
    async fn end_license(&self, id: &str, status: &str, now: i64) -> DbResult<Option<LicenseRow>>;
    /// Extends an active license's offline window. `None` if it was not active.
    async fn renew_license(&self, id: &str, renew_by: i64, now: i64) -> DbResult<Option<LicenseRow>>;

    /// Saves a customer's position in a title.
    async fn save_position(
        &self,
        store_id: &str,
        customer_id: &str,
        title_id: &str,
        seconds: f64,
        now: i64,
    ) -> DbResult<PositionRow>;
    /// A customer's position in a title.
    async fn position(&self, customer_id: &str, title_id: &str) -> DbResult<Option<PositionRow>>;
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`) and migrates it.
pub async fn open(url: &str) -> DbResult<std::sync::Arc<dyn Repository>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PostgresRepository::connect(url).await?))
    } else {
        Ok(std::sync::Arc::new(sqlite::SqliteRepository::connect(url).await?))
    }
}
