//! Rows as the repository returns them. The same structs decode from SQLite and PostgreSQL:
//! every column is TEXT, a 64-bit integer, a double or bytes in both.

use serde::Serialize;
use utoipa::ToSchema;

use super::page::{Cursor, Keyed};

macro_rules! keyed {
    ($($row:ty => $at:ident),* $(,)?) => {
        $(impl Keyed for $row {
            fn key(&self) -> Cursor {
                Cursor { at: self.$at, id: self.id.clone() }
            }
        })*
    };
}

keyed!(
    Store => created_at,
    ApiKeyRow => created_at,
    TitleRow => created_at,
    EntitlementRow => created_at,
    DeviceRow => created_at,
    LicenseRow => created_at,
    PaymentRow => created_at,
);

/// A store: one tenant, with its own titles, customers and API keys.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct Store {
    /// Store id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Devices each customer may register.
    pub device_limit: i64,
    /// How long a license may be used offline before it must be renewed, in seconds.
    pub offline_seconds: i64,
    /// Web origins allowed to embed the widget (JSON array).
    #[serde(skip)]
    pub allowed_origins: String,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// A demo store: visitors get tokens without a store backend, and a test checkout.
    pub demo: bool,
    /// The Stripe webhook signing secret, sealed under the KEK.
    #[serde(skip)]
    pub stripe_webhook_secret: Option<Vec<u8>>,
    /// The least time between two removals of a device by the same customer, seconds (0:
    /// none).
    pub device_removal_wait_seconds: i64,
}

impl Store {
    /// The web origins allowed to embed the widget.
    pub fn origins(&self) -> Vec<String> {
        serde_json::from_str(&self.allowed_origins).unwrap_or_default()
    }
}

/// Changes to a store's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct StorePatch {
    /// Display name.
    pub name: Option<String>,
    /// Devices per customer.
    pub device_limit: Option<i64>,
    /// Offline window, seconds.
    pub offline_seconds: Option<i64>,
    /// Allowed widget origins, a JSON array.
    pub allowed_origins: Option<String>,
    /// Demo mode.
    pub demo: Option<bool>,
    /// The Stripe webhook secret, sealed.
    pub stripe_webhook_secret: Option<Vec<u8>>,
    /// Wait between a customer's own device removals, seconds.
    pub device_removal_wait_seconds: Option<i64>,
}

/// A customer's listening position in a title.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PositionRow {
    /// Customer.
    pub customer_id: String,
    /// Title.
    pub title_id: String,
    /// Store.
    pub store_id: String,
    /// Seconds on the title's timeline.
    pub seconds: f64,
    /// When the server stored it.
    pub updated_at: i64,
    /// When the device made the change, ms (`None` for positions saved before this was kept).
    pub changed_at: Option<i64>,
}

/// An API key's stored form: never the secret, only its hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// Public part of the key.
    pub id: String,
    /// The store it acts for.
    pub store_id: String,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// A label to recognise it by.
    pub label: String,
    /// Created.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// An operator key (only the hash of its secret is kept).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperatorKeyRow {
    /// Public part of the key.
    pub id: String,
    /// SHA-256 of the secret part.
    pub secret_hash: Vec<u8>,
    /// A label to recognise it by.
    pub label: String,
    /// Created.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A signing key: the public JWK and the private key sealed under the key-encryption key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// PKCS#8, sealed.
    pub private_key: Vec<u8>,
    /// Creation time; the newest key signs.
    pub created_at: i64,
}

