//! Request and response bodies of API v1. Requests refuse unknown members, so a typo is a 422
//! rather than a silently ignored field.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{DeviceRow, EntitlementRow, LicenseRow, PaymentRow, TitleRow, TrackRow};
use crate::media::probe::FileChapter;

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page: pass it as `after`. `null` on the last page.
    pub next: Option<String>,
}

/// Which page of a list (every list takes these).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Most items in the page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "super::paging::de_limit")]
    #[param(minimum = 1, maximum = 200, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[serde(default)]
    pub after: Option<String>,
}

/// `POST /v1/titles`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTitle {
    /// The title as shown to customers (1 to 500 characters).
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// Author.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub author: Option<String>,
    /// What the title is about (plain text or simple HTML; line breaks allowed), shown in its
    /// manifest; at most 10,000 characters.
    #[serde(default)]
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// BCP 47 language tag, such as `en` or `pt-BR`.
    #[serde(default)]
    #[schema(max_length = 35, pattern = r"^[A-Za-z][A-Za-z0-9]{0,7}(-[A-Za-z0-9]{1,8})*$", example = "en")]
    pub language: Option<String>,
    /// Price as a decimal string, such as `9.99`, shown by the widget.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,3})?$", example = "9.99")]
    pub price: Option<String>,
    /// ISO 4217 currency code, such as `EUR`.
    #[serde(default)]
    #[schema(pattern = r"^[A-Z]{3}$", example = "EUR")]
    pub currency: Option<String>,
    /// The store's checkout page for this title (http or https).
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r#"^https?://[^/\u0000-\u0020\u007f"<>][^\u0000-\u0020\u007f"<>]*$"#)]
    pub checkout_url: Option<String>,
    /// Cover image URL (http or https).
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r#"^https?://[^/\u0000-\u0020\u007f"<>][^\u0000-\u0020\u007f"<>]*$"#)]
    pub cover_url: Option<String>,
    /// The Stripe Payment Link (`plink_…`) that sells this title: a paid checkout through it
    /// grants the title (see `POST /v1/stores/{store}/webhooks/stripe`).
    #[serde(default)]
    #[schema(pattern = r"^plink_[A-Za-z0-9]{1,100}$")]
    pub stripe_payment_link: Option<String>,
}

/// `PATCH /v1/titles/{title}`: every member optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTitle {
    /// Title.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: Option<String>,
    /// Author.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub author: Option<String>,
    /// What the title is about (plain text or simple HTML; line breaks allowed), shown in its
    /// manifest; at most 10,000 characters.
    #[serde(default)]
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// Language.
    #[serde(default)]
    #[schema(max_length = 35, pattern = r"^[A-Za-z][A-Za-z0-9]{0,7}(-[A-Za-z0-9]{1,8})*$", example = "en")]
    pub language: Option<String>,
    /// Price.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,3})?$", example = "9.99")]
    pub price: Option<String>,
    /// Currency.
    #[serde(default)]
    #[schema(pattern = r"^[A-Z]{3}$", example = "EUR")]
    pub currency: Option<String>,
    /// Checkout page.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r#"^https?://[^/\u0000-\u0020\u007f"<>][^\u0000-\u0020\u007f"<>]*$"#)]
    pub checkout_url: Option<String>,
    /// Cover image.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r#"^https?://[^/\u0000-\u0020\u007f"<>][^\u0000-\u0020\u007f"<>]*$"#)]
    pub cover_url: Option<String>,
    /// Stripe Payment Link id.
    #[serde(default)]
    #[schema(pattern = r"^plink_[A-Za-z0-9]{1,100}$")]
    pub stripe_payment_link: Option<String>,
    /// `false` takes the title off sale (no new grants but those of payments already taken;
    /// licenses already issued keep working); `true` puts it back on sale.
    #[serde(default)]
    pub on_sale: Option<bool>,
}

impl From<CreateTitle> for UpdateTitle {
    fn from(c: CreateTitle) -> Self {
        UpdateTitle {
            title: Some(c.title),
            author: c.author,
            description: c.description,
            language: c.language,
            price: c.price,
            currency: c.currency,
            checkout_url: c.checkout_url,
            cover_url: c.cover_url,
            stripe_payment_link: c.stripe_payment_link,
            on_sale: None,
        }
    }
}

