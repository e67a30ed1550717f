//! Fetching what a feed points at: the feed itself (conditionally), and enclosures (streamed
//! to disk). Every request goes through [`Outbound`]: its client follows no redirect, so
//! redirects are followed here, each new URL checked by the policy before it is requested
//! (and each connection checked again by the client's resolver).

use std::path::Path;

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::io::AsyncWriteExt as _;

use crate::outbound::{Outbound, UrlRefused, describe};

/// Redirects followed at most, per request.
pub const MAX_REDIRECTS: usize = 5;

/// A feed's validators, from its last `200`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// Why a fetch failed: each is a line for the store, on the feed or the item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL, or a redirect's, is refused by the outbound policy.
    #[error("refused: {0}")]
    Refused(#[from] UrlRefused),
    /// More than [`MAX_REDIRECTS`] redirects, or a redirect back to a URL already visited.
    #[error("too many redirects (or a redirect loop)")]
    Redirects,
    /// A redirect without a usable `Location`.
    #[error("a redirect without a usable Location")]
    BadRedirect,
    /// The answer was neither a success nor a redirect.
    #[error("the server answered {0}")]
    Status(u16),
    /// Larger than allowed (announced or read).
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// No answer in time, a stalled transfer, a connection that failed.
    #[error("{0}")]
    Transport(String),
    /// Writing the download to disk.
    #[error("could not write the download: {0}")]
    Disk(String),
}

/// A feed's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedAnswer {
    /// `304`: unchanged since the validators sent.
    NotModified,
    /// A body.
    Body {
        /// The bytes, at most the limit.
        bytes: Vec<u8>,
        /// Its validators, for the next request.
        validators: Validators,
        /// Where the feed now is, when every redirect on the way was permanent.
        moved_to: Option<String>,
    },
}

/// The redirect hops of one request: where it is now, whether every hop was permanent.
struct Hops {
    url: url::Url,
    seen: Vec<url::Url>,
    permanent: bool,
}

impl Hops {
    fn new(start: url::Url) -> Self {
        Hops { seen: vec![start.clone()], url: start, permanent: true }
    }

    /// Follows a redirect answer, checking its target.
    fn follow(&mut self, out: &Outbound, status: StatusCode, headers: &HeaderMap) -> Result<(), FetchError> {
        let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).ok_or(FetchError::BadRedirect)?;
        let next = self.url.join(location).map_err(|_| FetchError::BadRedirect)?;
        let next = out.check(next.as_str())?;
        if self.seen.len() > MAX_REDIRECTS || self.seen.contains(&next) {
            return Err(FetchError::Redirects);
        }
        self.permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
        self.seen.push(next.clone());
        self.url = next;
        Ok(())
    }
}

/// Sends GET requests from `url`, following redirects, until an answer that is not one.
async fn get(out: &Outbound, url: &str, headers: HeaderMap) -> Result<(reqwest::Response, Hops), FetchError> {
    let mut hops = Hops::new(out.check(url)?);
    loop {
        let resp = out
            .client()
            .get(hops.url.clone())
            .headers(headers.clone())
            .send()
            .await
            .map_err(|e| FetchError::Transport(describe(&e)))?;
        if resp.status().is_redirection() && resp.status() != StatusCode::NOT_MODIFIED {
            hops.follow(out, resp.status(), resp.headers())?;
            continue;
        }
        return Ok((resp, hops));
    }
}

/// Fetches a feed, conditionally on `validators`, reading at most `limit` bytes.
pub async fn feed(out: &Outbound, url: &str, validators: &Validators, limit: u64) -> Result<FeedAnswer, FetchError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"),
    );
    if let Some(v) = validators.etag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::IF_NONE_MATCH, v);
    }
    if let Some(v) = validators.last_modified.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::IF_MODIFIED_SINCE, v);
    }
    let (resp, hops) = get(out, url, headers).await?;
    if resp.status() == StatusCode::NOT_MODIFIED {
        return Ok(FeedAnswer::NotModified);
    }
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    let header_text =
        |name: header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let validators = Validators { etag: header_text(header::ETAG), last_modified: header_text(header::LAST_MODIFIED) };
    let moved_to = (hops.permanent && hops.seen.len() > 1).then(|| hops.url.to_string());
    let bytes = read_all(resp, limit).await?;
    Ok(FeedAnswer::Body { bytes, validators, moved_to })
}