/// A title.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TitleRow {
    /// Title id.
    pub id: String,
    /// Owning store.
    pub store_id: String,
    /// Title.
    pub name: String,
    /// Author.
    pub author: Option<String>,
    /// BCP 47 language.
    pub language: Option<String>,
    /// Price as a decimal string, for the widget.
    pub price: Option<String>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// The store's checkout page for this title.
    pub checkout_url: Option<String>,
    /// Cover image URL.
    pub cover_url: Option<String>,
    /// Content key id (base64url).
    pub key_id: String,
    /// Content key, sealed.
    pub content_key: Vec<u8>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// The Stripe Payment Link that sells it.
    pub stripe_payment_link: Option<String>,
    /// Cover art read from an uploaded file, in the asset store.
    pub cover_file: Option<String>,
    /// Its media type.
    pub cover_type: Option<String>,
    /// When it was withdrawn from sale (its feed item went away); licenses keep working.
    pub withdrawn_at: Option<i64>,
    /// What the title is about.
    pub description: Option<String>,
}

impl TitleRow {
    /// The cover to show: the store's own, else the one read from an uploaded file (a URL
    /// relative to the manifest), else none. With its media type when known.
    pub fn cover(&self) -> Option<(String, Option<&str>)> {
        match (&self.cover_url, &self.cover_file) {
            (Some(url), _) => Some((url.clone(), None)),
            (None, Some(file)) => Some((format!("covers/{file}"), self.cover_type.as_deref())),
            (None, None) => None,
        }
    }
}

/// A sealed track of a title.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrackRow {
    /// Title.
    pub title_id: String,
    /// 0-based place in the reading order.
    pub position: i64,
    /// Track name.
    pub name: String,
    /// Media type of the original audio.
    pub media_type: String,
    /// Seconds.
    pub duration: f64,
    /// Bytes of the original.
    pub original_length: i64,
    /// Bytes of the sealed file.
    pub sealed_length: i64,
    /// File name of the sealed file in the asset store.
    pub file: String,
    /// SHA-256 of the sealed file, hex: the strong ETag.
    pub sha256: String,
    /// Chapters read from the file, JSON `[{"title":…,"offset":…}]`.
    pub chapters: String,
    /// Upload time.
    pub created_at: i64,
    /// `processing` (a worker is packaging it), `published` (in the manifest) or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The job packaging it.
    pub job_id: Option<String>,
    /// Its transcripts: JSON `[{"file", "media_type", "language"}]` ([`Transcript`]).
    pub transcripts: String,
}

impl TrackRow {
    /// Whether it is in the title's manifest.
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }
}

/// A customer: the store's own user id, and Fount's id for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    /// Fount's id.
    pub id: String,
    /// Store.
    pub store_id: String,
    /// The store's id for its user.
    pub external_id: String,
    /// First seen.
    pub created_at: i64,
}

/// An entitlement: a customer's right to a title.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct EntitlementRow {
    /// Id.
    pub id: String,
    /// Store.
    pub store_id: String,
    /// Customer (Fount id).
    pub customer_id: String,
    /// The store's id for the customer.
    pub customer_ref: String,
    /// Title.
    pub title_id: String,
    /// `purchase` or `rental`.
    pub kind: String,
    /// Start.
    pub starts_at: i64,
    /// End (rentals).
    pub ends_at: Option<i64>,
    /// Where it came from: `api`, `stripe`, `demo`.
    pub source: String,
    /// Idempotency reference (for example a checkout session id).
    pub reference: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A registered device.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct DeviceRow {
    /// Row id.
    pub id: String,
    /// Store.
    pub store_id: String,
    /// Customer.
    pub customer_id: String,
    /// RFC 7638 thumbprint: the device id in the API and in licenses.
    pub jkt: String,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// A name the app chose.
    pub name: String,
    /// Registered.
    pub created_at: i64,
    /// Revoked, if it was.
    pub revoked_at: Option<i64>,
    /// Who revoked it: `customer` (from the customer API) or `store`.
    pub revoked_by: Option<String>,
}

/// Who removes a device, and under which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remover {
    /// The store (store API, console): no wait.
    Store,
    /// The customer (customer API): at most one removal per `wait_seconds`.
    Customer {
        /// The store's wait between a customer's removals, seconds (0: none).
        wait_seconds: i64,
    },
}

impl Remover {
    /// As `devices.revoked_by` records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Remover::Store => "store",
            Remover::Customer { .. } => "customer",
        }
    }
}

