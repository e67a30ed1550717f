//! The origin: sealed tracks sent from the page cache to the socket with `sendfile(2)`, on a
//! listener of their own (`FOUNT_ORIGIN_LISTEN`).
//!
//! ## Why a listener of its own
//!
//! The API serves sealed tracks too (`/pub/{title}/tracks/{file}`), but through actix-http,
//! whose encoder copies every body into its write buffer: a byte read from the file is copied
//! three times (`pread` into a buffer, into actix's buffer, into the socket), where a static
//! file server hands the kernel the file and copies nothing. For a 256 KiB range that is most
//! of the cost of the request. The origin speaks just enough HTTP/1.1 to serve files, and
//! sends each body with `sendfile`: the same work nginx does for the same request.
//!
//! It is a CDN origin for the asset folder: it serves a sealed file by name, `/<name>`, as a
//! CDN in front of the assets serves it, so `FOUNT_ASSETS_PUBLIC_URL` pointed at it makes
//! manifests link tracks there. Sealed files are public by design (noise without a license)
//! and their names are never reused, so a file is cached for good. Like a CDN or a bucket's
//! public endpoint, and unlike the API's route, it does not ask the database whether a
//! file's title is published: it serves every sealed file in the folder to whoever has its
//! name, a random UUID linked only from manifests.
//!
//! ## What it answers
//!
//! * `GET` and `HEAD` of `/<name>` for a sealed file (a name the server makes, ending
//!   `.fsa`): 200, or 206 for one byte range, 304 for a current `If-None-Match`, 416 for a
//!   range outside the file ([`crate::assets::conditional`], as the API decides). The
//!   validator is the file's name and length (names are never reused for other bytes), the
//!   same on every host that has the file. Any other path:
//!   404, so covers, transcripts, staged files and anything else in the folder stay private
//!   to the API.
//! * `OPTIONS`: a CORS preflight, 204; every answer allows any origin, as the API's public
//!   routes do.
//! * Any other method: 405 with `Allow`. Errors are RFC 9457 problem+json, as everywhere.
//!
//! ## Guarantees
//!
//! * No request body is ever read. A request announcing one (any `Transfer-Encoding`, a
//!   `Content-Length` other than 0) is answered 400 and its connection closed, so no body is
//!   ever taken for a request head (no smuggling behind a proxy that disagrees).
//! * A head is at most [`head::MAX_HEAD`] bytes and must arrive within the server's head
//!   timeout; an idle kept-alive connection is closed after the keep-alive timeout; a client
//!   that takes none of an answer for the body timeout is disconnected. Pipelined requests are
//!   answered in order.
//! * At a graceful shutdown, idle connections close at once; an answer being sent finishes.
//! * A file is read by the kernel into the socket. Like nginx without `aio`, a file not in the
//!   page cache is read from disk on the worker thread: the origin is for a local folder
//!   (`FOUNT_ASSETS` a bucket has its own HTTP: point `FOUNT_ASSETS_PUBLIC_URL` at it). Each
//!   `sendfile` call is at most [`MAX_SENDFILE`], so a cold read holds a worker, which the API
//!   shares, for one such piece at a time.
//! * The origin takes at most half of the server's connections ([`Origin::new`]): idle or slow
//!   clients of the origin can never take every connection the API needs. Past that, a new
//!   connection is closed at once.

pub mod head;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_server::GracefulShutdownSignal;
use tokio::io::{AsyncReadExt as _, Interest};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use self::head::{Head, MAX_HEAD, Method, Parsed};
use crate::api::assets::SEALED_MEDIA_TYPE;
use crate::assets::conditional::{Answer, Conditions, content_range};
use crate::edge::wire::{problem_body, reason};
use crate::error::{ProblemType, problem};

/// Answers the origin gave, by status.
pub const ORIGIN_RESPONSES: &str = "fount_origin_responses_total";
/// Body bytes the origin sent.
pub const ORIGIN_BYTES: &str = "fount_origin_sent_bytes_total";

