//! API errors, mapped to RFC 9457 problem details in one place.
//!
//! Every error response is `application/problem+json` with a stable `type`: a relative URI,
//! `/problems/<slug>`, that the server also serves as a page explaining the problem. Clients
//! match on `type` (or its slug); `title` is fixed per type; `detail` explains this
//! occurrence. Internal errors are logged with their cause and answered with a generic body:
//! no SQL, path, key or stack ever reaches a client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One kind of problem: its slug, status and title, and what it means.
#[derive(Debug, Clone, Copy)]
pub struct ProblemType {
    /// The last segment of the `type` URI.
    pub slug: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Short, fixed summary.
    pub title: &'static str,
    /// What it means and what to do, for the problem's page.
    pub description: &'static str,
}

macro_rules! problems {
    ($( $name:ident = ($slug:literal, $status:literal, $title:literal, $description:literal); )*) => {
        /// The problem types of API v1.
        pub mod problem {
            use super::ProblemType;
            $(
                #[doc = $description]
                pub const $name: ProblemType = ProblemType { slug: $slug, status: $status, title: $title, description: $description };
            )*
            /// Every problem type, for the docs pages.
            pub const ALL: &[ProblemType] = &[$($name),*];
        }
    };
}

problems! {
    MALFORMED_REQUEST = ("malformed-request", 400, "Malformed request", "The request is not valid HTTP/1.1: a malformed request line or header, or a body whose framing is broken (bad chunked encoding, or both Content-Length and Transfer-Encoding). The connection is closed after this answer.");
    MALFORMED_JSON = ("malformed-json", 400, "Malformed JSON", "The request body is not valid JSON. Check quoting, commas and brackets.");
    INVALID_BODY = ("invalid-body", 422, "Invalid request body", "The body is JSON but does not match the schema: a member is missing, unknown, or has the wrong type. `detail` names it.");
    INVALID_PARAMETER = ("invalid-parameter", 400, "Invalid parameter", "A path or query parameter, or a header, is malformed or out of range. `detail` names it.");
    VALIDATION = ("validation-failed", 422, "Validation failed", "The request is well-formed but a value is not acceptable (a bad key, an end before a start, an unknown title). `detail` says which.");
    INVALID_SIGNATURE = ("invalid-signature", 400, "Invalid signature", "A signed request (a payment provider's webhook) does not carry a valid, current signature for this endpoint's secret.");
    UNAUTHORIZED = ("unauthorized", 401, "Unauthorized", "No credentials, or credentials that are not valid here. Store backends send `Authorization: Bearer <API key>`; apps send `Authorization: Bearer <customer token>` minted by their store's backend. Tokens expire: mint a new one.");
    NOT_FOUND = ("not-found", 404, "Not found", "There is nothing here, or nothing this caller may see. Resources of another store are reported as not found.");
    METHOD_NOT_ALLOWED = ("method-not-allowed", 405, "Method not allowed", "This resource exists but does not accept this method. The `Allow` header lists the methods it accepts.");
    REQUEST_TIMEOUT = ("request-timeout", 408, "Request timeout", "The request body stopped arriving: no part of it came for the server's body timeout. Send the body without long pauses; the connection is closed after this answer.");
    INCOMPLETE_BODY = ("incomplete-body", 400, "Incomplete body", "The connection ended, or the body's chunked framing broke, before the body was complete. Send the request again.");
    URI_TOO_LONG = ("uri-too-long", 414, "URI too long", "The request target (path and query) is longer than the server accepts. `limit` gives the maximum in bytes.");
    HEADERS_TOO_LARGE = ("headers-too-large", 431, "Request headers too large", "The request's headers are larger than the server accepts. `limit` gives the maximum in bytes.");
    RANGE_NOT_SATISFIABLE = ("range-not-satisfiable", 416, "Range not satisfiable", "The requested byte range lies outside the file. `size` gives the file's length.");
    PAYLOAD_TOO_LARGE = ("payload-too-large", 413, "Payload too large", "The body is larger than this endpoint accepts. `limit` gives the maximum in bytes.");
    UNSUPPORTED_MEDIA_TYPE = ("unsupported-media-type", 415, "Unsupported media type", "The body's content type is not accepted here, or an uploaded file is not audio Fount can read (MP3, AAC/M4A, FLAC, Ogg Vorbis, WAV).");
    DEVICE_LIMIT = ("device-limit-reached", 409, "Device limit reached", "The customer already has as many active devices as the store allows (`limit`). The customer removes one of them (`DELETE /v1/me/devices/{device}`, or the widget's account view), or the store revokes one.");
    DEVICE_REMOVAL_TOO_SOON = ("device-removal-too-soon", 429, "Device removal too soon", "The store allows one device removal per customer every `wait_seconds`; the next is allowed at `next_removal_at` (seconds since the epoch, also in `Retry-After`). The store itself can still revoke a device.");
    DEVICE_NOT_REGISTERED = ("device-not-registered", 403, "Device not registered", "The device named is not an active device of this customer. Register it first, or it was revoked.");
    NOT_ENTITLED = ("not-entitled", 403, "Not entitled", "The customer has no entitlement to this title. The store grants one through `POST /v1/entitlements` after a purchase.");
    RENTAL_ENDED = ("rental-ended", 403, "Rental ended", "The customer's rental of this title has ended.");
    LICENSE_NOT_ACTIVE = ("license-not-active", 409, "License not active", "The license was returned, revoked or has expired; it cannot be renewed or returned. `license_status` gives its state.");
    TITLE_WITHDRAWN = ("title-withdrawn", 409, "Title withdrawn", "The title is off sale: the store took it off, or the item it came from left its feed. Licenses already issued keep working.");
    FEED_PAUSED = ("feed-paused", 409, "Feed paused", "The feed is paused: resume it (`PATCH` with `status` `active`) before syncing it.");
    SUBSCRIPTION_GONE = ("subscription-gone", 410, "Subscription gone", "The WebSub callback names no subscription of Fount's (its feed was deleted, or subscribed again with a new callback): the hub should stop pushing to it.");
    CONFLICT = ("conflict", 409, "Conflict", "The request conflicts with a concurrent change. Retry it.");
    INTERNAL = ("internal", 500, "Internal error", "Something failed on the server. It has been logged; the request can be retried.");
    UNAVAILABLE = ("unavailable", 503, "Service unavailable", "A dependency of the server (its database) is not answering, or cannot take writes. Retry after the number of seconds in `Retry-After`.");
}

