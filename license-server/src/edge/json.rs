//! The JSON extractor every handler uses, in place of actix's: the rules of a request body, in
//! one place.
//!
//! A body must be a JSON *object* (serde would otherwise read a struct from an array, and
//! `PATCH /v1/store` with `[…]` would succeed), sent as `application/json` (or a `+json`
//! type), within [`Limits::json_bytes`](crate::config::Limits), and hold no NUL character in
//! any string (`\u0000`), which no text of Fount's may contain and PostgreSQL cannot store.
//! Each failure is a problem that names it: 400 `malformed-json` for bad syntax, 422
//! `invalid-body` for a body that does not fit the schema, 413, 415, and 408 or 400 when the
//! body stalls or breaks off (see [`super::body`]).
//!
//! [`MaybeJson`] is for the few endpoints whose body is optional: no body at all, or `null`,
//! means `None`, and any other body must be valid. (actix's `Option<Json<T>>` turns a malformed body
//! into `None`, which is how a token endpoint once minted a default token from garbage.)

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::body::{content_length, read_to_end};
use crate::error::{ApiError, problem};
use crate::state::AppState;

/// A JSON object body, parsed into `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// An optional JSON object body: `None` when the request has no body.
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

fn limit(req: &HttpRequest) -> u64 {
    let bytes = req
        .app_data::<web::Data<AppState>>()
        .map_or_else(|| crate::config::Limits::default().json_bytes, |s| s.settings.limits.json_bytes);
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => Ok(()),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        _ => Err(ApiError::new(problem::UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")),
    }
}

async fn read_bytes(headers: &HeaderMap, mut payload: Payload, limit: u64) -> Result<actix_web::web::Bytes, ApiError> {
    check_content_type(headers)?;
    Ok(read_to_end(headers, &mut payload, limit).await?)
}

/// Parses a request body by the rules above.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::new(problem::MALFORMED_JSON, "the body is empty; send a JSON object")),
        Some(b'{') => {}
        // Valid JSON of another kind is a schema mismatch; anything else is bad syntax.
        Some(_) => {
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::new(problem::INVALID_BODY, "the body must be a JSON object, {…}"),
                Err(e) => ApiError::new(problem::MALFORMED_JSON, e.to_string()),
            });
        }
    }
    if escapes_nul(bytes) {
        return Err(ApiError::new(problem::INVALID_BODY, "no text may contain a NUL character (\\u0000)"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            ApiError::new(problem::INVALID_BODY, e.to_string())
        } else {
            ApiError::new(problem::MALFORMED_JSON, e.to_string())
        }
    })
}

/// Whether JSON text holds the escape `\u0000`. A backslash escapes the byte after it, so
/// `\\u0000` (a backslash, then the text `u0000`) is not one.
fn escapes_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        if b == b'\\' {
            if json.get(i.saturating_add(1)) == Some(&b'u')
                && json.get(i.saturating_add(2)..i.saturating_add(6)) == Some(b"0000")
            {
                return true;
            }
            i = i.saturating_add(2);
        } else {
            i = i.saturating_add(1);
        }
    }
    false
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (headers, payload, limit) = (req.headers().clone(), payload.take(), limit(req));
        Box::pin(async move { parse(&read_bytes(&headers, payload, limit).await?).map(Json) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for MaybeJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (headers, payload, limit) = (req.headers().clone(), payload.take(), limit(req));
        let empty = !headers.contains_key(header::TRANSFER_ENCODING) && content_length(&headers).is_none_or(|n| n == 0);
        Box::pin(async move {
            if empty {
                return Ok(MaybeJson(None));
            }
            let bytes = read_bytes(&headers, payload, limit).await?;
            // JSON `null` says "nothing" as plainly as no body.
            if bytes.trim_ascii() == b"null" {
                return Ok(MaybeJson(None));
            }
            parse(&bytes).map(|v| MaybeJson(Some(v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        name: Option<String>,
    }

    #[test]
    fn objects_only_and_no_nul() {
        assert!(parse::<Body>(br#" {"name":"a"}"#).is_ok());
        assert_eq!(parse::<Body>(br#"["a"]"#).unwrap_err().kind().slug, "invalid-body");
        assert_eq!(parse::<Body>(b"  ").unwrap_err().kind().slug, "malformed-json");
        assert_eq!(parse::<Body>(b"not json").unwrap_err().kind().slug, "malformed-json");
        assert_eq!(parse::<Body>(b"42").unwrap_err().kind().slug, "invalid-body");
        assert_eq!(parse::<Body>(br#"{"name":"a\u0000"}"#).unwrap_err().kind().slug, "invalid-body");
        assert!(parse::<Body>(br#"{"name":"a\\u0000"}"#).is_ok());
        assert_eq!(parse::<Body>(br#"{"name":"a\\\u0000"}"#).unwrap_err().kind().slug, "invalid-body");
        assert_eq!(parse::<Body>(br#"{"name": }"#).unwrap_err().kind().slug, "malformed-json");
        assert_eq!(parse::<Body>(br#"{"colour": 1}"#).unwrap_err().kind().slug, "invalid-body");
    }
}
