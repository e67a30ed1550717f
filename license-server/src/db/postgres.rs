//! The PostgreSQL backend, for when one box is not enough: many server replicas share one
//! database. Row locks (`FOR UPDATE`) serialise the transactions that must not interleave.

use std::future::Future;
use std::time::Duration;

use std::str::FromStr as _;

use sqlx::Connection as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{DbError, DbResult};

/// Repository over a PostgreSQL database.
pub struct PostgresRepository {
    read: PgPool,
    write: PgPool,
}

impl PostgresRepository {
    /// Connects to `url` (`postgres://…`) and migrates the database. Requests wait at most
    /// `timeout` for a connection.
    pub async fn connect(url: &str, timeout: Duration) -> DbResult<Self> {
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
        Ok(PostgresRepository { read: pool.clone(), write: pool })
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
}

portable_repository!(
    PostgresRepository,
    backend = "postgres",
    lock_customer = "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE",
    lock_title = "SELECT 1 FROM titles WHERE id = $1 FOR UPDATE",
);