/// A problem details body (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `/problems/<slug>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Summary of the problem type.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// This occurrence.
    pub detail: String,
    /// Extension members (`limit`, `license_status`, `size`), and `request_id`: the id of
    /// the request, also in its `X-Request-Id` answer header and in the server's log lines.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// An error a handler returns. Boxed: errors are rare and results are everywhere.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ProblemType,
    detail: String,
    extensions: serde_json::Map<String, serde_json::Value>,
    /// The cause of an internal error, logged and never sent.
    cause: Option<String>,
    /// Extra response headers.
    headers: Vec<(header::HeaderName, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.kind.slug, self.0.detail)
    }
}

impl ApiError {
    /// A problem of `kind` with `detail`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        ApiError(Box::new(Inner {
            kind,
            detail: detail.into(),
            extensions: Default::default(),
            cause: None,
            headers: Vec::new(),
        }))
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.0.extensions.insert(key.into(), value.into());
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    /// An internal error: `cause` is logged, the client sees a generic detail.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(problem::INTERNAL, "the server failed to handle this request");
        e.0.cause = Some(cause.to_string());
        e
    }

    /// The error with its logged cause, for the operator's command line (never for a
    /// response, which keeps causes to the log).
    pub fn for_operator(&self) -> String {
        match &self.0.cause {
            Some(cause) => format!("{self} ({cause})"),
            None => self.to_string(),
        }
    }

    /// 404 for a resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(problem::NOT_FOUND, format!("no such {what}"))
    }

    /// 422 for a value.
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(problem::VALIDATION, detail)
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(problem::UNAUTHORIZED, detail)
    }

    /// The problem type.
    pub fn kind(&self) -> ProblemType {
        self.0.kind
    }

    /// The body.
    pub fn problem(&self) -> Problem {
        let e = &self.0;
        Problem {
            type_: format!("/problems/{}", e.kind.slug),
            title: e.kind.title,
            status: e.kind.status,
            detail: e.detail.clone(),
            extensions: e.extensions.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.kind.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.0.cause {
            tracing::error!(%cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        for (name, value) in &self.0.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.insert_header((name.clone(), value));
            }
        }
        if self.0.kind.slug == problem::UNAUTHORIZED.slug {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let mut body = self.problem();
        if let Some(id) = crate::observe::current_request_id() {
            body.extensions.insert("request_id".into(), id.into());
        }
        response.json(body)
    }
}

/// How long a client should wait before retrying when the database is unavailable, seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        use crate::db::Failure;
        match e.failure() {
            Failure::Conflict => ApiError::new(problem::CONFLICT, "a concurrent request changed the same data; retry"),
            Failure::Unavailable(why) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(problem::UNAVAILABLE, format!("{why}; retry later"))
                    .header(header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string())
            }
            Failure::Unstorable => ApiError::new(
                problem::INVALID_PARAMETER,
                "a value holds a character that cannot be stored (such as NUL)",
            ),
            Failure::Other => ApiError::internal(e),
        }
    }
}

impl From<crate::crypto::kek::KekError> for ApiError {
    fn from(e: crate::crypto::kek::KekError) -> Self {
        ApiError::internal(e)
    }
}

/// Maps query-string extractor errors to a 400 problem.
pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let detail = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => format!("the query string: {e}"),
        other => other.to_string(),
    };
    ApiError::new(problem::INVALID_PARAMETER, detail).into()
}

/// Maps path extractor errors to a 404 problem: a path that does not parse names nothing.
pub fn path_error(err: actix_web::error::PathError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    ApiError::new(problem::NOT_FOUND, err.to_string()).into()
}