/// What came of removing a device.
#[derive(Debug, Clone)]
pub enum Removal {
    /// Revoked now, with its active licenses.
    Removed(DeviceRow),
    /// No active device of this customer has this id.
    NotFound,
    /// The customer removed another device too recently; the next removal is allowed at
    /// `next_at` (seconds since the epoch).
    TooSoon {
        /// When a removal is allowed again.
        next_at: i64,
    },
}

/// A license as the server tracks it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LicenseRow {
    /// Id (`jti`).
    pub id: String,
    /// Store.
    pub store_id: String,
    /// Customer.
    pub customer_id: String,
    /// The store's id for the customer.
    pub customer_ref: String,
    /// Title.
    pub title_id: String,
    /// Device row.
    pub device_id: String,
    /// The device's thumbprint.
    pub device_jkt: String,
    /// The entitlement it was issued under.
    pub entitlement_id: String,
    /// `active`, `returned` or `revoked` (expiry is computed).
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
    /// First issue: the license's place in lists, which renewals do not move.
    pub created_at: i64,
}

/// The fields of a title its store chooses (checked by the caller).
#[derive(Debug, Default, Clone)]
pub struct TitleFields {
    /// Store.
    pub store_id: String,
    /// Title.
    pub name: String,
    /// Author.
    pub author: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Price.
    pub price: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Checkout page.
    pub checkout_url: Option<String>,
    /// Cover.
    pub cover_url: Option<String>,
    /// Stripe Payment Link id (`plink_…`).
    pub stripe_payment_link: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// What a new title needs: its fields, its id and its content key.
#[derive(Debug, Clone)]
pub struct NewTitle {
    /// Id.
    pub id: String,
    /// Content key id.
    pub key_id: String,
    /// Sealed content key.
    pub content_key: Vec<u8>,
    /// The rest.
    pub fields: TitleFields,
}

/// What a new track needs.
#[derive(Debug, Clone)]
pub struct NewTrack {
    /// Name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Seconds.
    pub duration: f64,
    /// Original bytes.
    pub original_length: i64,
    /// Sealed bytes.
    pub sealed_length: i64,
    /// Sealed file name.
    pub file: String,
    /// Hex SHA-256 of the sealed file.
    pub sha256: String,
    /// Chapters JSON.
    pub chapters: String,
    /// `processing` (to be packaged by a worker) or `published` (packaged already).
    pub status: String,
    /// The job that will package it.
    pub job_id: Option<String>,
    /// The feed item (`(feed, guid)`) it imports: the item turns `processing` with this track
    /// in the same transaction, before the packaging job can publish it.
    pub feed_item: Option<(String, String)>,
    /// Its transcripts, JSON (see [`TrackRow::transcripts`]).
    pub transcripts: String,
    /// Cover art from the file, for a track added published.
    pub cover: Option<FileCover>,
}

/// Cover art read from a track's file, already in the assets store: it becomes the title's
/// cover, if the title has none, in the transaction that publishes the track; so whoever sees
/// the track published sees the cover with it. If the title had one, the caller removes the
/// file (see `media::package`).
#[derive(Debug, Clone)]
pub struct FileCover {
    /// Its name in the assets store.
    pub file: String,
    /// Its media type.
    pub media_type: String,
}

/// What packaging found, to publish a processing track with.
#[derive(Debug, Clone)]
pub struct PackagedTrack {
    /// The sealed file (a name of this attempt's own: see `media::package`).
    pub file: String,
    /// What the file held that could not be used.
    pub warnings: Vec<String>,
    /// Name: the upload's, else the file's title tag; `None` keeps the name the track has.
    pub name: Option<String>,
    /// Media type.
    pub media_type: String,
    /// Seconds.
    pub duration: f64,
    /// Original bytes.
    pub original_length: i64,
    /// Sealed bytes.
    pub sealed_length: i64,
    /// Hex SHA-256 of the sealed file.
    pub sha256: String,
    /// Chapters JSON.
    pub chapters: String,
    /// Cover art from the file.
    pub cover: Option<FileCover>,
}

/// What a grant needs.
#[derive(Debug, Clone)]
pub struct NewEntitlement {
    /// Store.
    pub store_id: String,
    /// Customer (Fount id).
    pub customer_id: String,
    /// The store's id for the customer.
    pub customer_ref: String,
    /// Title.
    pub title_id: String,
    /// `purchase` or `rental`.
    pub kind: String,
    /// Start.
    pub starts_at: i64,
    /// End.
    pub ends_at: Option<i64>,
    /// Source.
    pub source: String,
    /// Idempotency reference.
    pub reference: Option<String>,
}

/// What a device registration needs.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Store.
    pub store_id: String,
    /// Customer.
    pub customer_id: String,
    /// The store's id for the customer (for the event).
    pub customer_ref: String,
    /// Thumbprint.
    pub jkt: String,
    /// Public JWK JSON.
    pub public_jwk: String,
    /// Name.
    pub name: String,
}