/// A small file (chapters, a transcript), whole, with the media type its server gave.
pub async fn small(out: &Outbound, url: &str, limit: u64) -> Result<(Vec<u8>, Option<String>), FetchError> {
    let (resp, _) = get(out, url, HeaderMap::new()).await?;
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    let media_type = media_type(&resp);
    Ok((read_all(resp, limit).await?, media_type))
}

/// The media type of an answer, without its parameters, in lower case.
fn media_type(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
}

/// A whole body, at most `limit` bytes.
async fn read_all(resp: reqwest::Response, limit: u64) -> Result<Vec<u8>, FetchError> {
    let mut body = Limited::new(resp, limit)?;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A download on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub length: u64,
    /// The `Content-Type` the server gave.
    pub media_type: Option<String>,
}

/// Downloads `url` into `dest` (created or truncated), streaming, at most `limit` bytes. On
/// any error the partial file is removed.
pub async fn download(out: &Outbound, url: &str, dest: &Path, limit: u64) -> Result<Downloaded, FetchError> {
    let result = download_inner(out, url, dest, limit).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn download_inner(out: &Outbound, url: &str, dest: &Path, limit: u64) -> Result<Downloaded, FetchError> {
    let (resp, _) = get(out, url, HeaderMap::new()).await?;
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    let media_type = media_type(&resp);
    let mut body = Limited::new(resp, limit)?;
    let disk = |e: std::io::Error| FetchError::Disk(e.to_string());
    let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(dest).await.map_err(disk)?);
    while let Some(chunk) = body.next().await? {
        file.write_all(&chunk).await.map_err(disk)?;
    }
    let length = body.read;
    file.flush().await.map_err(disk)?;
    file.into_inner().sync_all().await.map_err(disk)?;
    Ok(Downloaded { length, media_type })
}

/// A body read chunk by chunk, refused past `limit` bytes (at once when its announced length
/// is larger).
struct Limited {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    limit: u64,
    read: u64,
}

impl Limited {
    fn new(resp: reqwest::Response, limit: u64) -> Result<Self, FetchError> {
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        Ok(Limited { body: Box::pin(resp.bytes_stream()), limit, read: 0 })
    }

