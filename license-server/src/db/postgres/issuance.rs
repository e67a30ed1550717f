//! How PostgreSQL writes a batch of licenses ([`group_commit`](crate::db::group_commit)).
//!
//! One statement per batch: the licenses travel as one array per column and `unnest` turns
//! them back into rows, which a data-modifying CTE inserts (or renews) with their
//! `license.issued` events. A batch is then one round trip, one plan and one commit, that is
//! one flush of the write-ahead log, for up to [`MAX_BATCH`](crate::db::group_commit::MAX_BATCH)
//! licenses, where one license alone was all of that.
//!
//! Two constraints shape it:
//!
//! - *One row, one change per statement.* `ON CONFLICT DO UPDATE` refuses to change a row
//!   twice in a statement, so a batch in which a device asks twice for the same title (a
//!   retry racing its first try) is cut before the repeat, into runs without one.
//! - *Replicas side by side.* Each replica writes its own batches. A batch inserts its rows
//!   in the order of the unique key, so two batches that share keys take their row locks in
//!   the same order and wait for each other instead of deadlocking.
//!
//! A run that fails (a device deleted since it was read, say) is written again one license
//! to a statement, so only the failing license fails.

use std::collections::HashSet;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;

use crate::db::group_commit::{BatchWriter, Issue};
use crate::db::{DbError, DbResult, LicenseRow};

/// The batch: `$1` to `$15` are the licenses' columns as arrays (the order of
/// `bind_new_license!`, the time per license, then the event's id, data and actor), `$16` the
/// event's type. The event's data is `{"license":{"id":` ‖ id ‖ `,` ‖ middle ‖
/// status_updated_at ‖ `}}`, as [`crate::events::license_issued_middle`] explains.
const BATCH: &str = concat!(
    "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
       $7::text[], $8::text[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::text[], $15::text[]) \
       WITH ORDINALITY AS i(id, store_id, customer_id, customer_ref, title_id, device_id, device_jkt, entitlement_id, \
       not_before, expires_at, renew_by, now, event_id, middle, actor, n)), \
     l AS (",
    license_columns!(),
    "SELECT id, store_id, customer_id, customer_ref, title_id, device_id, device_jkt, entitlement_id, 'active', \
       not_before, expires_at, renew_by, now, now, now FROM input ORDER BY device_id, title_id",
    license_renewal!(),
    "), e AS (INSERT INTO events (id, store_id, type, data, actor, created_at) \
       SELECT i.event_id, l.store_id, $16, \
         '{\"license\":{\"id\":' || to_json(l.id)::text || ',' || i.middle || l.status_updated_at::text || '}}', \
         i.actor, i.now \
       FROM l JOIN input i ON i.device_id = l.device_id AND i.title_id = l.title_id ORDER BY i.n) \
     SELECT * FROM l"
);

/// One license: the batch's statement for one, its values `$1` to `$12` in
/// `bind_new_license!`'s order, then the event's id, type, middle and actor.
const ONE: &str = concat!(
    "WITH l AS (",
    license_columns!(),
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, $12, $12)",
    license_renewal!(),
    "), e AS (INSERT INTO events (id, store_id, type, data, actor, created_at) \
       SELECT $13, l.store_id, $14, \
         '{\"license\":{\"id\":' || to_json(l.id)::text || ',' || $15 || l.status_updated_at::text || '}}', \
         $16, $12 FROM l) \
     SELECT * FROM l"
);

/// Writes batches through a pool of connections.
pub(super) struct PgBatches {
    pool: PgPool,
}

impl PgBatches {
    pub(super) fn new(pool: PgPool) -> Self {
        PgBatches { pool }
    }
}

impl BatchWriter for PgBatches {
    type Held = PoolConnection<sqlx::Postgres>;

    async fn hold(&self) -> DbResult<Self::Held> {
        Ok(self.pool.acquire().await?)
    }