/// How long a worker keeps a file open before opening it again (see [`Worker`]).
const OPEN_FOR: Duration = Duration::from_secs(5);

/// The most files a worker keeps open (counted in the server's file budget).
pub const OPEN_FILES: usize = 64;

/// The most a single `sendfile` call is asked for: a file not in the page cache is read from
/// disk during the call, on a worker the API shares, so one call reads at most this much.
/// (As large as nginx's `sendfile_max_chunk`, 2 MiB, or as small as 512 KiB, changed nothing
/// in `scripts/bench.sh serving`.)
pub const MAX_SENDFILE: usize = 512 * 1024;

/// The headers every answer about a file carries besides its own.
const CORS: &str = "access-control-allow-origin: *\r\n\
                    access-control-expose-headers: content-range, content-length, etag, accept-ranges\r\n";

/// The origin's folder and timeouts.
#[derive(Debug, Clone)]
pub struct Origin {
    dir: PathBuf,
    head_timeout: Duration,
    keep_alive: Duration,
    write_idle: Duration,
    max_connections: usize,
    connections: Arc<AtomicUsize>,
}

impl Origin {
    /// An origin serving the sealed files of `dir`, with the server's limits: `head_timeout`
    /// for a request's head, `keep_alive` for an idle connection (zero: one request per
    /// connection), `write_idle` for a client that takes nothing of an answer, and at most
    /// half of `server_connections`, the server's own limit, open at once.
    pub fn new(
        dir: PathBuf,
        head_timeout: Duration,
        keep_alive: Duration,
        write_idle: Duration,
        server_connections: usize,
    ) -> Self {
        Origin {
            dir,
            head_timeout,
            keep_alive,
            write_idle,
            max_connections: (server_connections / 2).max(1),
            connections: Arc::default(),
        }
    }

    /// The origin as one worker thread serves it, with what that thread keeps between
    /// requests (open files, the date, counters); made on the thread that uses it.
    pub fn worker(&self) -> Rc<Worker> {
        Rc::new(Worker {
            origin: self.clone(),
            files: RefCell::new(HashMap::new()),
            date: RefCell::new((0, String::new())),
            counters: RefCell::new(HashMap::new()),
        })
    }
}

/// One worker thread's origin (see [`Origin::worker`]).
///
/// It keeps files open, as nginx's `open_file_cache` does: a file is opened and its length
/// and validator read once per [`OPEN_FOR`], not once per request. Sealed files never change
/// under their name, so the only effect is that a removed file is still served for up to
/// that long.
#[derive(Debug)]
pub struct Worker {
    origin: Origin,
    files: RefCell<HashMap<String, Opened>>,
    date: RefCell<(u64, String)>,
    counters: RefCell<HashMap<u16, metrics::Counter>>,
}

/// An open sealed file, its length and its validator.
#[derive(Debug, Clone)]
struct Opened {
    file: Rc<File>,
    size: u64,
    etag: Rc<str>,
    at: Instant,
}

