//! The console's pages: one askama template each (`templates/console/`), all within
//! `layout.html`.

use askama::Template;

use crate::db::{ApiKeyRow, Store};

/// A store in the operator's list.
pub struct StoreLine {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Devices per customer.
    pub device_limit: i64,
    /// Created, as people read it.
    pub created: String,
}

impl From<&Store> for StoreLine {
    fn from(s: &Store) -> Self {
        StoreLine { id: s.id.clone(), name: s.name.clone(), device_limit: s.device_limit, created: when(s.created_at) }
    }
}

/// An API key in a store's list.
pub struct KeyLine {
    /// Its public id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Created.
    pub created: String,
    /// Revoked, if it was.
    pub revoked: Option<String>,
}

impl From<&ApiKeyRow> for KeyLine {
    fn from(k: &ApiKeyRow) -> Self {
        KeyLine {
            id: k.id.clone(),
            label: k.label.clone(),
            created: when(k.created_at),
            revoked: k.revoked_at.map(when),
        }
    }
}

/// What the layout shows of the signed-in person, on every page.
pub struct Nav<'a> {
    /// Their email.
    pub email: &'a str,
    /// An operator (every store), or a store's staff.
    pub operator: bool,
    /// The session's form token (the sign-out form).
    pub csrf: &'a str,
    /// The store being looked at, if any: id and name.
    pub store: Option<(&'a str, &'a str)>,
    /// Which page this is, for the links' `aria-current`: `stores`, `jobs`, `signing-keys`,
    /// or one of a store's (`overview`, `titles`, `customers`, `payments`, `events`,
    /// `webhooks`, `feeds`, `store`).
    pub here: &'static str,
}

/// `/console/sign-in`.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage<'a> {
    /// The form's token.
    pub csrf: &'a str,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
    /// The email typed last time.
    pub email: &'a str,
}

/// Any failure.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage<'a> {
    /// HTTP status.
    pub status: u16,
    /// What to tell the person.
    pub message: &'a str,
}

/// `/console` for an operator: every store.
#[derive(Template)]
#[template(path = "console/stores.html")]
pub struct StoresPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The stores, oldest first.
    pub stores: Vec<StoreLine>,
}

/// `/console/stores/{store}`: its settings and API keys.
#[derive(Template)]
#[template(path = "console/store.html")]
pub struct StorePage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Its allowed origins, one per line.
    pub origins: String,
    /// Where Stripe posts the store's payments.
    pub stripe_url: &'a str,
    /// Its API keys, newest first.
    pub keys: Vec<KeyLine>,
    /// A key just created: shown this once.
    pub new_key: Option<&'a str>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// A time as people read it: `2026-11-22 09:41 UTC`.
pub fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).ok())
        .unwrap_or_default()
}

/// `/console/stores/{store}/customers`.
#[derive(Template)]
#[template(path = "console/customers.html")]
pub struct CustomerPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// What was searched for.
    pub query: &'a str,
    /// The customer found (the store's id for them).
    pub found: Option<&'a str>,
    /// Whether a search was made.
    pub searched: bool,
    /// Their entitlements, newest first.
    pub grants: Vec<GrantLine>,
    /// Their devices.
    pub devices: Vec<DeviceLine>,
    /// Their licenses.
    pub licenses: Vec<LicenseLine>,
    /// The store's titles, to grant one.
    pub titles: Vec<TitleChoice>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// An entitlement in a customer's list.
pub struct GrantLine {
    /// Id.
    pub id: String,
    /// Its title's name.
    pub title: String,
    /// `purchase` or `rental`.
    pub kind: String,
    /// A rental's end.
    pub ends: Option<String>,
    /// Granted.
    pub granted: String,
    /// Revoked.
    pub revoked: Option<String>,
}

/// A device in a customer's list.
pub struct DeviceLine {
    /// Its id (thumbprint).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Registered.
    pub added: String,
    /// Revoked.
    pub revoked: Option<String>,
}

