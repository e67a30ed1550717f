//! The console, at `/console`: operators and stores' staff see and run Fount in a browser.
//!
//! Server-rendered (askama templates in `templates/console/`), every page and form working
//! without JavaScript; a small script (`/console/assets/console.js`) only adds what cannot be
//! done without it. The rules every page keeps:
//!
//! * **Who.** A handler that takes a [`session::Session`] is for signed-in people only; others
//!   are sent to the sign-in page. Accounts are made with `fount-server console user add`.
//!   Passwords are Argon2id ([`password`]); sign-ins are rate-limited ([`sign_in`]).
//! * **Which store.** An operator sees every store, a store's staff their own: every handler
//!   that names a store passes it through [`session::Session::store`], and what another store
//!   owns is answered exactly as what does not exist (404), on every page, form and link.
//! * **Forgery.** Every form carries the session's token, checked before any change
//!   ([`session`]); cookies are `SameSite=Strict` and `HttpOnly`.
//! * **Record.** Every change is made through the repository with the actor
//!   `console:<email>`, so it is in the event log like any API change. What changes no data
//!   but starts work (a delivery sent again, a replay, a feed synced now) is a `fount::console`
//!   log line naming the person, beside the job it queued.
//! * **Headers.** A strict Content-Security-Policy (scripts and styles from the server only),
//!   no framing, no caching of pages.

pub mod charts;
pub mod customers;
pub mod events;
pub mod feeds;
pub mod keys;
pub mod operator;
pub mod overview;
pub mod pages;
pub mod password;
pub mod payments;
pub mod session;
pub mod sign_in;
pub mod stores;
pub mod titles;
pub mod webhooks;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};

use crate::edge::at;

/// A console page's failure, answered as a page (or, when signed out, a redirect to sign in).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Not signed in, or the session ended: go to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// Nothing here for this person (absent, or another store's).
    #[error("not found")]
    NotFound,
    /// A form without this session's token.
    #[error("this form has expired; go back, reload the page and try again")]
    Forgery,
    /// Too many sign-ins: wait this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    TooMany(i64),
    /// A value in a form is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The database is unavailable.
    #[error("the database is unavailable; try again in a moment")]
    Unavailable,
    /// Anything else: logged, and shown as a generic failure.
    #[error("something failed on the server; it has been logged")]
    Internal(String),
}

impl ConsoleError {
    /// An internal failure, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ConsoleError::Internal(cause.to_string())
    }
}

impl From<crate::db::DbError> for ConsoleError {
    fn from(e: crate::db::DbError) -> Self {
        match e.failure() {
            crate::db::Failure::Unavailable(_) | crate::db::Failure::Conflict => ConsoleError::Unavailable,
            crate::db::Failure::Unstorable => {
                ConsoleError::Invalid("a value holds a character that cannot be stored".into())
            }
            crate::db::Failure::Other => ConsoleError::internal(e),
        }
    }
}

impl From<crate::error::ApiError> for ConsoleError {
    fn from(e: crate::error::ApiError) -> Self {
        match e.kind().status {
            404 => ConsoleError::NotFound,
            400..=499 => ConsoleError::Invalid(e.problem().detail),
            _ => ConsoleError::internal(e),
        }
    }
}

impl From<actix_web::error::BlockingError> for ConsoleError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ConsoleError::internal(e)
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Forgery => StatusCode::FORBIDDEN,
            ConsoleError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::SignIn = self {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/sign-in")).finish();
        }
        if let ConsoleError::Internal(cause) = self {
            tracing::error!(%cause, "console: internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let ConsoleError::TooMany(wait) = self {
            response.insert_header((header::RETRY_AFTER, wait.to_string()));
        }
        let message = self.to_string();
        let html = page(&pages::ErrorPage { status: self.status_code().as_u16(), message: &message })
            .unwrap_or_else(|_| message.clone());
        response.content_type("text/html; charset=utf-8").body(html)
    }
}

/// A form that carries only the session's token (revoke, retry, rotate, sign out).
#[derive(Debug, serde::Deserialize)]
pub struct TokenForm {
    /// The session's anti-forgery token.
    pub csrf: String,
}

