//! The PostgreSQL backend, for when one box is not enough: many server replicas share one
//! database. Row locks (`FOR UPDATE`) serialise the transactions that must not interleave.

use std::future::Future;
use std::time::Duration;

use std::str::FromStr as _;

use sqlx::Connection as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::group_commit::{Issue, Issuer};
use super::{DbError, DbResult};

mod issuance;

/// Repository over a PostgreSQL database.
pub struct PostgresRepository {
    read: PgPool,
    write: PgPool,
    jobs: super::queue::LocalSignal,
    load: std::sync::Arc<crate::load::Load>,
    issuer: Issuer<issuance::PgBatches>,
}

impl PostgresRepository {
    /// Connects to `url` (`postgres://…`) and migrates the database. Requests wait at most
    /// `timeout` for a connection.
    pub async fn connect(url: &str, timeout: Duration, load: std::sync::Arc<crate::load::Load>) -> DbResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|e| DbError::Config(format!("the database URL: {e}")))?;
        let target = format!(
            "PostgreSQL at {}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default database)")
        );
        // One plain connection first: a pool that cannot connect only says it timed out, while
        // the operator needs the cause (refused, unknown host, bad password).
        let first = tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(|cause| DbError::Connect { target: target.clone(), cause })?;
        first.close().await.map_err(|cause| DbError::Connect { target: target.clone(), cause })?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(|cause| DbError::Connect { target, cause })?;
        // Concurrent replicas starting together: sqlx takes an advisory lock while migrating.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let issuer = Issuer::new(issuance::PgBatches::new(pool.clone()));
        Ok(PostgresRepository { read: pool.clone(), write: pool, jobs: Default::default(), load, issuer })
    }

    /// Runs a write here: PostgreSQL has a pool of connections, so no one write holds up
    /// the rest.
    async fn on_writer<T, F, Fut>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = DbResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        f(self.write.clone()).await
    }

    /// Writes a license and its `license.issued` event (see `issue_license`) in the issuer's
    /// next batch ([`group_commit`](super::group_commit), [`issuance`]).
    async fn issue_with_event(
        &self,
        license: super::LicenseRow,
        event_id: String,
        middle: String,
        actor: String,
        now: i64,
    ) -> DbResult<super::LicenseRow> {
        self.issuer.issue(Issue { license, event_id, middle, actor, now }).await
    }

    async fn read_active_device(&self, customer_id: &str, jkt: &str) -> DbResult<Option<super::DeviceRow>> {
        Ok(sqlx::query_as(super::portable::ACTIVE_DEVICE)
            .bind(customer_id)
            .bind(jkt)
            .fetch_optional(&self.read)
            .await?)
    }

    async fn read_usable_entitlement(
        &self,
        customer_id: &str,
        title_id: &str,
        now: i64,
    ) -> DbResult<Option<super::EntitlementRow>> {
        Ok(sqlx::query_as(super::portable::USABLE_ENTITLEMENT)
            .bind(customer_id)
            .bind(title_id)
            .bind(now)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Both reads in one statement: each row as JSON text, decoded by name as `FromRow` would.
    /// One round trip instead of two is one wake-up of a PostgreSQL backend instead of two,
    /// and on two shared cores those wake-ups were the largest cost PostgreSQL added to
    /// issuance (docs/benchmarks.md, "Issuance on PostgreSQL").
    async fn read_device_and_entitlement(
        &self,
        customer_id: &str,
        jkt: &str,
        title_id: &str,
        now: i64,
    ) -> DbResult<(Option<super::DeviceRow>, Option<super::EntitlementRow>)> {
        // The two shared statements as subqueries. The entitlement's binds `$1` to `$3`
        // (customer, title, time), and the device's thumbprint moves from `$2` to `$4`.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let device = super::portable::ACTIVE_DEVICE.replacen("SELECT *", "SELECT to_json(devices)::text", 1);
            let entitlement =
                super::portable::USABLE_ENTITLEMENT.replacen("SELECT *", "SELECT to_json(entitlements)::text", 1);
            format!("SELECT ({}), ({entitlement})", device.replace("$2", "$4"))
        });
        let (device, entitlement): (Option<String>, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(customer_id)
            .bind(title_id)
            .bind(now)
            .bind(jkt)
            .fetch_one(&self.read)
            .await?;
        Ok((row_from_json(device.as_deref())?, row_from_json(entitlement.as_deref())?))
    }

    /// Runs a write of the queue's workers in its turn ([`crate::load::Load::turn`]): the
    /// database's time goes to requests first.
    async fn on_background<T, F, Fut>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = DbResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        let _turn = self.load.turn().await;
        f(self.write.clone()).await
    }
}

portable_repository!(
    PostgresRepository,
    backend = "postgres",
    conn = sqlx::PgConnection,
    lock_customer = "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE",
    lock_title = "SELECT 1 FROM titles WHERE id = $1 FOR UPDATE",
    // Held to the transaction's end: two processes creating the first key take turns.
    lock_signing_keys = "SELECT pg_advisory_xact_lock(7208311419)",
);

/// A row PostgreSQL wrote as JSON (`to_json(row)`), if there was one.
fn row_from_json<T: serde::de::DeserializeOwned>(json: Option<&str>) -> DbResult<Option<T>> {
    json.map(serde_json::from_str).transpose().map_err(|e| DbError::Sqlx(sqlx::Error::Decode(e.into())))
}