    async fn write(&self, held: &mut Self::Held, batch: &[Issue]) -> Vec<DbResult<LicenseRow>> {
        let mut answers = Vec::with_capacity(batch.len());
        for run in runs(batch) {
            match write_run(held, run).await {
                Ok(rows) => answers.extend(rows.into_iter().map(Ok)),
                Err(_) => {
                    for issue in run {
                        answers.push(write_one(held, issue).await);
                    }
                }
            }
        }
        answers
    }
}

/// `batch` cut before each license whose device and title an earlier one of the same run
/// has, so that no run changes a row twice.
fn runs(batch: &[Issue]) -> Vec<&[Issue]> {
    let mut runs = Vec::new();
    let mut rest = batch;
    while !rest.is_empty() {
        let mut seen = HashSet::new();
        let end = rest
            .iter()
            .position(|issue| !seen.insert((&issue.license.device_id, &issue.license.title_id)))
            .unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        runs.push(run);
        rest = after;
    }
    runs
}

/// Writes `run` in one statement and answers its rows in the run's order.
async fn write_run(conn: &mut sqlx::PgConnection, run: &[Issue]) -> DbResult<Vec<LicenseRow>> {
    let column = |f: fn(&Issue) -> &str| run.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&Issue) -> i64| run.iter().map(f).collect::<Vec<_>>();
    let rows: Vec<LicenseRow> = sqlx::query_as(BATCH)
        .bind(column(|i| &i.license.id))
        .bind(column(|i| &i.license.store_id))
        .bind(column(|i| &i.license.customer_id))
        .bind(column(|i| &i.license.customer_ref))
        .bind(column(|i| &i.license.title_id))
        .bind(column(|i| &i.license.device_id))
        .bind(column(|i| &i.license.device_jkt))
        .bind(column(|i| &i.license.entitlement_id))
        .bind(number(|i| i.license.not_before))
        .bind(run.iter().map(|i| i.license.expires_at).collect::<Vec<_>>())
        .bind(number(|i| i.license.renew_by))
        .bind(number(|i| i.now))
        .bind(column(|i| &i.event_id))
        .bind(column(|i| &i.middle))
        .bind(column(|i| &i.actor))
        .bind(crate::events::Kind::LicenseIssued.as_str())
        .fetch_all(&mut *conn)
        .await?;
    // The rows come back in no set order; a run's licenses have distinct keys.
    run.iter()
        .map(|issue| {
            let l = &issue.license;
            rows.iter()
                .find(|row| row.device_id == l.device_id && row.title_id == l.title_id)
                .cloned()
                .ok_or_else(|| DbError::Writer("a license of the batch was not written".into()))
        })
        .collect()
}

async fn write_one(conn: &mut sqlx::PgConnection, issue: &Issue) -> DbResult<LicenseRow> {
    Ok(bind_new_license!(sqlx::query_as(ONE), issue.license, issue.now)
        .bind(&issue.event_id)
        .bind(crate::events::Kind::LicenseIssued.as_str())
        .bind(&issue.middle)
        .bind(&issue.actor)
        .fetch_one(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(device: &str, title: &str) -> Issue {
        let license = LicenseRow {
            id: format!("{device}{title}"),
            store_id: "s".into(),
            customer_id: "c".into(),
            customer_ref: "r".into(),
            title_id: title.into(),
            device_id: device.into(),
            device_jkt: "j".into(),
            entitlement_id: "e".into(),
            status: "active".into(),
            not_before: 0,
            expires_at: None,
            renew_by: 0,
            issued_at: 0,
            status_updated_at: 0,
            created_at: 0,
        };
        Issue { license, event_id: String::new(), middle: String::new(), actor: String::new(), now: 0 }
    }

    fn lengths(batch: &[Issue]) -> Vec<usize> {
        runs(batch).iter().map(|run| run.len()).collect()
    }

    #[test]
    fn a_batch_is_cut_before_each_repeat_of_a_device_and_title() {
        let batch = [issue("d1", "t1"), issue("d1", "t2"), issue("d2", "t1"), issue("d1", "t1"), issue("d1", "t1")];
        assert_eq!(lengths(&batch), [3, 1, 1]);
        assert_eq!(lengths(&batch[..3]), [3]);
        assert!(runs(&[]).is_empty());
    }
}