/// A license in a customer's list.
pub struct LicenseLine {
    /// Its title's name.
    pub title: String,
    /// The start of its device's id.
    pub device: String,
    /// Its status now.
    pub status: String,
    /// Last issued.
    pub issued: String,
}

/// A title to choose in the grant form.
pub struct TitleChoice {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// `/console/jobs` (operators).
#[derive(Template)]
#[template(path = "console/jobs.html")]
pub struct JobsPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The queue's depth over the last day.
    pub depth: super::charts::Chart,
    /// Each kind's counts.
    pub kinds: Vec<KindLine>,
    /// Dead jobs, newest first.
    pub dead: Vec<DeadJob>,
    /// Jobs completed in the last hour.
    pub completed_last_hour: i64,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// One kind of job's counts.
pub struct KindLine {
    /// The kind.
    pub kind: &'static str,
    /// Due and waiting.
    pub queued: i64,
    /// Waiting for a later time.
    pub scheduled: i64,
    /// Held by a worker.
    pub running: i64,
    /// Out of attempts.
    pub dead: i64,
    /// The oldest due job's wait, whole seconds.
    pub oldest: String,
}

/// A dead job.
pub struct DeadJob {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Its store, if any.
    pub store: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last failed.
    pub error: String,
    /// When it died.
    pub finished: String,
}

/// `/console/signing-keys` (operators).
#[derive(Template)]
#[template(path = "console/signing_keys.html")]
pub struct SigningKeysPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The keys, newest first.
    pub keys: Vec<SigningKeyLine>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// A signing key.
pub struct SigningKeyLine {
    /// Its key id.
    pub kid: String,
    /// Made.
    pub created: String,
    /// Whether it signs new licenses.
    pub current: bool,
}

/// `/console/stores/{store}/overview`: the store's charts.
#[derive(Template)]
#[template(path = "console/overview.html")]
pub struct OverviewPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Its charts.
    pub charts: Vec<super::charts::Chart>,
}

/// A title in a store's list.
pub struct TitleLine {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Author.
    pub author: String,
    /// `9.99 EUR`, or empty.
    pub price: String,
    /// Its tracks.
    pub tracks: usize,
    /// Of which being prepared.
    pub processing: usize,
    /// Of which failed.
    pub failed: usize,
    /// Whether it is on sale.
    pub on_sale: bool,
}

/// `/console/stores/{store}/titles`.
#[derive(Template)]
#[template(path = "console/titles.html")]
pub struct TitlesPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Its titles, newest first.
    pub titles: Vec<TitleLine>,
}

/// A track of a title.
pub struct TrackLine {
    /// Name.
    pub name: String,
    /// `processing`, `published` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: String,
    /// `1:02:03`.
    pub duration: String,
    /// The uploaded file's size, as people read it.
    pub size: String,
    /// Its chapters.
    pub chapters: Vec<ChapterLine>,
}

/// A chapter of a track.
pub struct ChapterLine {
    /// Title.
    pub title: String,
    /// Where it starts, `12:34`.
    pub at: String,
}

/// `/console/stores/{store}/titles/{title}`.
#[derive(Template)]
#[template(path = "console/title.html")]
pub struct TitlePage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// The title.
    pub title: &'a crate::db::TitleRow,
    /// Its price, or empty.
    pub price: String,
    /// Its currency, or empty.
    pub currency: String,
    /// Its tracks in reading order.
    pub tracks: Vec<TrackLine>,
    /// Whether a track is being prepared (the page then follows it).
    pub processing: bool,
    /// The largest upload, MB.
    pub upload_limit_mb: u64,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// A payment in a store's list.
pub struct PaymentLine {
    /// Id.
    pub id: String,
    /// `stripe`.
    pub provider: String,
    /// The provider's id for it.
    pub reference: String,
    /// Its title's name, if it named one.
    pub title: Option<String>,
    /// The customer it granted, if any.
    pub customer: Option<String>,
    /// The payer's email, if the provider gave it.
    pub email: String,
    /// `9.99 EUR`, or empty.
    pub amount: String,
    /// `granted`, `unmatched` or `refunded`.
    pub status: String,
    /// Why it is unmatched.
    pub reason: String,
    /// Received.
    pub received: String,
}