/// Begins a write transaction.
async fn begin_write(pool: &PgPool) -> DbResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    Ok(pool.begin().await?)
}

/// The channel idle workers listen on.
const JOBS_CHANNEL: &str = "fount_jobs";

/// Wakes idle workers everywhere when the transaction commits (PostgreSQL delivers a
/// notification at commit, and one per channel per transaction).
async fn signal_jobs(conn: &mut sqlx::PgConnection) -> DbResult<()> {
    sqlx::query("SELECT pg_notify($1, '')").bind(JOBS_CHANNEL).execute(&mut *conn).await?;
    Ok(())
}

/// Waits on `LISTEN fount_jobs`, and on this process's own inserts.
struct PgWaker {
    listener: sqlx::postgres::PgListener,
    local: super::queue::LocalWaker,
}

#[async_trait::async_trait]
impl super::JobWaker for PgWaker {
    async fn wait(&mut self, max: Duration) {
        let listen = async {
            // On a lost connection, recv fails once and reconnects on the next call; the
            // caller polls anyway, so a failure just waits out `max`.
            if self.listener.recv().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = listen => {}
            () = self.local.wait(max) => {}
        }
    }
}

#[async_trait::async_trait]
impl super::Changes for PostgresRepository {
    async fn announce(&self, change: &super::changes::Change) -> DbResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::changes::CHANNEL)
            .bind(change.encode())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn change_feed(&self) -> DbResult<Option<Box<dyn super::changes::ChangeFeed>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.read).await?;
        listener.listen(super::changes::CHANNEL).await?;
        Ok(Some(Box::new(PgChangeFeed { listener })))
    }
}

/// `LISTEN fount_changes`.
struct PgChangeFeed {
    listener: sqlx::postgres::PgListener,
}

#[async_trait::async_trait]
impl super::changes::ChangeFeed for PgChangeFeed {
    async fn next(&mut self) -> super::changes::Heard {
        use super::changes::{Change, Heard};
        loop {
            match self.listener.try_recv().await {
                Ok(Some(n)) => {
                    if let Some(change) = Change::decode(n.payload()) {
                        return Heard::Change(change);
                    }
                }
                // The connection was lost; the next call connects again and listens anew.
                Ok(None) => return Heard::Lost,
                // Connecting again failed (the database is down): wait, and say so again,
                // since nothing is known of what happens meanwhile.
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return Heard::Lost;
                }
            }
        }
    }
}

portable_event_log!(
    PostgresRepository,
    // Only events of transactions older than every running one: their place is final.
    visible = "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    after = "(txid, seq) > ($1, $2)",
    type_in = "type IN (SELECT json_array_elements_text($4::json))",
    lock_cursor = "SELECT txid, position FROM cursors WHERE name = $1 FOR UPDATE SKIP LOCKED",
);

portable_queue!(
    PostgresRepository,
    // Two index scans (waiting jobs in order, then ended leases), each locked as it is read
    // and skipping what other workers hold; the batch is the first of both in the queue's
    // order. One scan with an `OR` of the two would read every waiting job and sort them.
    claim = "WITH waiting AS ( \
               SELECT id, priority, run_at FROM jobs WHERE state = 'queued' AND run_at <= $3 \
               ORDER BY priority DESC, run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED), \
             lapsed AS ( \
               SELECT id, priority, run_at FROM jobs WHERE state = 'running' AND lease_until < $3 \
               AND attempts < max_attempts ORDER BY lease_until LIMIT $4 FOR UPDATE SKIP LOCKED), \
             picked AS ( \
               SELECT id FROM (SELECT * FROM waiting UNION ALL SELECT * FROM lapsed) AS due \
               ORDER BY priority DESC, run_at, id LIMIT $4) \
             UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, worker = $1, lease_until = $2, updated_at = $3 \
             FROM picked WHERE jobs.id = picked.id RETURNING jobs.*",
    fenced = "(id, attempts) IN (SELECT e ->> 0, (e ->> 1)::bigint FROM json_array_elements($1::json) AS e)",
    probes = "INSERT INTO queue_probes (job_id, key, worker, done_at) SELECT e ->> 0, e ->> 1, $2, $3 FROM json_array_elements($1::json) AS e",
    waker = |this| {
        let mut listener = sqlx::postgres::PgListener::connect_with(&this.read).await?;
        listener.listen(JOBS_CHANNEL).await?;
        Ok(Box::new(PgWaker { listener, local: this.jobs.waker() }))
    },
);

portable_webhooks!(
    PostgresRepository,
    conn = sqlx::PgConnection,
    visible = "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    after = "(txid, seq) > ($1, $2)",
    through = "(txid, seq) <= ($3, $4)",
    lock_cursor = "SELECT txid, position FROM cursors WHERE name = $1 FOR UPDATE SKIP LOCKED",
);

portable_feeds!(
    PostgresRepository,
    conn = sqlx::PgConnection,
    // One snapshot for every statement of the transaction.
    snapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
);

portable_console!(PostgresRepository);

portable_charts!(PostgresRepository);

portable_bookmarks!(PostgresRepository);
