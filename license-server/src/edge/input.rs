//! Checks on the request line and headers, before routing.
//!
//! * A URI over [`MAX_URI_BYTES`] is `414 uri-too-long`; headers over [`MAX_HEADER_BYTES`] in
//!   all are `431 headers-too-large`. (actix-http itself refuses heads over 128 KiB, or with
//!   more than 96 headers, before any of this runs.)
//! * A NUL character, written `%00` in the path or the query, is `400 invalid-parameter`.
//!   No id or text of Fount's may hold one, and PostgreSQL cannot store one at all: refused
//!   here, it can never reach a query and come back as a 500. JSON bodies get the same rule
//!   in [`super::json`].

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use futures_util::future::LocalBoxFuture;

use crate::error::{ApiError, problem};

/// Longest request target accepted, bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes accepted in all (names and values).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Why a request line or its headers are refused, if they are.
pub fn check(req: &ServiceRequest) -> Result<(), ApiError> {
    let uri = req.uri();
    let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > MAX_URI_BYTES {
        return Err(ApiError::new(
            problem::URI_TOO_LONG,
            format!("the request target is {target_len} bytes; at most {MAX_URI_BYTES} are accepted"),
        )
        .with("limit", MAX_URI_BYTES));
    }
    let header_bytes: usize = req.headers().iter().map(|(n, v)| n.as_str().len().saturating_add(v.len())).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            problem::HEADERS_TOO_LARGE,
            format!("the headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        )
        .with("limit", MAX_HEADER_BYTES));
    }
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return Err(ApiError::new(
            problem::INVALID_PARAMETER,
            "the path or query holds a NUL character (%00), which no id or text may contain",
        ));
    }
    Ok(())
}

/// Whether percent-encoded text decodes to a NUL.
fn has_nul(encoded: &str) -> bool {
    encoded.as_bytes().windows(3).any(|w| w == b"%00")
}

/// The middleware running [`check`] on every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputGuard;

impl<S, B> Transform<S, ServiceRequest> for InputGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = InputGuardService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(InputGuardService { service: Rc::new(service) }))
    }
}

/// [`InputGuard`] around one service.
pub struct InputGuardService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for InputGuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Err(e) = check(&req) {
            let response = actix_web::ResponseError::error_response(&e);
            return Box::pin(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let service = self.service.clone();
        Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_anywhere_in_encoded_text() {
        assert!(has_nul("/pub/a%00/manifest.json"));
        assert!(has_nul("customer=%00"));
        assert!(!has_nul("/pub/a%2500/manifest.json"));
        assert!(!has_nul("title=100%25"));
    }
}