impl Worker {
    /// Serves one connection until the client closes it, a limit closes it, or the server
    /// shuts down. Failures of the connection itself (resets, timeouts) end it quietly: they
    /// are the client's.
    pub async fn serve(self: Rc<Self>, mut io: TcpStream, shutdown: GracefulShutdownSignal) {
        let connections = &self.origin.connections;
        if connections.fetch_add(1, Ordering::AcqRel) >= self.origin.max_connections {
            connections.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let _open = Counted(connections);
        let _ = io.set_nodelay(true);
        let mut buf = Vec::with_capacity(1024);
        let mut first = true;
        loop {
            let next = self.next_head(&mut io, &mut buf, first, &shutdown).await;
            first = false;
            let keep = match next {
                Ok(Next::Head(head)) => self.answer(&io, &head).await,
                Ok(Next::Closed) | Err(_) => return,
                Ok(Next::Refuse(kind, detail)) => {
                    let _ = self.problem(&io, kind, detail, "", Reply::CLOSING).await;
                    Ok(false)
                }
            };
            match keep {
                Ok(true) => {}
                Ok(_) => return linger(io).await,
                Err(_) => return,
            }
        }
    }

    /// Reads until `buf` starts with a whole head. A connection's first head, and the rest of
    /// a head once its first byte came, must arrive within the head timeout; before that, an
    /// idle kept-alive connection waits for the keep-alive timeout or the server's shutdown.
    async fn next_head(
        &self,
        io: &mut TcpStream,
        buf: &mut Vec<u8>,
        first: bool,
        shutdown: &GracefulShutdownSignal,
    ) -> io::Result<Next> {
        let mut deadline = first.then(|| after(self.origin.head_timeout));
        loop {
            if !buf.is_empty() {
                match head::parse(buf) {
                    Parsed::Complete(_, used) if used > MAX_HEAD => {
                        return Ok(Next::Refuse(problem::HEADERS_TOO_LARGE, "the request's head is too large"));
                    }
                    Parsed::Complete(head, used) => {
                        buf.drain(..used);
                        return Ok(Next::Head(head));
                    }
                    Parsed::Partial if buf.len() < MAX_HEAD => {}
                    Parsed::Partial | Parsed::TooManyFields => {
                        return Ok(Next::Refuse(problem::HEADERS_TOO_LARGE, "the request's head is too large"));
                    }
                    Parsed::Malformed(why) => return Ok(Next::Refuse(problem::MALFORMED_REQUEST, why)),
                }
                deadline.get_or_insert_with(|| after(self.origin.head_timeout));
            }
            buf.reserve(2048);
            let idle = buf.is_empty();
            let read = async {
                match deadline {
                    Some(at) => timeout_at(at, io.read_buf(buf)).await,
                    None => timeout(self.origin.keep_alive, io.read_buf(buf)).await,
                }
            };
            tokio::select! {
                read = read => match read {
                    Ok(Ok(0)) => return Ok(Next::Closed),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) if idle => return Ok(Next::Closed),
                    Err(_) => return Ok(Next::Refuse(problem::REQUEST_TIMEOUT, "the request's head did not arrive in time")),
                },
                () = shutdown.notified(), if idle => return Ok(Next::Closed),
            }
        }
    }

