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
