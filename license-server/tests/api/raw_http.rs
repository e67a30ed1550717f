//! HTTP/1.1 over a plain socket, for tests about connections themselves (keep-alive, bodies
//! that stall or are never read), which a client library hides. Every read has a deadline, so
//! a server that never answers fails the test in seconds and says where.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

/// How long any one read may wait.
pub const READ_DEADLINE: Duration = Duration::from_secs(5);

/// A response read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// What the server did next on a connection.
#[derive(Debug)]
pub enum Next {
    /// It answered.
    Response(RawResponse),
    /// It closed the connection (end of stream or a reset).
    Closed,
}

/// One connection.
pub struct RawConn {
    read: OwnedReadHalf,
    write: Arc<Mutex<OwnedWriteHalf>>,
    buf: Vec<u8>,
    what: String,
}

impl RawConn {
    pub async fn open(base: &str, what: &str) -> Self {
        let addr = base.trim_start_matches("http://");
        let stream = tokio::time::timeout(READ_DEADLINE, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("{what}: connecting took over {READ_DEADLINE:?}"))
            .expect("connect");
        let (read, write) = stream.into_split();
        RawConn { read, write: Arc::new(Mutex::new(write)), buf: Vec::new(), what: what.to_owned() }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        // A server may close while we still send (it refused the body): that is its right.
        let _ = self.write.lock().await.write_all(bytes).await;
    }

    /// Sends `bytes` in pieces of `piece` bytes with `pause` between them, in the background,
    /// as a client streaming an upload does while the answer may already be on its way.
    pub fn send_paced(&self, bytes: Vec<u8>, piece: usize, pause: Duration) -> tokio::task::JoinHandle<()> {
        let write = self.write.clone();
        tokio::spawn(async move {
            let mut write = write.lock().await;
            for p in bytes.chunks(piece) {
                if write.write_all(p).await.is_err() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        })
    }

    /// Reads more bytes; `false` at end of stream or on a reset. Panics after the deadline.
    async fn fill(&mut self, deadline: Instant) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.read.read(&mut chunk)).await {
            Err(_) => panic!("{}: the server neither answered nor closed the connection within {left:?}", self.what),
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response, or the connection's end.
    pub async fn next(&mut self) -> Next {
        self.next_within(READ_DEADLINE).await
    }

    pub async fn next_within(&mut self, limit: Duration) -> Next {
        self.read_response(limit, false).await
    }

    /// The answer to a `HEAD`: its head only, whatever its `Content-Length` says.
    pub async fn head_response(&mut self) -> RawResponse {
        match self.read_response(READ_DEADLINE, true).await {
            Next::Response(r) => r,
            Next::Closed => panic!("{}: the server closed the connection instead of answering", self.what),
        }
    }

    async fn read_response(&mut self, limit: Duration, head_only: bool) -> Next {
        let deadline = Instant::now() + limit;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !self.fill(deadline).await {
                assert!(self.buf.is_empty(), "{}: the connection ended inside a response head", self.what);
                return Next::Closed;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let body = if head_only {
            Vec::new()
        } else if let Some(len) = find("content-length") {
            let len: usize = len.parse().expect("content-length");
            while self.buf.len() < len {
                assert!(self.fill(deadline).await, "{}: the connection ended inside a response body", self.what);
            }
            self.buf.drain(..len).collect()
        } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    assert!(self.fill(deadline).await, "{}: the connection ended inside a chunk", self.what);
                };
                let size = usize::from_str_radix(String::from_utf8_lossy(&self.buf[..line_end]).trim(), 16)
                    .expect("chunk size");
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    assert!(self.fill(deadline).await, "{}: the connection ended inside a chunk", self.what);
                }
                body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            Vec::new()
        };
        Next::Response(RawResponse { status, headers, body })
    }

    /// The next response; panics if the connection closed instead.
    pub async fn response(&mut self) -> RawResponse {
        match self.next().await {
            Next::Response(r) => r,
            Next::Closed => panic!("{}: the server closed the connection instead of answering", self.what),
        }
    }
}

/// A request head with the given extra header lines (each ending in CRLF).
pub fn head(method: &str, path: &str, host: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\n{extra}\r\n")
}

/// A body in chunked transfer coding, `chunk` bytes a chunk, with its terminator.
pub fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
