//! The Fount HTTP API as the client speaks it: building requests, reading responses and
//! problems. Pure functions; sending is the host's.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{ClientError, ServerProblem};
use super::host::{HttpHeader, HttpRequest, HttpResponse};

/// A license as the server issues it (`POST /v1/me/licenses`, `…/renew`).
#[derive(Debug, Deserialize)]
pub(crate) struct IssuedLicense {
    pub license: String,
}

/// What the client needs of a status document: whose it is, and the status.
#[derive(Debug, Deserialize)]
pub(crate) struct StatusView {
    pub id: String,
    pub status: crate::LicenseStatus,
}

/// A device as the server returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct DeviceView {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub created_at: i64,
}

/// `GET /v1/me/devices`.
#[derive(Debug, Deserialize)]
pub(crate) struct MyDevices {
    pub items: Vec<DeviceView>,
    pub limit: i64,
    pub removal_wait_seconds: i64,
    pub next_removal_at: Option<i64>,
}

/// `GET /v1/me/titles`.
#[derive(Debug, Deserialize)]
pub(crate) struct Library {
    pub items: Vec<LibraryItemView>,
}

/// A title of the library as the server returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct LibraryItemView {
    pub title: String,
    pub name: String,
    pub author: Option<String>,
    pub cover: Option<String>,
    pub manifest_url: String,
    pub access: crate::client::Access,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub granted_at: i64,
}

/// `PUT /v1/me/devices/{device}/name`.
#[derive(Serialize)]
pub(crate) struct Rename<'a> {
    pub name: &'a str,
}

/// `GET /v1/me/positions/{title}`, and the answer to a save.
#[derive(Deserialize)]
pub(crate) struct PositionView {
    pub seconds: Option<f64>,
    pub changed_at: Option<i64>,
}

/// `PUT /v1/me/positions/{title}`.
#[derive(Serialize)]
pub(crate) struct SavePosition {
    pub seconds: f64,
    pub changed_at: i64,
}

/// A bookmark as the server keeps it (`GET /v1/me/bookmarks/{title}`).
#[derive(Deserialize)]
pub(crate) struct BookmarkView {
    pub id: String,
    pub seconds: f64,
    pub note: Option<String>,
    pub created_at: i64,
    pub changed_at: i64,
    pub deleted: bool,
}

/// `GET /v1/me/bookmarks/{title}`.
#[derive(Deserialize)]
pub(crate) struct BookmarkList {
    pub items: Vec<BookmarkView>,
}

/// `PUT /v1/me/bookmarks/{title}/{bookmark}`.
#[derive(Serialize)]
pub(crate) struct SaveBookmark<'a> {
    pub seconds: f64,
    pub note: Option<&'a str>,
    pub created_at: i64,
    pub changed_at: i64,
    pub deleted: bool,
}

fn header(name: &str, value: &str) -> HttpHeader {
    HttpHeader { name: name.into(), value: value.into() }
}

/// A GET.
pub(crate) fn get(url: String) -> HttpRequest {
    HttpRequest { method: "GET".into(), url, headers: vec![header("accept", "application/json")], body: Vec::new() }
}

/// A GET of bytes `[start, end)`.
pub(crate) fn get_range(url: String, start: u64, end: u64) -> HttpRequest {
    let last = end.saturating_sub(1);
    HttpRequest {
        method: "GET".into(),
        url,
        headers: vec![header("range", &format!("bytes={start}-{last}"))],
        body: Vec::new(),
    }
}

/// `POST /v1/me/devices`.
#[derive(Serialize)]
pub(crate) struct RegisterDevice<'a> {
    pub jwk: &'a crate::Jwk,
    pub name: &'a str,
}

/// `POST /v1/me/licenses`.
#[derive(Serialize)]
pub(crate) struct Acquire<'a> {
    pub title: &'a str,
    pub device: &'a str,
}

/// An empty JSON object, for POSTs without parameters.
#[derive(Serialize)]
pub(crate) struct Empty {}

/// A POST of JSON with a customer token.
pub(crate) fn post<B: Serialize>(url: String, token: &str, body: &B) -> HttpRequest {
    with_body("POST", url, token, body)
}

/// A PUT of JSON with a customer token.
pub(crate) fn put<B: Serialize>(url: String, token: &str, body: &B) -> HttpRequest {
    with_body("PUT", url, token, body)
}

/// A GET or DELETE with a customer token.
pub(crate) fn authorized(method: &str, url: String, token: &str) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        headers: vec![header("accept", "application/json"), header("authorization", &format!("Bearer {token}"))],
        body: Vec::new(),
    }
}

fn with_body<B: Serialize>(method: &str, url: String, token: &str, body: &B) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        headers: vec![
            header("content-type", "application/json"),
            header("accept", "application/json"),
            header("authorization", &format!("Bearer {token}")),
        ],
        // Serialising these plain structs cannot fail.
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The body of a successful response, or the problem it carries.
pub(crate) fn ok_body(response: HttpResponse) -> Result<Vec<u8>, ClientError> {
    if (200..300).contains(&response.status) { Ok(response.body) } else { Err(problem(&response)) }
}

/// A successful JSON response, parsed.
pub(crate) fn json<T: DeserializeOwned>(response: HttpResponse, what: &'static str) -> Result<T, ClientError> {
    serde_json::from_slice(&ok_body(response)?).map_err(|_| ClientError::BadResponse(what))
}

/// The problem in an error response (RFC 9457), or a generic one when there is none.
pub(crate) fn problem(response: &HttpResponse) -> ClientError {
    ClientError::Server(ServerProblem::from_response(response.status, &response.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn problems_are_read() {
        let r = response(
            409,
            r#"{"type":"/problems/license-not-active","title":"t","status":409,"detail":"the license is revoked","license_status":"revoked"}"#,
        );
        let ClientError::Server(p) = problem(&r) else { panic!() };
        assert_eq!((p.slug.as_str(), p.license_status.as_deref()), ("license-not-active", Some("revoked")));
        let ClientError::Server(p) = problem(&response(502, "<html>bad gateway</html>")) else { panic!() };
        assert_eq!((p.status, p.slug.as_str(), p.detail.as_str()), (502, "", "HTTP 502"));
        assert!(matches!(json::<IssuedLicense>(response(200, "{}"), "x"), Err(ClientError::BadResponse("x"))));
    }

    #[test]
    fn range_header_is_inclusive() {
        let r = get_range("u".into(), 10, 20);
        assert_eq!(r.headers[0].value, "bytes=10-19");
    }
}
