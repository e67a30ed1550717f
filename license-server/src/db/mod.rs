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

#[macro_use]
pub mod bookmarks;
pub mod changes;
#[macro_use]
pub mod charts;
#[macro_use]
pub mod console;
#[macro_use]
pub mod event_log;
#[macro_use]
pub mod feeds;
mod group_commit;
pub mod models;
pub mod page;
#[macro_use]
mod portable;
#[macro_use]
pub mod queue;
#[macro_use]
pub mod webhooks;
pub mod postgres;
pub mod sqlite;

pub use bookmarks::{BookmarkRow, Bookmarks, SavedBookmark};
pub use changes::Changes;
pub use charts::Charts;
pub use console::{ConsoleAccounts, ConsoleSessionRow, ConsoleUserRow};
pub use event_log::{EventLog, EventPosition};
pub use feeds::{FeedHubs, FeedItemRow, FeedItems, FeedPatch, FeedRow, FeedStore, HubChange, NewFeed};
pub use models::*;
pub use page::{Cursor, Page, PageQuery};
pub use queue::{Done, Fenced, JobQueue, JobRow, JobWaker, KindStats, Lease, NewJob, QueueStats, Retry, new_job_id};
pub use webhooks::{
    AttemptRecord, AttemptRow, DeliveryContext, DeliveryJobs, DeliveryRow, EndpointPatch, EndpointRow, NewEndpoint,
    Verdict, WebhookStore,
};

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The driver reported an error.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// SQLite reported an error on the hot path (see [`sqlite`]), which bypasses sqlx.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrations failed to apply.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The thread that runs writes is gone (the server is shutting down).
    #[error("database writer: {0}")]
    Writer(String),
    /// The database URL is unusable.
    #[error("{0}")]
    Config(String),
    /// The database could not be reached when opening it.
    #[error("cannot connect to {target}: {cause}")]
    Connect {
        /// What was being reached: the host, port and database, never the password.
        target: String,
        /// Why not.
        cause: sqlx::Error,
    },
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
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) => e.is_unique_violation(),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => UNIQUE.contains(&e.extended_code),
            _ => false,
        }
    }

    /// What this failure means (see [`Failure`]).
    pub fn failure(&self) -> Failure {
        const DOWN: Failure = Failure::Unavailable("the database is not answering");
        match self {
            DbError::Writer(_) => Failure::Unavailable("the database writer has stopped"),
            DbError::Migrate(_) | DbError::Config(_) => Failure::Other,
            DbError::Connect { .. } => Failure::Unavailable("the database is not answering"),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                if e.code == rusqlite::ErrorCode::ConstraintViolation && UNIQUE.contains(&e.extended_code) {
                    Failure::Conflict
                } else {
                    sqlite_failure(i64::from(e.extended_code))
                }
            }
            DbError::Sqlite(_) => Failure::Other,
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

/// SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE.
const UNIQUE: [std::ffi::c_int; 2] = [1555, 2067];

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

/// One connection pool's use at a moment.
#[derive(Debug, Clone, Copy)]
pub struct PoolUse {
    /// `read` or `write`.
    pub name: &'static str,
    /// Connections open.
    pub size: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

impl PoolUse {
    /// The use of `pool`, named `name`.
    pub fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> Self {
        PoolUse {
            name,
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
}

/// Result of a repository call.
pub type DbResult<T> = Result<T, DbError>;

/// Everything the server stores. Times are seconds since the epoch; ids are generated by the
/// caller so that a retry can be idempotent. The event log, the queue and webhooks have
/// traits of their own, which every repository also implements.
#[async_trait]
pub trait Repository:
    Bookmarks
    + Changes
    + Charts
    + ConsoleAccounts
    + EventLog
    + FeedStore
    + FeedItems
    + FeedHubs
    + JobQueue
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;
    /// Checks the database answers.
    async fn ping(&self) -> DbResult<()>;
    /// How this process's connection pools are used, for metrics.
    fn pools(&self) -> Vec<PoolUse>;
    /// Checks the database takes writes: rewrites the one row of `health_checks`.
    async fn check_writes(&self, now: i64) -> DbResult<()>;

    /// Creates a store.
    async fn create_store(&self, id: &str, name: &str, device_limit: i64, now: i64) -> DbResult<Store>;
    /// A store by id.
    async fn store(&self, id: &str) -> DbResult<Option<Store>>;
    /// All stores, oldest first.
    async fn stores(&self, page: &PageQuery) -> DbResult<Page<Store>>;
    /// Changes a store's settings; `None` if there is no such store.
    async fn update_store(
        &self,
        id: &str,
        patch: &StorePatch,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<Store>>;

    /// Records an API key (its secret only as a hash), with its `api_key.created` event.
    async fn insert_api_key(
        &self,
        id: &str,
        store_id: &str,
        secret_hash: &[u8],
        label: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<ApiKeyRow>;
    /// An API key by its public id.
    async fn api_key(&self, id: &str) -> DbResult<Option<ApiKeyRow>>;
    /// A store's API keys, oldest first.
    async fn api_keys(&self, store_id: &str, page: &PageQuery) -> DbResult<Page<ApiKeyRow>>;
    /// Revokes an API key, with its `api_key.revoked` event; `None` if there is no such key or
    /// it was already revoked.
    async fn revoke_api_key(&self, id: &str, audit: &crate::events::Audit, now: i64) -> DbResult<Option<ApiKeyRow>>;

    /// Records an operator key (its secret only as a hash).
    async fn insert_operator_key(&self, id: &str, secret_hash: &[u8], label: &str, now: i64) -> DbResult<()>;
    /// An operator key by its public id.
    async fn operator_key(&self, id: &str) -> DbResult<Option<OperatorKeyRow>>;
    /// Every operator key, oldest first.
    async fn operator_keys(&self) -> DbResult<Vec<OperatorKeyRow>>;
    /// Revokes an operator key; `None` if there is no such key or it was already revoked.
    async fn revoke_operator_key(&self, id: &str, now: i64) -> DbResult<Option<OperatorKeyRow>>;

    /// All signing keys, newest first.
    async fn signing_keys(&self) -> DbResult<Vec<SigningKeyRow>>;
    /// Adds a signing key.
    async fn insert_signing_key(&self, row: &SigningKeyRow) -> DbResult<()>;
    /// Stores the first signing key, unless there is one already (another process starting on
    /// the same new database got there first); whether it was stored. Processes starting
    /// together thus agree on one key.
    async fn insert_first_signing_key(&self, row: &SigningKeyRow) -> DbResult<bool>;

    /// Creates a title.
    async fn insert_title(&self, title: &NewTitle, audit: &crate::events::Audit, now: i64) -> DbResult<TitleRow>;
    /// A store's titles, oldest first.
    async fn titles(&self, store_id: &str, page: &PageQuery) -> DbResult<Page<TitleRow>>;
    /// Deletes a title nobody has an entitlement to, with its tracks; returns the sealed files
    /// to remove. A title someone holds is kept, and the count of its entitlements returned.
    async fn delete_title(&self, id: &str, audit: &crate::events::Audit, now: i64) -> DbResult<TitleDeletion>;
    /// Removes a track from its title's reading order (the tracks after it move up); returns
    /// it, so its sealed file can be removed.
    async fn delete_track(
        &self,
        title_id: &str,
        position: i64,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<TrackRow>>;
    /// A title by id, whatever its store (callers check ownership).
    async fn title(&self, id: &str) -> DbResult<Option<TitleRow>>;
    /// Appends a track to a title's reading order: `processing`, with the `job` that will
    /// package it, inserted in the same transaction (`track.added`); or `published` already
    /// (`track.published`). `now_ms` in milliseconds.
    async fn append_track(
        &self,
        title_id: &str,
        track: &NewTrack,
        job: Option<&NewJob>,
        audit: &crate::events::Audit,
        now_ms: i64,
    ) -> DbResult<TrackRow>;
    /// Publishes the processing track whose file is `file` with what packaging found, and
    /// completes the packaging job, in one transaction fenced by its `lease`. `Done(None)` if
    /// the track is no longer processing (it was deleted).
    async fn publish_track(
        &self,
        title_id: &str,
        file: &str,
        packaged: &PackagedTrack,
        lease: &Lease,
        audit: &crate::events::Audit,
        now_ms: i64,
    ) -> DbResult<Fenced<Option<TrackRow>>>;
    /// Marks the processing track failed, with why, and completes the packaging job, fenced
    /// like [`publish_track`](Self::publish_track).
    async fn fail_track(
        &self,
        title_id: &str,
        file: &str,
        error: &str,
        lease: &Lease,
        audit: &crate::events::Audit,
        now_ms: i64,
    ) -> DbResult<Fenced<Option<TrackRow>>>;
    /// A title's tracks in reading order.
    async fn tracks(&self, title_id: &str) -> DbResult<Vec<TrackRow>>;
    /// Changes a title's fields (`None` fields keep their value; store and key never change).
    async fn update_title(
        &self,
        id: &str,
        fields: &TitleFields,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<TitleRow>>;
    /// Puts a title on sale, or takes it off (`withdrawn_at`: no new grants but the store's
    /// own; licenses already issued keep working), with its `title.updated` event.
    async fn set_title_on_sale(
        &self,
        id: &str,
        on_sale: bool,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<TitleRow>>;
    /// The store's title sold by this Stripe Payment Link.
    async fn title_by_payment_link(&self, store_id: &str, link: &str) -> DbResult<Option<TitleRow>>;

    /// The customer with this external id, created if new (with id `new_id`).
    async fn upsert_customer(&self, new_id: &str, store_id: &str, external_id: &str, now: i64)
    -> DbResult<CustomerRow>;
    /// A customer by the store's id for it.
    async fn customer(&self, store_id: &str, external_id: &str) -> DbResult<Option<CustomerRow>>;

    /// Grants an entitlement. With a `reference` already used in this store, returns the
    /// existing entitlement instead and `false`.
    async fn grant(
        &self,
        new_id: &str,
        grant: &NewEntitlement,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<(EntitlementRow, bool)>;
    /// An entitlement by id.
    async fn entitlement(&self, id: &str) -> DbResult<Option<EntitlementRow>>;
    /// A store's entitlements, optionally of one customer and one title, newest first.
    async fn entitlements(
        &self,
        store_id: &str,
        customer_id: Option<&str>,
        title_id: Option<&str>,
        page: &PageQuery,
    ) -> DbResult<Page<EntitlementRow>>;
    /// Whether the customer had a rental of the title that has ended by `now`.
    async fn rental_ended(&self, customer_id: &str, title_id: &str, now: i64) -> DbResult<bool>;
    /// Revokes an entitlement and the active licenses issued under it.
    async fn revoke_entitlement(
        &self,
        id: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<EntitlementRow>>;
    /// The entitlement that lets `customer` have `title` at `now`, or at a later start:
    /// not revoked and not ended; a purchase is preferred, then the rental ending last.
    async fn usable_entitlement(&self, customer_id: &str, title_id: &str, now: i64)
    -> DbResult<Option<EntitlementRow>>;

    /// Registers a device, keeping the customer's active devices within `limit` even under
    /// concurrent registrations. The same key again returns the existing device.
    async fn register_device(
        &self,
        new_id: &str,
        device: &NewDevice,
        limit: i64,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Registration>;
    /// A customer's devices, active and revoked, oldest first.
    async fn devices(&self, customer_id: &str, page: &PageQuery) -> DbResult<Page<DeviceRow>>;
    /// A customer's active device with this thumbprint.
    async fn active_device(&self, customer_id: &str, jkt: &str) -> DbResult<Option<DeviceRow>>;
    /// What issuing a license reads: [`Repository::active_device`] and
    /// [`Repository::usable_entitlement`] together, in one round trip where the database is
    /// across a network.
    async fn device_and_entitlement(
        &self,
        customer_id: &str,
        jkt: &str,
        title_id: &str,
        now: i64,
    ) -> DbResult<(Option<DeviceRow>, Option<EntitlementRow>)>;
    /// When the customer last removed a device themselves, if ever.
    async fn last_customer_removal(&self, customer_id: &str) -> DbResult<Option<i64>>;
    /// A customer's active devices, oldest first.
    async fn active_devices(&self, customer_id: &str) -> DbResult<Vec<DeviceRow>>;
    /// Renames a customer's active device; `None` if it has none with this id.
    async fn rename_device(
        &self,
        customer_id: &str,
        customer_ref: &str,
        jkt: &str,
        name: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<DeviceRow>>;
    /// A customer's entitlements that are not revoked, newest first.
    async fn customer_entitlements(&self, customer_id: &str) -> DbResult<Vec<EntitlementRow>>;
    /// Revokes a device and its active licenses, if `by` may now.
    async fn revoke_device(
        &self,
        by: Remover,
        customer_id: &str,
        customer_ref: &str,
        jkt: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Removal>;

    /// Issues a license, or re-issues the active one of this device and title.
    async fn issue_license(
        &self,
        new_id: &str,
        grant: &LicenseGrant,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<LicenseRow>;
    /// A license by id.
    async fn license(&self, id: &str) -> DbResult<Option<LicenseRow>>;
    /// A store's licenses, optionally filtered, newest first (by first issue).
    async fn licenses(
        &self,
        store_id: &str,
        customer_id: Option<&str>,
        title_id: Option<&str>,
        page: &PageQuery,
    ) -> DbResult<Page<LicenseRow>>;
    /// Moves an active license to `status` (`returned` or `revoked`). `None` if it was not active.
    async fn end_license(
        &self,
        id: &str,
        status: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<LicenseRow>>;
    /// Extends an active license's offline window. `None` if it was not active.
    async fn renew_license(
        &self,
        id: &str,
        renew_by: i64,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<LicenseRow>>;

    /// Saves a customer's position in a title, changed on their device at `changed_at` (ms),
    /// unless a later change is stored; answers the position kept.
    async fn save_position(
        &self,
        store_id: &str,
        customer_id: &str,
        title_id: &str,
        seconds: f64,
        changed_at: i64,
        now: i64,
    ) -> DbResult<PositionRow>;
    /// A customer's position in a title.
    async fn position(&self, customer_id: &str, title_id: &str) -> DbResult<Option<PositionRow>>;

    /// Records a payment, once per provider reference: a second report of the same payment
    /// returns the first record and `false`.
    async fn record_payment(
        &self,
        new_id: &str,
        payment: &NewPayment,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<(PaymentRow, bool)>;
    /// A payment by id.
    async fn payment(&self, id: &str) -> DbResult<Option<PaymentRow>>;
    /// The store's payment with this payment intent.
    async fn payment_by_intent(&self, store_id: &str, intent: &str) -> DbResult<Option<PaymentRow>>;
    /// A store's payments, optionally of one status, newest first.
    async fn payments(&self, store_id: &str, status: Option<&str>, page: &PageQuery) -> DbResult<Page<PaymentRow>>;
    /// Marks an unmatched payment granted, to this customer and title, by this entitlement.
    /// `None` if it is not unmatched (any more).
    async fn assign_payment(
        &self,
        id: &str,
        customer_ref: &str,
        title_id: &str,
        entitlement_id: &str,
        audit: &crate::events::Audit,
        now: i64,
    ) -> DbResult<Option<PaymentRow>>;
    /// Marks a payment refunded and, in the same transaction, revokes what it granted and
    /// the licenses issued under that. `None` if it was already refunded.
    async fn refund_payment(&self, id: &str, audit: &crate::events::Audit, now: i64) -> DbResult<Option<PaymentRow>>;
}

/// What deleting a title did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleDeletion {
    /// Deleted; these sealed files are no longer referenced.
    Deleted {
        /// File names in the asset store.
        files: Vec<String>,
    },
    /// Kept: customers hold it.
    Held {
        /// How many entitlements name it.
        entitlements: i64,
    },
    /// There was no such title.
    Missing,
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`: a file.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// The backend of `url`, or a message naming what is wrong with it.
    pub fn of(url: &str) -> Result<Backend, DbError> {
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(DbError::Config(format!(
                "the database URL must start with postgres:// (or postgresql://) or sqlite:, not {:?}",
                if scheme.is_empty() { "(no scheme)" } else { scheme }
            ))),
        }
    }
}

/// How long a request waits for a database connection before it is answered 503.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the database named by `url` (`sqlite:…` or `postgres://…`) and migrates it. A request
/// waits at most `timeout` for a connection. The queue's writes give way to the requests of
/// `load` (see [`crate::load`]).
pub async fn open(
    url: &str,
    timeout: std::time::Duration,
    load: std::sync::Arc<crate::load::Load>,
) -> DbResult<std::sync::Arc<dyn Repository>> {
    match Backend::of(url)? {
        Backend::Postgres => Ok(std::sync::Arc::new(postgres::PostgresRepository::connect(url, timeout, load).await?)),
        Backend::Sqlite => Ok(std::sync::Arc::new(sqlite::SqliteRepository::connect(url, load).await?)),
    }
}