/// `/console/stores/{store}/payments`.
#[derive(Template)]
#[template(path = "console/payments.html")]
pub struct PaymentsPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Which payments: `unmatched`, `granted`, `refunded` or `all`.
    pub showing: &'a str,
    /// The payments, newest first.
    pub payments: Vec<PaymentLine>,
    /// The store's titles (for a payment that named none).
    pub titles: Vec<TitleChoice>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// An event in the log's page.
pub struct EventLine {
    /// `evt_…`.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Who made the change.
    pub actor: String,
    /// When.
    pub at: String,
    /// Its data, as indented JSON.
    pub data: String,
}

/// `/console/stores/{store}/events`.
#[derive(Template)]
#[template(path = "console/events.html")]
pub struct EventsPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Every event type, for the filter.
    pub kinds: Vec<&'static str>,
    /// The type chosen, or empty for all.
    pub chosen: &'a str,
    /// Whether the page follows the log.
    pub live: bool,
    /// The latest events, newest first.
    pub events: Vec<EventLine>,
}

/// A webhook endpoint.
pub struct EndpointLine {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The store's note.
    pub description: String,
    /// What it receives, as people read it.
    pub types: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: String,
    /// Failing every delivery since.
    pub failing_since: Option<String>,
}

/// `/console/stores/{store}/webhooks`.
#[derive(Template)]
#[template(path = "console/webhooks.html")]
pub struct WebhooksPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Its endpoints, oldest first.
    pub endpoints: Vec<EndpointLine>,
    /// An endpoint just added and its signing secret: shown this once.
    pub new_secret: Option<(&'a str, &'a str)>,
}

/// A delivery of an event to an endpoint.
pub struct DeliveryLine {
    /// Id.
    pub id: String,
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last answer's status.
    pub last_status: String,
    /// The last failure.
    pub last_error: String,
    /// Made.
    pub created: String,
}

/// `/console/stores/{store}/webhooks/{endpoint}`.
#[derive(Template)]
#[template(path = "console/webhook.html")]
pub struct WebhookPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// The endpoint.
    pub endpoint: EndpointLine,
    /// Its deliveries, newest first.
    pub deliveries: Vec<DeliveryLine>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// A feed.
pub struct FeedLine {
    /// `feed_…`.
    pub id: String,
    /// Its channel's name, else its URL.
    pub name: String,
    /// Where it is read.
    pub url: String,
    /// `episodes` or `serial`.
    pub mode: String,
    /// `active` or `paused`.
    pub status: String,
    /// Last read.
    pub last_sync: Option<String>,
    /// What the last read found.
    pub last_result: String,
    /// Why the last read failed.
    pub last_error: String,
    /// Failed reads in a row.
    pub failures: i64,
}

/// `/console/stores/{store}/feeds`.
#[derive(Template)]
#[template(path = "console/feeds.html")]
pub struct FeedsPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// Its feeds.
    pub feeds: Vec<FeedLine>,
    /// What was just done.
    pub notice: Option<&'a str>,
}

/// An item of a feed.
pub struct FeedItemLine {
    /// Its name, else its guid.
    pub name: String,
    /// Its guid.
    pub guid: String,
    /// What became of it.
    pub status: String,
    /// Why it could not be imported.
    pub error: String,
    /// The title it made.
    pub title_id: Option<String>,
    /// Last change.
    pub updated: String,
}

/// `/console/stores/{store}/feeds/{feed}`.
#[derive(Template)]
#[template(path = "console/feed.html")]
pub struct FeedPage<'a> {
    /// The layout.
    pub nav: Nav<'a>,
    /// The store.
    pub store: &'a Store,
    /// The feed.
    pub feed: FeedLine,
    /// Its items in the feed's order.
    pub items: Vec<FeedItemLine>,
}