/// What a page is told after a change made on it (`?done=`), to show a notice.
#[derive(Debug, serde::Deserialize)]
pub struct Done {
    /// Which change.
    #[serde(default)]
    pub done: Option<String>,
}

/// Renders a template.
pub fn page(template: &impl askama::Template) -> Result<String, ConsoleError> {
    template.render().map_err(ConsoleError::internal)
}

/// A rendered page as a response.
pub fn html(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body)
}

/// A redirect after a change (the page is then reloaded with GET), with a notice to show.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_owned())).finish()
}

/// The console's stylesheet and script.
static CSS: &str = include_str!("../../assets/console.css");
static JS: &str = include_str!("../../assets/console.js");

async fn asset(path: web::Path<String>) -> HttpResponse {
    let (body, kind) = match path.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok().content_type(kind).insert_header((header::CACHE_CONTROL, "no-cache")).body(body)
}

/// The console's Content-Security-Policy: nothing from elsewhere, no inline script or style,
/// no framing, forms posted here only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the console's routes, within `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .app_data(
                web::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| ConsoleError::Invalid(format!("the form could not be read: {e}")).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| ConsoleError::NotFound.into()))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
                    .add((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                    .add((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                    .add((header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
                    .add((header::CACHE_CONTROL, HeaderValue::from_static("no-store"))),
            )
            .service(at("").get(stores::home).finish())
            .service(at("/assets/{file}").get(asset).finish())
            .service(at("/sign-in").get(sign_in::form).post(sign_in::submit).finish())
            .service(at("/sign-out").post(sign_in::sign_out).finish())
            .service(at("/stores").post(stores::create).finish())
            .service(at("/stores/{store}").get(stores::show).finish())
            .service(at("/stores/{store}/settings").post(stores::update).finish())
            .service(at("/stores/{store}/keys").post(keys::create).finish())
            .service(at("/stores/{store}/keys/{key}/revoke").post(keys::revoke).finish())
            .service(at("/stores/{store}/customers").get(customers::show).finish())
            .service(at("/stores/{store}/grants").post(customers::grant).finish())
            .service(at("/stores/{store}/devices/remove").post(customers::remove_device).finish())
            .service(at("/stores/{store}/entitlements/{entitlement}/revoke").post(customers::revoke).finish())
            .service(at("/stores/{store}/overview").get(overview::show).finish())
            .service(at("/stores/{store}/titles").get(titles::list).post(titles::create).finish())
            .service(at("/stores/{store}/titles/{title}").get(titles::show).finish())
            .service(at("/stores/{store}/titles/{title}/details").post(titles::update).finish())
            .service(at("/stores/{store}/titles/{title}/sale").post(titles::sale).finish())
            .service(at("/stores/{store}/titles/{title}/withdraw").post(titles::withdraw).finish())
            .service(at("/stores/{store}/titles/{title}/tracks").post(titles::upload).finish())
            .service(at("/stores/{store}/payments").get(payments::list).finish())
            .service(at("/stores/{store}/payments/{payment}/assign").post(payments::assign).finish())
            .service(at("/stores/{store}/events").get(events::list).finish())
            .service(at("/stores/{store}/webhooks").get(webhooks::list).post(webhooks::create).finish())
            .service(at("/stores/{store}/webhooks/{endpoint}").get(webhooks::show).finish())
            .service(at("/stores/{store}/webhooks/{endpoint}/redeliver").post(webhooks::redeliver).finish())
            .service(at("/stores/{store}/webhooks/{endpoint}/replay").post(webhooks::replay).finish())
            .service(at("/stores/{store}/feeds").get(feeds::list).finish())
            .service(at("/stores/{store}/feeds/{feed}").get(feeds::show).finish())
            .service(at("/stores/{store}/feeds/{feed}/sync").post(feeds::sync).finish())
            .service(at("/jobs").get(operator::jobs).finish())
            .service(at("/jobs/{job}/retry").post(operator::retry).finish())
            .service(at("/signing-keys").get(operator::signing_keys).finish())
            .service(at("/signing-keys/rotate").post(operator::rotate).finish())
            .default_service(web::to(|| async { Err::<HttpResponse, _>(ConsoleError::NotFound) })),
    );
}