/// The outcome of a device registration.
#[derive(Debug, Clone)]
pub enum Registration {
    /// A new device, or the same key registered again (idempotent).
    Registered(DeviceRow),
    /// The customer already has `limit` active devices.
    LimitReached {
        /// The store's limit.
        limit: i64,
    },
}

/// What issuing (or re-issuing) a license records.
#[derive(Debug, Clone)]
pub struct LicenseGrant {
    /// Store.
    pub store_id: String,
    /// Customer.
    pub customer_id: String,
    /// The store's id for the customer.
    pub customer_ref: String,
    /// Title.
    pub title_id: String,
    /// Device row.
    pub device_id: String,
    /// Device thumbprint.
    pub device_jkt: String,
    /// Entitlement.
    pub entitlement_id: String,
    /// `nbf`.
    pub not_before: i64,
    /// `exp`.
    pub expires_at: Option<i64>,
    /// `renew_by`.
    pub renew_by: i64,
}

/// A payment a provider reported (see `api::stripe`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    /// Id.
    pub id: String,
    /// Store.
    pub store_id: String,
    /// `stripe`.
    pub provider: String,
    /// The provider's id of the payment (a checkout session).
    pub reference: String,
    /// The provider's payment intent, which refunds name.
    pub payment_intent: Option<String>,
    /// What was bought, when the provider's data says.
    pub title_id: Option<String>,
    /// Who bought it (the store's id), when known.
    pub customer_ref: Option<String>,
    /// The payer's email as the provider has it, to help the store match the payment.
    pub email: Option<String>,
    /// Amount in the currency's minor unit.
    pub amount: Option<i64>,
    /// ISO 4217, lower case as providers send it.
    pub currency: Option<String>,
    /// `granted`, `unmatched` or `refunded`.
    pub status: String,
    /// Why it is unmatched.
    pub reason: Option<String>,
    /// The entitlement it granted.
    pub entitlement_id: Option<String>,
    /// Received.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Store.
    pub store_id: String,
    /// `stripe`.
    pub provider: String,
    /// The provider's id of the payment.
    pub reference: String,
    /// Payment intent.
    pub payment_intent: Option<String>,
    /// Title, when known.
    pub title_id: Option<String>,
    /// Customer, when known.
    pub customer_ref: Option<String>,
    /// Payer's email.
    pub email: Option<String>,
    /// Amount, minor unit.
    pub amount: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// `granted` or `unmatched`.
    pub status: String,
    /// Why unmatched.
    pub reason: Option<String>,
    /// The entitlement granted.
    pub entitlement_id: Option<String>,
}

/// A transcript kept beside a track, as [`TrackRow::transcripts`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transcript {
    /// Its file in the assets folder.
    pub file: String,
    /// Its media type (`text/vtt`, `application/x-subrip`, `application/json`, `text/html`,
    /// `text/plain`).
    pub media_type: String,
    /// Its language (BCP 47), if the feed said.
    pub language: Option<String>,
}
