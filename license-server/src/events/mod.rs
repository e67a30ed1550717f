//! The event log: every change Fount makes, as an event a store's backend can poll with a
//! cursor (`GET /v1/events`) and receive as a signed webhook (see [`crate::webhooks`]).
//!
//! The guarantees (docs/events.md): an event is written in the same transaction as its change
//! (the repository's write methods take an [`Audit`] and write the events themselves); a
//! store's events have one order, their commit order, which a cursor resumes exactly, across
//! restarts and replicas; they are kept for at least [`DEFAULT_RETENTION_DAYS`] days.
//!
//! An event's `data` holds the changed resources as the API shows them (the same JSON as the
//! views of [`crate::api::views`]), under the resource's name: `{"entitlement": {…}}`,
//! `{"license": {…}}`, `{"title": {…}, "track": {…}}`.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::views::{DeviceView, EntitlementView, LicenseView, PaymentView, StoreView, TitleView, TrackView};
use crate::db::{DeviceRow, EndpointRow, EntitlementRow, LicenseRow, PaymentRow, Store, TitleRow, TrackRow};

pub mod kinds;
pub mod schemas;

pub use kinds::Kind;

/// Days events are kept when the operator does not say (`FOUNT_EVENT_RETENTION_DAYS`).
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// Who caused a change, and the server's public URL for the links in its events.
#[derive(Debug, Clone)]
pub struct Audit {
    /// `api_key:<id>`, `customer:<the store's id>`, `stripe`, `demo`, `cli`, `system`.
    pub actor: String,
    /// The public base URL (for the URLs inside resources).
    pub base: String,
}

impl Audit {
    /// A change made by `actor` on the server reached at `base`.
    pub fn new(actor: impl Into<String>, base: impl Into<String>) -> Self {
        Audit { actor: actor.into(), base: base.into() }
    }
}

/// An event to write: its store, kind and data.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The store whose event it is.
    pub store_id: String,
    /// The kind.
    pub kind: Kind,
    /// The data (resources by name).
    pub data: Value,
}

/// An event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Position in the log (database-assigned, increasing in commit order).
    pub seq: i64,
    /// Public id, `evt_…`: the same in the log and in every webhook delivery of it.
    pub id: String,
    /// Store.
    pub store_id: String,
    /// Kind, such as `entitlement.granted`.
    #[sqlx(rename = "type")]
    pub type_: String,
    /// The data, JSON.
    pub data: String,
    /// Who caused it.
    pub actor: String,
    /// When, seconds since the epoch.
    pub created_at: i64,
    /// The writing transaction's id (PostgreSQL; 0 on SQLite): with `seq`, the event's place
    /// in the log (see [`crate::db::event_log`]).
    pub txid: i64,
}

/// An event as the API and webhooks show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Id (`evt_…`). Webhook deliveries carry it as `webhook-id`: deduplicate by it.
    pub id: String,
    /// The kind, such as `entitlement.granted` (see the event schemas).
    #[serde(rename = "type")]
    pub type_: String,
    /// When the change was committed, RFC 3339.
    pub timestamp: String,
    /// The same, seconds since the epoch.
    pub created_at: i64,
    /// Who caused it: `api_key:<id>`, `customer:<the store's id>`, `stripe`, `demo`, `cli`,
    /// `system`.
    pub actor: String,
    /// The changed resources, by name, as the API shows them.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<&EventRow> for EventView {
    fn from(e: &EventRow) -> Self {
        EventView {
            id: e.id.clone(),
            type_: e.type_.clone(),
            timestamp: crate::media::publication::rfc3339(e.created_at),
            created_at: e.created_at,
            actor: e.actor.clone(),
            data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
        }
    }
}

/// A new event id: a UUID version 7, so that ids written one after another sort one after
/// another and the log's unique index on them grows at one end, not at random pages.
pub fn new_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// A `license.issued` event's data around the two members an issue takes from the stored
/// license rather than from the request: its id and its last status change (an issue for a
/// device that already holds an active license of the title renews that license, keeping
/// both). The issuing statement on PostgreSQL joins
/// `{"license":{"id":` ‖ id ‖ `,` ‖ *middle* ‖ status_updated_at ‖ `}}` in the database,
/// which costs no JSON parsing there. `None` only if [`LicenseView`] stopped serialising its
/// id first and its last status change last, which the tests of the issuing path would show.
pub fn license_issued_middle(row: &LicenseRow, now: i64) -> Option<String> {
    let view = LicenseView::new(row.clone(), now);
    let whole = serde_json::to_string(&view).ok()?;
    let head = format!("{{\"id\":{},", serde_json::to_string(&view.id).ok()?);
    let tail = format!("{}}}", view.status_updated_at);
    Some(whole.strip_prefix(&head)?.strip_suffix(&tail)?.to_owned())
}