    async fn next(&mut self) -> Result<Option<bytes::Bytes>, FetchError> {
        let Some(chunk) = self.body.next().await else { return Ok(None) };
        let chunk = chunk.map_err(|e| FetchError::Transport(describe(&e)))?;
        self.read = self.read.saturating_add(chunk.len() as u64);
        if self.read > self.limit {
            return Err(FetchError::TooLarge { limit: self.limit });
        }
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// What the test server saw: each request's path and headers (lower-case names).
    type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

    /// A loopback HTTP/1.1 server answering each request with `answer(path, headers)`:
    /// status line and headers (without the final blank line), and a body.
    async fn server<F>(answer: F) -> (String, Seen)
    where
        F: Fn(&str, &[(String, String)]) -> (String, Vec<u8>) + Send + Sync + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let (answer, log) = (Arc::new(answer), seen.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let end = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let mut lines = head.lines();
                    let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    log.lock().unwrap().push((path.clone(), headers.clone()));
                    let (status_and_headers, body) = answer(&path, &headers);
                    let head =
                        format!("{status_and_headers}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                });
            }
        });
        (base, seen)
    }

    fn loopback() -> Outbound {
        Outbound::new(true, Duration::from_secs(5)).unwrap()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn a_feed_is_fetched_conditionally_and_a_304_is_not_modified() {
        let (base, seen) = server(|_, headers| {
            if header(headers, "if-none-match") == Some("\"v1\"") {
                ("HTTP/1.1 304 Not Modified".into(), Vec::new())
            } else {
                (
                    "HTTP/1.1 200 OK\r\netag: \"v1\"\r\nlast-modified: Sun, 22 Nov 2026 05:00:00 GMT".into(),
                    b"<rss/>".to_vec(),
                )
            }
        })
        .await;
        let url = format!("{base}/feed.xml");
        let first = feed(&loopback(), &url, &Validators::default(), 1000).await.unwrap();
        let FeedAnswer::Body { bytes, validators, moved_to } = first else { panic!("a body") };
        assert_eq!(bytes, b"<rss/>");
        assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(validators.last_modified.as_deref(), Some("Sun, 22 Nov 2026 05:00:00 GMT"));
        assert_eq!(moved_to, None);
        assert_eq!(feed(&loopback(), &url, &validators, 1000).await.unwrap(), FeedAnswer::NotModified);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(header(&seen[1].1, "if-modified-since"), Some("Sun, 22 Nov 2026 05:00:00 GMT"));
    }

    #[tokio::test]
    async fn permanent_redirects_move_the_feed_and_temporary_ones_do_not() {
        let (base, _) = server(|path, _| match path {
            "/old" => ("HTTP/1.1 301 Moved Permanently\r\nlocation: /new".into(), Vec::new()),
            "/hop" => ("HTTP/1.1 302 Found\r\nlocation: /new".into(), Vec::new()),
            _ => ("HTTP/1.1 200 OK".into(), b"<rss/>".to_vec()),
        })
        .await;
        let moved = |a: FeedAnswer| match a {
            FeedAnswer::Body { moved_to, .. } => moved_to,
            FeedAnswer::NotModified => panic!("a body"),
        };
        let v = Validators::default();
        assert_eq!(
            moved(feed(&loopback(), &format!("{base}/old"), &v, 100).await.unwrap()),
            Some(format!("{base}/new"))
        );
        assert_eq!(moved(feed(&loopback(), &format!("{base}/hop"), &v, 100).await.unwrap()), None);
    }

    #[tokio::test]
    async fn loops_too_many_hops_and_private_targets_end_with_a_clear_error() {
        let (base, _) = server(|path, _| match path {
            "/a" => ("HTTP/1.1 302 Found\r\nlocation: /b".into(), Vec::new()),
            "/b" => ("HTTP/1.1 302 Found\r\nlocation: /a".into(), Vec::new()),
            "/inside" => ("HTTP/1.1 302 Found\r\nlocation: http://10.0.0.1/feed".into(), Vec::new()),
            p if p.starts_with("/chain/") => {
                let n: u32 = p[7..].parse().unwrap();
                (format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: /chain/{}", n + 1), Vec::new())
            }
            _ => ("HTTP/1.1 404 Not Found".into(), Vec::new()),
        })
        .await;
        let v = Validators::default();
        assert_eq!(feed(&loopback(), &format!("{base}/a"), &v, 100).await, Err(FetchError::Redirects));
        assert_eq!(feed(&loopback(), &format!("{base}/chain/0"), &v, 100).await, Err(FetchError::Redirects));
        assert_eq!(feed(&loopback(), &format!("{base}/missing"), &v, 100).await, Err(FetchError::Status(404)));
        // Without the operator's leave, loopback itself is refused before any request, and a
        // redirect into a private network is refused before it is followed.
        let public_only = Outbound::new(false, Duration::from_secs(5)).unwrap();
        assert!(matches!(
            feed(&public_only, &format!("{base}/a"), &v, 100).await,
            Err(FetchError::Refused(UrlRefused::Private(_)))
        ));
        let mut hops = Hops::new(url::Url::parse("https://feeds.example/inside").unwrap());
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("http://10.0.0.1/feed"));
        assert!(matches!(
            hops.follow(&public_only, StatusCode::FOUND, &headers),
            Err(FetchError::Refused(UrlRefused::Private(_)))
        ));
    }

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused_and_leave_no_file() {
        let (base, _) = server(|_, _| ("HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg".into(), vec![7u8; 5000])).await;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.upload");
        let url = format!("{base}/a.mp3");
        assert_eq!(download(&loopback(), &url, &dest, 4999).await, Err(FetchError::TooLarge { limit: 4999 }));
        assert!(!dest.exists());
        let got = download(&loopback(), &url, &dest, 5000).await.unwrap();
        assert_eq!(got, Downloaded { length: 5000, media_type: Some("audio/mpeg".into()) });
        assert_eq!(std::fs::read(&dest).unwrap(), vec![7u8; 5000]);
        assert_eq!(feed(&loopback(), &url, &Validators::default(), 10).await, Err(FetchError::TooLarge { limit: 10 }));
    }

    #[tokio::test]
    async fn a_stalled_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feed", listener.local_addr().unwrap());
        // Accepts, reads, never answers.
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let quick = Outbound::new(true, Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let err = feed(&quick, &url, &Validators::default(), 100).await.unwrap_err();
        assert!(matches!(err, FetchError::Transport(ref t) if t.contains("timed out")), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
