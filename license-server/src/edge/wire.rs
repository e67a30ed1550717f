//! The last answers the HTTP layer gives by itself, in the API's own format.
//!
//! When a request cannot be parsed at all (a malformed request line or header, a broken
//! chunked body, a `Content-Length` beside a `Transfer-Encoding`, a head over actix-http's
//! 128 KiB or 96 headers), actix-http answers before any of Fount's code runs, with a bare
//! `400 Bad Request` or `431 Request Header Fields Too Large`: no body, no media type, and no
//! hook to change that. Every other error of the API is RFC 9457 problem+json, and a client
//! should not need a second way to read errors for these.
//!
//! [`ProblemWire`] sits between actix-http and the socket and rewrites exactly those two
//! answers into problem+json. It can recognise them without parsing HTTP: actix-http writes
//! them, and only them, with `content-length: 0` as the first header, always as the last
//! thing on a connection it is about to close; Fount's own 400s and 431s always carry a
//! problem body. A write that does not begin with one of those exact status lines passes
//! through untouched, so nothing else on the wire can be changed by this.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{ProblemType, problem};

/// The bare answers actix-http writes itself, and what each means.
const BARE: &[(&[u8], ProblemType, &str)] = &[
    (
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        problem::MALFORMED_REQUEST,
        "the request is not valid HTTP/1.1: its request line, a header, or its body's framing is malformed",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        problem::HEADERS_TOO_LARGE,
        "the request's head is over 128 KiB, or has more than 96 headers",
    ),
];

/// A connection whose bare parser errors are sent as problem+json (see the module's notes).
pub struct ProblemWire<T> {
    inner: T,
    /// A replacement being written: the bytes, and how many have gone out.
    replacing: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemWire<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        ProblemWire { inner, replacing: None }
    }
}

/// The body of a problem+json answer of `kind`, with no members but the standard ones.
pub(crate) fn problem_body(kind: ProblemType, detail: &str) -> String {
    serde_json::json!({
        "type": format!("/problems/{}", kind.slug),
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    })
    .to_string()
}

/// The reason phrase of a status code ("" for one without).
pub(crate) fn reason(status: u16) -> &'static str {
    actix_web::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// The problem+json answer standing in for a bare one.
fn replacement(kind: ProblemType, detail: &str) -> Vec<u8> {
    let body = problem_body(kind, detail);
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\ndate: {}\r\n\r\n{body}",
        kind.status,
        reason(kind.status),
        body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
    )
    .into_bytes()
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemWire<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemWire<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none()
            && let Some((_, kind, detail)) = BARE.iter().find(|(prefix, _, _)| buf.starts_with(prefix))
        {
            this.replacing = Some((replacement(*kind, detail), 0));
        }
        let Some((bytes, sent)) = this.replacing.as_mut() else { return Pin::new(&mut this.inner).poll_write(cx, buf) };
        // Write the whole replacement before telling actix-http its bare answer went out.
        while let Some(rest) = bytes.get(*sent..).filter(|r| !r.is_empty()) {
            match Pin::new(&mut this.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent = sent.saturating_add(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt as _;

    use super::*;

    async fn through(written: &[u8]) -> Vec<u8> {
        let mut out = ProblemWire::new(Vec::new());
        out.write_all(written).await.unwrap();
        out.inner
    }

    #[tokio::test]
    async fn only_the_bare_parser_answers_are_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(through(bare).await).unwrap();
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\n"), "{out}");
        let body: serde_json::Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["type"], "/problems/malformed-request");
        let too_big = through(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n").await;
        assert!(String::from_utf8(too_big).unwrap().contains("/problems/headers-too-large"));
        // Fount's own answers, and everything else, pass as they are.
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\ncontent-type: application/problem+json\r\n\r\n{}"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"some body bytes",
        ] {
            assert_eq!(through(other).await, other);
        }
    }
}