/// A chapter of a track.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterView {
    /// Title.
    pub title: String,
    /// Seconds from the start of the track.
    pub offset: f64,
}

/// A sealed track.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    /// 0-based place in the reading order.
    pub position: i64,
    /// Name.
    pub name: String,
    /// Media type of the audio inside.
    pub media_type: String,
    /// Seconds.
    pub duration: f64,
    /// Bytes of audio.
    pub original_length: i64,
    /// Bytes of the sealed file.
    pub sealed_length: i64,
    /// `processing` (a worker is probing and sealing it), `published` (in the manifest) or
    /// `failed` (`error` says why).
    pub status: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// URL of the sealed file, once published.
    pub url: Option<String>,
    /// SHA-256 of the sealed file, hex (empty until published).
    pub sha256: String,
    /// Chapters read from the file.
    pub chapters: Vec<ChapterView>,
}

impl TrackView {
    /// From a row, with URLs under `base`.
    pub fn new(base: &str, row: &TrackRow) -> Self {
        let chapters: Vec<FileChapter> = serde_json::from_str(&row.chapters).unwrap_or_default();
        TrackView {
            position: row.position,
            name: row.name.clone(),
            media_type: row.media_type.clone(),
            duration: row.duration,
            original_length: row.original_length,
            sealed_length: row.sealed_length,
            status: row.status.clone(),
            error: row.error.clone(),
            url: row.is_published().then(|| format!("{base}/pub/{}/tracks/{}", row.title_id, row.file)),
            sha256: row.sha256.clone(),
            chapters: chapters.into_iter().map(|c| ChapterView { title: c.title, offset: c.offset }).collect(),
        }
    }
}

/// A title.
#[derive(Debug, Serialize, ToSchema)]
pub struct TitleView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: Option<String>,
    /// What the title is about.
    pub description: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Price.
    pub price: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Checkout page.
    pub checkout_url: Option<String>,
    /// The cover image the store set.
    pub cover_url: Option<String>,
    /// The cover shown: the store's (`cover_url`), else the one read from an uploaded file,
    /// served by Fount.
    pub cover: Option<String>,
    /// Stripe Payment Link.
    pub stripe_payment_link: Option<String>,
    /// Content key id (base64url).
    pub key_id: String,
    /// Total seconds of the published tracks.
    pub duration: f64,
    /// Tracks in reading order, with those processing or failed.
    pub tracks: Vec<TrackView>,
    /// URL of the Readium manifest.
    pub manifest_url: String,
    /// Created, seconds since the epoch.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When it was taken off sale (by the store, or because the feed item it came from went
    /// away): no new grants through the API; licenses already issued keep working. Null while
    /// on sale.
    pub withdrawn_at: Option<i64>,
}

impl TitleView {
    /// From rows.
    pub fn new(base: &str, row: &TitleRow, tracks: &[TrackRow]) -> Self {
        TitleView {
            id: row.id.clone(),
            title: row.name.clone(),
            author: row.author.clone(),
            description: row.description.clone(),
            language: row.language.clone(),
            price: row.price.clone(),
            currency: row.currency.clone(),
            checkout_url: row.checkout_url.clone(),
            cover_url: row.cover_url.clone(),
            cover: cover_url(base, row),
            stripe_payment_link: row.stripe_payment_link.clone(),
            key_id: row.key_id.clone(),
            duration: tracks.iter().filter(|t| t.is_published()).map(|t| t.duration).sum(),
            tracks: tracks.iter().map(|t| TrackView::new(base, t)).collect(),
            manifest_url: format!("{base}/pub/{}/manifest.json", row.id),
            created_at: row.created_at,
            updated_at: row.updated_at,
            withdrawn_at: row.withdrawn_at,
        }
    }
}

/// The absolute URL of a title's cover, if it has one.
pub fn cover_url(base: &str, row: &TitleRow) -> Option<String> {
    row.cover().map(|(href, _)| {
        if href.starts_with("http://") || href.starts_with("https://") {
            href
        } else {
            format!("{base}/pub/{}/{href}", row.id)
        }
    })
}

/// Kind of entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntitlementKind {
    /// Owned for good.
    Purchase,
    /// Until `ends_at`.
    Rental,
}

