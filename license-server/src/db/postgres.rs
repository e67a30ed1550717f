//! The PostgreSQL backend, for when one box is not enough: many server replicas share one
//! database. Row locks (`FOR UPDATE`) serialise the transactions that must not interleave.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::DbResult;

/// Repository over a PostgreSQL database.
pub struct PostgresRepository {
    read: PgPool,
    write: PgPool,
}

impl PostgresRepository {
    /// Connects to `url` (`postgres://…`) and migrates the database.
    pub async fn connect(url: &str) -> DbResult<Self> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
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
