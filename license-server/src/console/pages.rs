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
    /// `store` or `customers`.
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