    /// Answers one request; whether the connection may carry another.
    async fn answer(&self, io: &TcpStream, head: &Head) -> io::Result<bool> {
        let keep = head.keep_alive && !self.origin.keep_alive.is_zero();
        let reply = Reply { keep, http10: head.http10, body: head.method != Method::Head };
        if head.has_body {
            let reply = reply.closing();
            self.problem(io, problem::MALFORMED_REQUEST, "the origin takes no request body", "", reply).await?;
            return Ok(false);
        }
        match head.method {
            Method::Options => {
                let extra = "access-control-allow-methods: GET, HEAD\r\n\
                             access-control-allow-headers: range, if-none-match, if-range\r\n\
                             access-control-max-age: 3600\r\n";
                let head = self.response_head(204, &format!("{CORS}{extra}"), reply);
                send_all(io, head.as_bytes(), self.origin.write_idle).await?;
                self.count(204, 0);
                return Ok(reply.keep);
            }
            Method::Other => {
                let allow = "allow: GET, HEAD, OPTIONS\r\n";
                self.problem(io, problem::METHOD_NOT_ALLOWED, "the origin serves files: GET or HEAD", allow, reply)
                    .await?;
                return Ok(reply.keep);
            }
            Method::Get | Method::Head => {}
        }
        let Some(file) = head.file.as_deref().and_then(|name| self.open(name).transpose()) else {
            self.problem(io, problem::NOT_FOUND, "no sealed file has this name", "", reply).await?;
            return Ok(reply.keep);
        };
        let Opened { file, size, etag, .. } = match file {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "the origin cannot open a sealed file");
                self.problem(io, problem::INTERNAL, "the file cannot be read", "", reply.closing()).await?;
                return Ok(false);
            }
        };
        let conditions = Conditions {
            if_none_match: head.if_none_match.as_deref(),
            if_range: head.if_range.as_deref(),
            range: head.range.as_deref(),
        };
        let cache = format!("etag: {etag}\r\ncache-control: public, max-age=31536000, immutable\r\n");
        let (status, start, length, range) = match Answer::of(size, &etag, conditions) {
            Answer::NotModified => {
                let head = self.response_head(304, &format!("{CORS}{cache}"), reply);
                send_all(io, head.as_bytes(), self.origin.write_idle).await?;
                self.count(304, 0);
                return Ok(reply.keep);
            }
            Answer::Unsatisfiable => {
                let extra = format!("content-range: bytes */{size}\r\n");
                let detail = format!("the file is {size} bytes; the range is outside it");
                self.problem(io, problem::RANGE_NOT_SATISFIABLE, &detail, &extra, reply).await?;
                return Ok(reply.keep);
            }
            Answer::Whole => (200, 0, size, String::new()),
            Answer::Part { start, length } => {
                (206, start, length, format!("content-range: {}\r\n", content_range(start, length, size)))
            }
        };
        let fields = format!(
            "{CORS}{cache}{range}accept-ranges: bytes\r\ncontent-type: {SEALED_MEDIA_TYPE}\r\ncontent-length: {length}\r\n"
        );
        send_all(io, self.response_head(status, &fields, reply).as_bytes(), self.origin.write_idle).await?;
        let sent = if reply.body { length } else { 0 };
        if sent > 0 {
            send_file(io, &file, start, length, self.origin.write_idle).await?;
        }
        self.count(status, sent);
        Ok(reply.keep)
    }

    /// The sealed file `name` with its length and validator; `None` if there is none.
    fn open(&self, name: &str) -> io::Result<Option<Opened>> {
        let now = Instant::now();
        if let Some(kept) = self.files.borrow().get(name).filter(|o| now.duration_since(o.at) < OPEN_FOR) {
            return Ok(Some(kept.clone()));
        }
        let file = match File::open(self.origin.dir.join(name)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.files.borrow_mut().remove(name);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let opened = Opened {
            file: Rc::new(file),
            size: meta.len(),
            // Names are never reused for other bytes: the name and length are a strong
            // validator, the same on every host that has the file.
            etag: format!("\"{name}-{:x}\"", meta.len()).into(),
            at: now,
        };
        // Expired files are closed here, at every miss, so a removed file's descriptor does
        // not outlive it for long whatever is asked next.
        let mut files = self.files.borrow_mut();
        files.retain(|_, o| now.duration_since(o.at) < OPEN_FOR);
        if files.len() >= OPEN_FILES {
            files.clear();
        }
        files.insert(name.to_owned(), opened.clone());
        Ok(Some(opened))
    }

    /// A status line and `fields` (each ending in CRLF), with the date and the connection's
    /// fate.
    fn response_head(&self, status: u16, fields: &str, reply: Reply) -> String {
        let connection = match (reply.keep, reply.http10) {
            (false, _) => "connection: close\r\n",
            (true, false) => "",
            (true, true) => "connection: keep-alive\r\n",
        };
        let mut date = self.date.borrow_mut();
        // One reading of the clock for both, so the date kept is the second it is kept for.
        let now = std::time::SystemTime::now();
        let second = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if date.0 != second {
            *date = (second, httpdate::fmt_http_date(now));
        }
        format!("HTTP/1.1 {status} {}\r\n{fields}{connection}date: {}\r\n\r\n", reason(status), date.1)
    }

    /// Counts an answer, and the body bytes sent.
    fn count(&self, status: u16, bytes: u64) {
        let mut counters = self.counters.borrow_mut();
        counters
            .entry(status)
            .or_insert_with(|| metrics::counter!(ORIGIN_RESPONSES, "status" => status.to_string()))
            .increment(1);
        if bytes > 0 {
            // Status codes start at 100: 0 is the bytes' counter.
            counters.entry(0).or_insert_with(|| metrics::counter!(ORIGIN_BYTES)).increment(bytes);
        }
    }

    /// A problem+json answer, with `extra` header fields (its head alone for `HEAD`: a body
    /// there would be read as the start of the next answer).
    async fn problem(
        &self,
        io: &TcpStream,
        kind: ProblemType,
        detail: &str,
        extra: &str,
        reply: Reply,
    ) -> io::Result<()> {
        let body = problem_body(kind, detail);
        let fields = format!(
            "{CORS}{extra}content-type: application/problem+json\r\ncache-control: no-store\r\ncontent-length: {}\r\n",
            body.len()
        );
        let mut answer = self.response_head(kind.status, &fields, reply);
        if reply.body {
            answer.push_str(&body);
        }
        self.count(kind.status, 0);
        send_all(io, answer.as_bytes(), self.origin.write_idle).await
    }
}