impl EntitlementKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementKind::Purchase => "purchase",
            EntitlementKind::Rental => "rental",
        }
    }
}

/// `POST /v1/entitlements`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The store's id for its customer.
    #[schema(pattern = r"^[!-~]{1,200}$")]
    pub customer: String,
    /// Title id.
    pub title: String,
    /// `purchase` or `rental`.
    pub kind: EntitlementKind,
    /// Start, seconds since the epoch (default: now). A future start lets a customer download
    /// ahead; the license is not valid before it.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 253_402_300_799_i64)]
    pub starts_at: Option<i64>,
    /// End of a rental, seconds since the epoch. Required for rentals, refused for purchases.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 253_402_300_799_i64)]
    pub ends_at: Option<i64>,
    /// An idempotency reference, unique in the store (an order or checkout id). Granting
    /// again with the same reference returns the first entitlement.
    #[serde(default)]
    #[schema(pattern = r"^[!-~]{1,200}$")]
    pub reference: Option<String>,
}

impl Grant {
    /// A purchase from a checkout (a payment provider's, or the demo's), idempotent by
    /// `reference`.
    pub fn purchase(customer: String, title: String, reference: String) -> Self {
        Grant {
            customer,
            title,
            kind: EntitlementKind::Purchase,
            starts_at: None,
            ends_at: None,
            reference: Some(reference),
        }
    }
}

/// An entitlement.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementView {
    /// Id.
    pub id: String,
    /// The store's customer id.
    pub customer: String,
    /// Title id.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// Start.
    pub starts_at: i64,
    /// End (rentals).
    pub ends_at: Option<i64>,
    /// `api`, `stripe` or `demo`.
    pub source: String,
    /// Idempotency reference.
    pub reference: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Revoked.
    pub revoked_at: Option<i64>,
}

impl From<EntitlementRow> for EntitlementView {
    fn from(r: EntitlementRow) -> Self {
        EntitlementView {
            id: r.id,
            customer: r.customer_ref,
            title: r.title_id,
            kind: r.kind,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            source: r.source,
            reference: r.reference,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// `GET /v1/entitlements` and `GET /v1/licenses`: filters and the page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only this customer (the store's id).
    #[serde(default)]
    pub customer: Option<String>,
    /// Only this title.
    #[serde(default)]
    pub title: Option<String>,
    /// Most items in the page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "super::paging::de_limit")]
    #[param(minimum = 1, maximum = 200, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[serde(default)]
    pub after: Option<String>,
}

/// `POST /v1/customers/{customer}/tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Lifetime in seconds, 60 to 86400 (default 3600).
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86_400)]
    pub ttl_seconds: Option<i64>,
}

/// A customer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Bearer token for the customer endpoints.
    pub token: String,
    /// When it expires, seconds since the epoch.
    pub expires_at: i64,
    /// The store's customer id.
    pub customer: String,
}

/// `POST /v1/me/devices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    /// The device's public key as a JWK: EC P-256 or RSA 2048 to 4096 bits.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    /// A name to show the customer, such as "Anna's phone".
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
}

/// A device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// The device id: the RFC 7638 thumbprint of its key.
    pub id: String,
    /// Name.
    pub name: String,
    /// Key type, `EC` or `RSA`.
    pub key_type: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Registered.
    pub created_at: i64,
    /// Revoked.
    pub revoked_at: Option<i64>,
    /// Who revoked it: `customer` (removed from their account) or `store`.
    pub revoked_by: Option<String>,
}

impl From<DeviceRow> for DeviceView {
    fn from(r: DeviceRow) -> Self {
        let key_type = serde_json::from_str::<serde_json::Value>(&r.public_jwk)
            .ok()
            .and_then(|v| v.get("kty").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_default();
        DeviceView {
            id: r.jkt,
            name: r.name,
            key_type,
            status: if r.revoked_at.is_some() { "revoked" } else { "active" }.into(),
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            revoked_by: r.revoked_by,
        }
    }
}

/// `POST /v1/me/licenses`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acquire {
    /// Title id.
    pub title: String,
    /// Device id (thumbprint) of a registered device of this customer.
    pub device: String,
}

