//! Request bodies: how long a client may take to send one, what becomes of the connection when
//! the answer goes out before the body was read, and reading a body whole within a limit.
//!
//! HTTP/1.1 lets a server answer before it has read the request body (a 401, a 404, a 413 over
//! the upload limit), but then it "MUST read the entire request message body or close the
//! connection after sending its response" (RFC 9112 §9.3). Left to itself, actix-http tries to
//! read on and discard such a body on a kept-alive connection, and in that state the
//! connection has been seen stuck: a chunked upload over the limit with the next request
//! right behind it is never answered, and the socket is never closed (actix/actix-web#2357,
//! #2632, #3182, #3967; `tests/api/connections.rs` reproduces it). [`BodyGuard`] always takes
//! the other branch of the rule: when a handler's answer is ready and the body was not read to
//! its end, the unread body is held until the answer has been written. Seeing it unread,
//! actix-http sends the answer with `Connection: close`, then lingers for the server's
//! client-disconnect time, discarding what the client still sends (closing with unread bytes
//! in the socket would make the kernel reset the connection, and the client could lose the
//! answer), and closes. The client's next request opens a new connection.
//!
//! A body that stalls is an error too: each read waits at most the body idle time
//! ([`Limits::body_idle`](crate::config::Limits)) for more bytes, then fails as
//! [`BodyError::Stalled`], which handlers answer with `408 request-timeout`. Without it, a
//! client that announces a body and never sends it holds a connection, and a file
//! descriptor, for as long as it likes.

use std::cell::RefCell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};

use crate::error::{ApiError, problem};

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// No bytes arrived for the body idle time.
    #[error("the request body stalled: no bytes for {0:?}")]
    Stalled(Duration),
    /// The body is larger than the endpoint accepts.
    #[error("the request body is over {0} bytes")]
    TooLarge(u64),
    /// The client closed the connection before the body's end.
    #[error("the request body ended early: {0}")]
    Incomplete(String),
    /// The body's framing is broken (a bad chunk, more bytes than announced).
    #[error("the request body is malformed: {0}")]
    Malformed(&'static str),
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Stalled(idle) => ApiError::new(
                problem::REQUEST_TIMEOUT,
                format!("no part of the request body arrived for {} s; send it without pauses", idle.as_secs()),
            ),
            BodyError::TooLarge(limit) => {
                ApiError::new(problem::PAYLOAD_TOO_LARGE, format!("the body is limited to {limit} bytes"))
                    .with("limit", limit)
            }
            BodyError::Incomplete(why) => ApiError::new(problem::INCOMPLETE_BODY, why),
            BodyError::Malformed(why) => ApiError::new(problem::MALFORMED_REQUEST, why),
        }
    }
}

/// Classifies an error of the payload stream that [`BodyGuard`] wraps.
pub fn classify(e: &PayloadError) -> BodyError {
    if let PayloadError::Io(io) = e
        && io.kind() == std::io::ErrorKind::TimedOut
        && let Some(idle) = io.get_ref().and_then(|inner| inner.downcast_ref::<StalledMarker>())
    {
        return BodyError::Stalled(idle.0);
    }
    match e {
        PayloadError::EncodingCorrupted => BodyError::Malformed("the body's chunked framing is malformed"),
        PayloadError::Overflow => BodyError::Malformed("the body is larger than its framing announced"),
        // actix-http reports a chunk it cannot parse as a connection that ended, too.
        PayloadError::Incomplete(_) => BodyError::Incomplete(
            "the body ended before it was complete: the connection closed, or its chunked framing broke".into(),
        ),
        other => BodyError::Incomplete(format!("the body could not be read: {other}")),
    }
}

/// Reads a whole body, at most `limit` bytes. The `Content-Length`, when given, is checked
/// first, so an oversized body is refused before any of it is read.
pub async fn read_to_end<S>(headers: &HeaderMap, payload: &mut S, limit: u64) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    if let Some(len) = content_length(headers)
        && len > limit
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| classify(&e))?;
        if u64::try_from(body.len().saturating_add(chunk.len())).unwrap_or(u64::MAX) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The request's `Content-Length`, if it has a valid one.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Whether a request carries a body at all.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING) || content_length(headers).is_some_and(|n| n > 0)
}

/// How long an unread body is held after an inner middleware's error: longer than it takes
/// to write an error and linger.
const HOLD_AFTER_ERROR: Duration = Duration::from_secs(10);

/// The middleware: watches each request body for stalls, and holds a body its handler left
/// unread until the answer is written, so that the connection is closed after it.
#[derive(Debug, Clone, Copy)]
pub struct BodyGuard {
    idle: Duration,
}

impl BodyGuard {
    /// A guard allowing `idle` between two parts of a body.
    pub fn new(idle: Duration) -> Self {
        BodyGuard { idle }
    }
}

impl<S, B> Transform<S, ServiceRequest> for BodyGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = BodyGuardService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyGuardService { service: Rc::new(service), idle: self.idle }))
    }
}

/// [`BodyGuard`] around one service.
pub struct BodyGuardService<S> {
    service: Rc<S>,
    idle: Duration,
}

impl<S, B> Service<ServiceRequest> for BodyGuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        if !has_body(req.headers()) {
            return Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) });
        }
        let body = Rc::new(RefCell::new(Watched { payload: Some(req.take_payload()), finished: false }));
        req.set_payload(Payload::Stream {
            payload: Box::pin(Reader { body: body.clone(), idle: self.idle, timer: None }),
        });
        Box::pin(async move {
            let result = service.call(req).await;
            let unread = {
                let mut body = body.borrow_mut();
                if body.finished { None } else { body.payload.take() }
            };
            let Some(unread) = unread else { return result.map(ServiceResponse::map_into_left_body) };
            match result {
                Ok(mut res) => {
                    res.response_mut().head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
                    Ok(res.map_body(|_, body| BoxBody::new(Holding { body, _unread: unread })).map_into_right_body())
                }
                // An inner middleware failed (actix answers it once this returns): there is
                // no response body to hold the unread body in, so a task holds it until
                // well after that answer has gone out.
                Err(e) => {
                    actix_web::rt::spawn(async move {
                        tokio::time::sleep(HOLD_AFTER_ERROR).await;
                        drop(unread);
                    });
                    Err(e)
                }
            }
        })
    }
}

/// A request body as the guard watches it.
struct Watched {
    payload: Option<Payload>,
    finished: bool,
}

/// The stream handlers read instead of the connection's payload.
struct Reader {
    body: Rc<RefCell<Watched>>,
    idle: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The error a stalled read yields, inside a `PayloadError::Io`; [`classify`] knows it.
#[derive(Debug)]
struct StalledMarker(Duration);

impl std::fmt::Display for StalledMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no part of the request body arrived for {:?}", self.0)
    }
}

impl std::error::Error for StalledMarker {}

impl Stream for Reader {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut body = this.body.borrow_mut();
        let Some(payload) = body.payload.as_mut() else { return Poll::Ready(None) };
        match Pin::new(payload).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                this.timer = None;
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                body.finished = true;
                body.payload = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        StalledMarker(idle),
                    ))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that holds its request's unread body until it has been sent: actix-http
    /// checks, when the answer ends, whether the request body is still wanted, and closes the
    /// connection if it is.
    pub struct Holding<B> {
        #[pin]
        body: B,
        _unread: Payload,
    }
}

impl<B: MessageBody> MessageBody for Holding<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().body.poll_next(cx)
    }
}