/// How an answer goes out.
#[derive(Debug, Clone, Copy)]
struct Reply {
    /// Whether the connection stays open after it.
    keep: bool,
    /// Whether the request was HTTP/1.0, which must be told the connection stays open.
    http10: bool,
    /// Whether the answer carries its body (not for `HEAD`).
    body: bool,
}

impl Reply {
    /// An answer to a request that could not be read, after which the connection closes.
    const CLOSING: Reply = Reply { keep: false, http10: false, body: true };

    fn closing(self) -> Reply {
        Reply { keep: false, ..self }
    }
}

/// A connection counted in [`Origin`]'s, until dropped.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a connection holds next.
enum Next {
    Head(Head),
    /// Closed by the client, idle too long, or the server is stopping.
    Closed,
    /// A head that cannot be answered: this problem, then the connection is closed.
    Refuse(ProblemType, &'static str),
}

/// The instant `wait` from now. The waits are the server's timeouts (at most an hour, by the
/// command line's ranges), so the sum cannot overflow; if it could, the wait would end now.
fn after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait).unwrap_or(now)
}

fn stalled() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client took nothing of the answer in time")
}

/// Sends all of `bytes`.
///
/// The head of an answer with a body goes out on its own, as nginx sends it: telling the
/// kernel a body follows (`MSG_MORE`, so that the head shares the first segment with the
/// file) made ranges 10% slower here (`scripts/bench.sh serving`, 2026-11-23).
async fn send_all(io: &TcpStream, bytes: &[u8], idle: Duration) -> io::Result<()> {
    use rustix::net::{SendFlags, send};
    let mut sent = 0;
    while sent < bytes.len() {
        timeout(idle, io.writable()).await.map_err(|_| stalled())??;
        match io.try_io(Interest::WRITABLE, || Ok(send(io, &bytes[sent..], SendFlags::NOSIGNAL)?)) {
            Ok(n) => sent = sent.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `length` bytes of `file` from `start` with `sendfile(2)`.
async fn send_file(io: &TcpStream, file: &File, start: u64, length: u64, idle: Duration) -> io::Result<()> {
    let end = start.saturating_add(length);
    let mut offset = start;
    while offset < end {
        timeout(idle, io.writable()).await.map_err(|_| stalled())??;
        let count = usize::try_from(end.saturating_sub(offset)).unwrap_or(usize::MAX).min(MAX_SENDFILE);
        match io.try_io(Interest::WRITABLE, || Ok(rustix::fs::sendfile(io, file, Some(&mut offset), count)?)) {
            // The file is shorter than it was a moment ago: the answer cannot be completed,
            // and closing the connection tells the client so (its body is short).
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while being sent")),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Closes a connection after its last answer without losing that answer: the write side is
/// shut, and what the client still sends is read and dropped for a moment, because closing a
/// socket with unread input resets it, and a reset can destroy an answer not yet read.
async fn linger(mut io: TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let _ = io.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = timeout(crate::server::LINGER, async { while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {} }).await;
}
