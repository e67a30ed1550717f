//! The first thing every request meets: its id, its span, its timing, its log line.
//!
//! **The request id** is the client's `X-Request-Id` when it is a short token of safe
//! characters (a proxy in front, such as nginx's `$request_id`, then names the request the
//! same way in both logs), otherwise one made here: this process's random prefix and a
//! counter, unique across replicas without a random draw per request. The answer carries it
//! in `X-Request-Id`, problem details carry it as `request_id`, and every log line written
//! while the request runs carries it as a field of the `request` span.
//!
//! **The access log** is one `fount::http` line per answer (method, route, path without its
//! query, status, milliseconds, peer). Query strings are left out: they are the one place a
//! caller might put something it should not.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument as _;

use super::metrics::{HTTP_DURATION, HTTP_REQUESTS};

/// The header naming a request.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client.
const MAX_CLIENT_ID: usize = 64;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id, in the request's extensions and in the task that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The id of the request being answered on this task, if any (problem details read it).
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// The id for a request: the client's, if it is one we may echo, else a new one.
fn request_id(req: &ServiceRequest) -> RequestId {
    let given = req.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| {
        !v.is_empty()
            && v.len() <= MAX_CLIENT_ID
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    });
    match given {
        Some(v) => RequestId(v.to_owned()),
        None => RequestId(new_id()),
    }
}

/// `<16 hex digits of this process>-<counter>`.
fn new_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The middleware (see the module's documentation). Wrap it last, so it runs first and sees
/// every answer, including the other middlewares' refusals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observe;

impl<S, B> Transform<S, ServiceRequest> for Observe
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = ObserveService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ObserveService { service: Rc::new(service) }))
    }
}

/// [`Observe`] around one service.
pub struct ObserveService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for ObserveService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let id = request_id(&req);
        req.extensions_mut().insert(id.clone());
        let span = tracing::info_span!("request", request_id = %id.0);
        let answer = CURRENT.scope(id.clone(), self.service.call(req)).instrument(span.clone());
        Box::pin(async move {
            // Every middleware inside and every handler answer their refusals as responses; an
            // error here is actix's own, answered by actix, and only counted.
            let mut res = match answer.await {
                Ok(res) => res,
                Err(e) => {
                    let status = e.as_response_error().status_code().as_u16().to_string();
                    let labels = [("route", "unmatched".to_owned()), ("method", String::new()), ("status", status)];
                    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
                    return Err(e);
                }
            };
            if let Ok(value) = HeaderValue::from_str(&id.0) {
                res.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let elapsed = started.elapsed();
            let request = res.request();
            let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
            let method = request.method().as_str().to_owned();
            let status = res.status().as_u16();
            let labels = [("route", route.clone()), ("method", method.clone()), ("status", status.to_string())];
            metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
            metrics::histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
            let peer = request.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            span.in_scope(|| {
                tracing::info!(
                    target: "fount::http",
                    %method,
                    path = request.path(),
                    %route,
                    status,
                    // Whole microseconds, so the line reads 0.418 rather than 0.41839999.
                    ms = f64::from(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)) / 1000.0,
                    %peer,
                    "answered"
                );
            });
            Ok(res)
        })
    }
}