fn draft(store_id: &str, kind: Kind, data: Value) -> Draft {
    Draft { store_id: store_id.to_owned(), kind, data }
}

/// `entitlement.granted` or `entitlement.revoked`.
pub fn entitlement(kind: Kind, row: &EntitlementRow) -> Draft {
    draft(&row.store_id, kind, json!({"entitlement": EntitlementView::from(row.clone())}))
}

/// `license.*`, with the status at `now`.
pub fn license(kind: Kind, row: &LicenseRow, now: i64) -> Draft {
    draft(&row.store_id, kind, json!({"license": LicenseView::new(row.clone(), now)}))
}

/// `feed.synced` or `feed.failed`, with the items `[added, changed, removed, failed]`.
pub fn feed(kind: Kind, row: &crate::db::FeedRow, counts: [u64; 4]) -> Draft {
    let [added, changed, removed, failed] = counts;
    draft(
        &row.store_id,
        kind,
        json!({"feed": crate::api::feeds::FeedView::from(row), "added": added, "changed": changed, "removed": removed, "failed": failed}),
    )
}

/// `feed_item.*`.
pub fn feed_item(kind: Kind, store_id: &str, feed_id: &str, row: &crate::db::FeedItemRow) -> Draft {
    draft(store_id, kind, json!({"feed": feed_id, "item": crate::api::feeds::FeedItemView::from(row)}))
}

/// `device.registered` or `device.revoked`.
pub fn device(kind: Kind, row: &DeviceRow, customer: &str) -> Draft {
    draft(&row.store_id, kind, json!({"customer": customer, "device": DeviceView::from(row.clone())}))
}

/// `title.created`, `title.updated`, `title.deleted`.
pub fn title(kind: Kind, base: &str, row: &TitleRow, tracks: &[TrackRow]) -> Draft {
    draft(&row.store_id, kind, json!({"title": TitleView::new(base, row, tracks)}))
}

/// `track.added`, `track.published`, `track.failed`, `track.deleted`.
pub fn track(kind: Kind, base: &str, store_id: &str, row: &TrackRow) -> Draft {
    draft(store_id, kind, json!({"title": row.title_id, "track": TrackView::new(base, row)}))
}

/// `payment.*`.
pub fn payment(kind: Kind, row: &PaymentRow) -> Draft {
    draft(&row.store_id, kind, json!({"payment": PaymentView::from(row.clone())}))
}

/// `api_key.created`, `api_key.revoked`.
pub fn api_key(kind: Kind, row: &crate::db::ApiKeyRow) -> Draft {
    let view = schemas::ApiKeyEventView {
        id: row.id.clone(),
        label: row.label.clone(),
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    };
    draft(&row.store_id, kind, json!({"api_key": view}))
}

/// `store.updated`.
pub fn store(kind: Kind, base: &str, row: &Store) -> Draft {
    draft(&row.id, kind, json!({"store": StoreView::new(base, row)}))
}

/// `webhook_endpoint.created`, `webhook_endpoint.disabled`.
pub fn webhook_endpoint(kind: Kind, row: &EndpointRow) -> Draft {
    draft(&row.store_id, kind, json!({"webhook_endpoint": crate::api::webhooks::WebhookEndpointView::from(row)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_license_issued_event_joined_as_text_is_the_event_as_json() {
        let row = LicenseRow {
            id: "lic \"quoted\"".into(),
            store_id: "s".into(),
            customer_id: "c".into(),
            customer_ref: "alice".into(),
            title_id: "t".into(),
            device_id: "d".into(),
            device_jkt: "jkt".into(),
            entitlement_id: "e".into(),
            status: "active".into(),
            not_before: 10,
            expires_at: Some(20),
            renew_by: 15,
            issued_at: 10,
            status_updated_at: 9,
            created_at: 9,
        };
        let middle = license_issued_middle(&row, 10).expect("the view keeps its order");
        // As the issuing statement joins it, with the stored row's id and status change.
        let joined = format!(
            "{{\"license\":{{\"id\":{},{middle}{}}}}}",
            serde_json::to_string(&row.id).unwrap(),
            row.status_updated_at
        );
        let parsed: Value = serde_json::from_str(&joined).expect("JSON");
        assert_eq!(parsed, license(Kind::LicenseIssued, &row, 10).data);
    }
}