/// A license as the store sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    /// Id.
    pub id: String,
    /// The store's customer id.
    pub customer: String,
    /// Title id.
    pub title: String,
    /// Device id.
    pub device: String,
    /// `active`, `returned`, `revoked` or `expired`.
    pub status: String,
    /// `nbf`.
    pub not_before: i64,
    /// `exp`.
    pub expires_at: Option<i64>,
    /// `renew_by`.
    pub renew_by: i64,
    /// Last (re)issue.
    pub issued_at: i64,
    /// Last status change.
    pub status_updated_at: i64,
}

impl LicenseView {
    /// From a row, with the status at `now`.
    pub fn new(r: LicenseRow, now: i64) -> Self {
        LicenseView {
            status: effective_status(&r, now).as_str().into(),
            id: r.id,
            customer: r.customer_ref,
            title: r.title_id,
            device: r.device_jkt,
            not_before: r.not_before,
            expires_at: r.expires_at,
            renew_by: r.renew_by,
            issued_at: r.issued_at,
            status_updated_at: r.status_updated_at,
        }
    }
}

/// The status of a license at `now`: expiry is computed, not stored.
pub fn effective_status(r: &LicenseRow, now: i64) -> fount_sdk::LicenseStatus {
    use fount_sdk::LicenseStatus as S;
    match r.status.as_str() {
        "returned" => S::Returned,
        "revoked" => S::Revoked,
        _ if r.expires_at.is_some_and(|e| e <= now) => S::Expired,
        _ => S::Active,
    }
}

/// A license issued to a device.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedLicense {
    /// Id (`jti`).
    pub id: String,
    /// The license: a compact JWS (see docs/formats.md).
    pub license: String,
    /// Its status document URL.
    pub status_url: String,
    /// `nbf`.
    pub not_before: i64,
    /// `exp`.
    pub expires_at: Option<i64>,
    /// `renew_by`.
    pub renew_by: i64,
}

/// `PATCH /v1/store`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStore {
    /// Display name.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// Devices each customer may register (1 to 100).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub device_limit: Option<i64>,
    /// How long licenses may be used offline before renewal, seconds (1 hour to 1 year).
    #[serde(default)]
    #[schema(minimum = 3600, maximum = 31_622_400)]
    pub offline_seconds: Option<i64>,
    /// Replaces the whole list of web origins allowed to embed the widget, such as
    /// `https://shop.example` (at most 20). To change one origin, use
    /// `add_allowed_origins` / `remove_allowed_origins` instead.
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    /// Origins to allow, besides those already allowed.
    #[serde(default)]
    pub add_allowed_origins: Option<Vec<String>>,
    /// Origins to allow no more.
    #[serde(default)]
    pub remove_allowed_origins: Option<Vec<String>>,
    /// The signing secret of the store's Stripe webhook endpoint (`whsec_…`). Write-only.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^whsec_")]
    pub stripe_webhook_secret: Option<String>,
    /// The least time between two removals of a device by the same customer through the
    /// customer API, seconds (0: none; at most 90 days). The store's own removals never wait.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 7_776_000)]
    pub device_removal_wait_seconds: Option<i64>,
}

/// A store's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Devices per customer.
    pub device_limit: i64,
    /// Offline window, seconds.
    pub offline_seconds: i64,
    /// Web origins allowed to embed the widget.
    pub allowed_origins: Vec<String>,
    /// Whether a Stripe webhook secret is set.
    pub stripe_webhook: bool,
    /// The URL to give Stripe as this store's webhook endpoint.
    pub stripe_webhook_url: String,
    /// A demo store.
    pub demo: bool,
    /// The least time between two removals of a device by the same customer, seconds.
    pub device_removal_wait_seconds: i64,
}

impl StoreView {
    /// From a row.
    pub fn new(base: &str, s: &crate::db::Store) -> Self {
        StoreView {
            id: s.id.clone(),
            name: s.name.clone(),
            device_limit: s.device_limit,
            offline_seconds: s.offline_seconds,
            allowed_origins: s.origins(),
            stripe_webhook: s.stripe_webhook_secret.is_some(),
            stripe_webhook_url: format!("{base}/v1/stores/{}/webhooks/stripe", s.id),
            demo: s.demo,
            device_removal_wait_seconds: s.device_removal_wait_seconds,
        }
    }
}

