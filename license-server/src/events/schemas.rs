//! The schemas of events' `data`, for the OpenAPI document: one per family of kinds (see
//! [`super::Kind::data_schema`]). They describe what [`super`]'s builders write; a unit test
//! checks each kind names one of them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::feeds::{FeedItemView, FeedView};
use crate::api::views::{DeviceView, EntitlementView, LicenseView, PaymentView, StoreView, TitleView, TrackView};
use crate::api::webhooks::WebhookEndpointView;

/// `title.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TitleEventData {
    /// The title as it is after the change (as it was, for `title.deleted`).
    pub title: TitleView,
}

/// `track.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackEventData {
    /// The title's id.
    pub title: String,
    /// The track.
    pub track: TrackView,
}

/// `entitlement.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementEventData {
    /// The entitlement.
    pub entitlement: EntitlementView,
}

/// `device.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceEventData {
    /// The store's id for the customer.
    pub customer: String,
    /// The device.
    pub device: DeviceView,
}

/// `license.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseEventData {
    /// The license, with its status at the event.
    pub license: LicenseView,
}

/// `payment.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentEventData {
    /// The payment.
    pub payment: PaymentView,
}

/// `api_key.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyEventData {
    /// The key, without its secret.
    pub api_key: ApiKeyEventView,
}

/// An API key as events show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyEventView {
    /// Its public id (the part after `fsk_`, before the secret).
    pub id: String,
    /// Its label.
    pub label: String,
    /// Created, seconds since the epoch.
    pub created_at: i64,
    /// Revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// `store.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreEventData {
    /// The store's settings.
    pub store: StoreView,
}

/// `webhook_endpoint.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointEventData {
    /// The endpoint.
    pub webhook_endpoint: WebhookEndpointView,
}

/// `feed.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEventData {
    /// The feed after the sync.
    pub feed: FeedView,
    /// Items new in the feed, queued for import.
    pub added: u64,
    /// Items whose enclosure changed, queued to be packaged again.
    pub changed: u64,
    /// Items gone from the feed, no longer sold.
    pub removed: u64,
    /// Items that cannot be imported (see each item's `error`).
    pub failed: u64,
}

/// `feed_item.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItemEventData {
    /// The feed's id.
    pub feed: String,
    /// The item, and what became of it.
    pub item: FeedItemView,
}
