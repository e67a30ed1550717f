//! Rows read through rusqlite (see [`super::direct`]), by column name as sqlx's `FromRow`
//! reads them, so a column added to a table cannot shift the others.

use rusqlite::Row;

use crate::db::{DeviceRow, EntitlementRow, LicenseRow};

/// A row type read from `SELECT *` or `RETURNING *`.
pub(super) trait FromSqlite: Sized {
    /// The row's columns, by name.
    fn from_sqlite(row: &Row<'_>) -> rusqlite::Result<Self>;
}

impl FromSqlite for DeviceRow {
    fn from_sqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(DeviceRow {
            id: row.get("id")?,
            store_id: row.get("store_id")?,
            customer_id: row.get("customer_id")?,
            jkt: row.get("jkt")?,
            public_jwk: row.get("public_jwk")?,
            name: row.get("name")?,
            created_at: row.get("created_at")?,
            revoked_at: row.get("revoked_at")?,
            revoked_by: row.get("revoked_by")?,
        })
    }
}

impl FromSqlite for EntitlementRow {
    fn from_sqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(EntitlementRow {
            id: row.get("id")?,
            store_id: row.get("store_id")?,
            customer_id: row.get("customer_id")?,
            customer_ref: row.get("customer_ref")?,
            title_id: row.get("title_id")?,
            kind: row.get("kind")?,
            starts_at: row.get("starts_at")?,
            ends_at: row.get("ends_at")?,
            source: row.get("source")?,
            reference: row.get("reference")?,
            created_at: row.get("created_at")?,
            revoked_at: row.get("revoked_at")?,
        })
    }
}

impl FromSqlite for LicenseRow {
    fn from_sqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(LicenseRow {
            id: row.get("id")?,
            store_id: row.get("store_id")?,
            customer_id: row.get("customer_id")?,
            customer_ref: row.get("customer_ref")?,
            title_id: row.get("title_id")?,
            device_id: row.get("device_id")?,
            device_jkt: row.get("device_jkt")?,
            entitlement_id: row.get("entitlement_id")?,
            status: row.get("status")?,
            not_before: row.get("not_before")?,
            expires_at: row.get("expires_at")?,
            renew_by: row.get("renew_by")?,
            issued_at: row.get("issued_at")?,
            status_updated_at: row.get("status_updated_at")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// `sql` with PostgreSQL's `$n` placeholders (which sqlx also takes for SQLite) turned into
/// SQLite's `?n`, which bind by number in rusqlite as `$n` do in sqlx: one statement text
/// in [`crate::db::portable`] serves both drivers. The shared statements hold no `$` but
/// their placeholders.
pub(super) fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}