/// `PUT /v1/me/positions/{title}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePosition {
    /// Seconds on the title's timeline.
    #[schema(minimum = 0.0, maximum = 10_000_000.0)]
    pub seconds: f64,
    /// When the listener's device made this change, milliseconds since the epoch (default:
    /// now). A device that listened offline sends the time it recorded: a change earlier than
    /// the one stored is not applied, and the answer is the position kept. A time past the
    /// server's now counts as now.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub changed_at: Option<i64>,
}

/// A listening position.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    /// Title id.
    pub title: String,
    /// Seconds on the title's timeline; `null` when the customer has saved none.
    pub seconds: Option<f64>,
    /// When it was saved; `null` when never.
    pub updated_at: Option<i64>,
    /// When the device made the change kept, milliseconds since the epoch; `null` when never.
    pub changed_at: Option<i64>,
}

/// `GET /health/live`, `GET /health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Server version.
    pub version: &'static str,
}

/// A payment a provider reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// Id.
    pub id: String,
    /// `stripe`.
    pub provider: String,
    /// The provider's id of the payment (a Stripe checkout session).
    pub reference: String,
    /// What was bought, when known.
    pub title: Option<String>,
    /// Who bought it (the store's id for its user), when known.
    pub customer: Option<String>,
    /// The payer's email as the provider has it: a help to find the customer.
    pub email: Option<String>,
    /// Amount in the currency's smallest unit (cents).
    pub amount: Option<i64>,
    /// Currency, lower case, as the provider sends it.
    pub currency: Option<String>,
    /// `granted`, `unmatched` (paid, but nothing granted yet: assign it) or `refunded`.
    pub status: String,
    /// Why it is unmatched.
    pub reason: Option<String>,
    /// The entitlement it granted.
    pub entitlement: Option<String>,
    /// Received.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl From<PaymentRow> for PaymentView {
    fn from(p: PaymentRow) -> Self {
        PaymentView {
            id: p.id,
            provider: p.provider,
            reference: p.reference,
            title: p.title_id,
            customer: p.customer_ref,
            email: p.email,
            amount: p.amount,
            currency: p.currency,
            status: p.status,
            reason: p.reason,
            entitlement: p.entitlement_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `POST /v1/payments/{payment}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignPayment {
    /// The store's id for the customer who paid.
    #[schema(pattern = r"^[!-~]{1,200}$")]
    pub customer: String,
    /// The title to grant, when the payment names none.
    #[serde(default)]
    pub title: Option<String>,
}

/// A title in a customer's library (`GET /v1/me/titles`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryItem {
    /// Title id.
    pub title: String,
    /// The title's name.
    pub name: String,
    /// Author.
    pub author: Option<String>,
    /// The cover shown for the title, if it has one.
    pub cover: Option<String>,
    /// URL of the title's Readium manifest.
    pub manifest_url: String,
    /// `owned`, `rented`, `upcoming` or `ended`.
    #[schema(example = "owned")]
    pub access: &'static str,
    /// When the access starts (or started).
    pub starts_at: i64,
    /// When a rental ends (or ended).
    pub ends_at: Option<i64>,
    /// When the title was granted, seconds since the epoch.
    pub granted_at: i64,
}

/// The customer's devices (`GET /v1/me/devices`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MyDevices {
    /// Active devices, oldest first.
    pub items: Vec<DeviceView>,
    /// How many active devices the store allows.
    pub limit: i64,
    /// The store's wait between two removals, seconds (0: none).
    pub removal_wait_seconds: i64,
    /// When the next removal is allowed, if the wait still runs (seconds since the epoch).
    pub next_removal_at: Option<i64>,
}

/// `PUT /v1/me/devices/{device}/name`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameDevice {
    /// The device's new name, as its owner wants to see it (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A customer's access to a title.
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryEntry {
    /// Title id.
    pub title: String,
    /// `owned`, `rented`, `upcoming`, `ended` or `none`.
    #[schema(example = "owned")]
    pub access: &'static str,
    /// When the access starts (or started).
    pub starts_at: Option<i64>,
    /// When a rental ends.
    pub ends_at: Option<i64>,
}
