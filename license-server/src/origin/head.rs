//! A request's head, parsed (by `httparse`) into what the origin needs of it and nothing more.

/// The most bytes a request's head may take; a longer one is answered 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// The most header fields a request may carry; more is answered 431.
const MAX_FIELDS: usize = 48;

/// The methods the origin tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: the file.
    Get,
    /// `HEAD`: its headers only.
    Head,
    /// `OPTIONS`: a CORS preflight.
    Options,
    /// Anything else: 405.
    Other,
}

/// What the origin reads of a request's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The sealed file the path names (`/<name>`, query ignored), if it names one the server
    /// could have made (see [`sealed_name`]).
    pub file: Option<String>,
    /// `Range`, when sent exactly once.
    pub range: Option<String>,
    /// `If-None-Match`, when sent exactly once.
    pub if_none_match: Option<String>,
    /// `If-Range`, when sent exactly once.
    pub if_range: Option<String>,
    /// Whether the client keeps the connection open after this answer (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// Whether the request is HTTP/1.0 (told `Connection: keep-alive` when kept).
    pub http10: bool,
    /// Whether the request announces a body: `Transfer-Encoding` of any kind, or a
    /// `Content-Length` that is not exactly zero. The origin never reads a body, so such a
    /// request is refused and its connection closed: no byte of a body is ever taken for the
    /// next request's head.
    pub has_body: bool,
}

/// What the buffered bytes hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole head, which took this many bytes.
    Complete(Head, usize),
    /// The start of a head: read more (up to [`MAX_HEAD`]).
    Partial,
    /// A head with more than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// Not an HTTP/1.x request head; the detail says where it broke.
    Malformed(&'static str),
}

/// Parses the head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut request = httparse::Request::new(&mut fields);
    let used = match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooManyFields,
        Err(httparse::Error::Version) => return Parsed::Malformed("not an HTTP/1.0 or HTTP/1.1 request"),
        Err(httparse::Error::Token) => return Parsed::Malformed("a malformed method or field name"),
        Err(httparse::Error::Status | httparse::Error::NewLine) => {
            return Parsed::Malformed("a malformed request line");
        }
        Err(_) => return Parsed::Malformed("a malformed header field"),
    };
    // httparse has filled these in for a complete head.
    let (Some(method), Some(path), Some(version)) = (request.method, request.path, request.version) else {
        return Parsed::Malformed("a malformed request line");
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        _ => Method::Other,
    };
    let mut head = Head {
        method,
        file: sealed_name(path).map(str::to_owned),
        range: None,
        if_none_match: None,
        if_range: None,
        keep_alive: version == 1,
        http10: version == 0,
        has_body: false,
    };
    let mut seen = [0u8; 3];
    let mut hosts = 0u8;
    for field in request.headers.iter() {
        let name = field.name;
        let value = std::str::from_utf8(field.value).ok().map(str::trim);
        let slot = if name.eq_ignore_ascii_case("range") {
            Some((0, &mut head.range))
        } else if name.eq_ignore_ascii_case("if-none-match") {
            Some((1, &mut head.if_none_match))
        } else if name.eq_ignore_ascii_case("if-range") {
            Some((2, &mut head.if_range))
        } else {
            None
        };
        if let Some((i, slot)) = slot {
            seen[i] = seen[i].saturating_add(1);
            *slot = value.map(str::to_owned);
        } else if name.eq_ignore_ascii_case("host") {
            hosts = hosts.saturating_add(1);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.has_body = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            head.has_body |= value != Some("0");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.unwrap_or_default().split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    head.keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && version == 0 {
                    head.keep_alive = true;
                }
            }
        }
    }
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host.
    if version == 1 && hosts != 1 {
        return Parsed::Malformed("an HTTP/1.1 request needs exactly one Host field");
    }
    // A field sent twice has no one meaning: as if not sent (a whole file, unconditionally).
    for (i, slot) in [&mut head.range, &mut head.if_none_match, &mut head.if_range].into_iter().enumerate() {
        if seen[i] > 1 {
            *slot = None;
        }
    }
    Parsed::Complete(head, used)
}

/// The file `/<name>` names, query string aside, if it is a name the server makes for a
/// sealed file ([`crate::assets::valid_name`], ending `.fsa`). Nothing else in the folder is
/// served: covers and transcripts are served by the API with the headers they need.
pub fn sealed_name(target: &str) -> Option<&str> {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let name = path.strip_prefix('/')?;
    (crate::assets::valid_name(name) && name.ends_with(".fsa")).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(raw: &str) -> Head {
        match parse(raw.as_bytes()) {
            Parsed::Complete(head, used) => {
                assert_eq!(used, raw.len());
                head
            }
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    #[test]
    fn heads_parse() {
        let head = complete("GET /a-1.fsa?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\nIf-Range: \"e\"\r\n\r\n");
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.file.as_deref(), Some("a-1.fsa"));
        assert_eq!(head.range.as_deref(), Some("bytes=0-9"));
        assert_eq!(head.if_range.as_deref(), Some("\"e\""));
        assert!(head.keep_alive && !head.has_body);

        assert!(!complete("HEAD /a.fsa HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!complete("GET /a.fsa HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete("GET /a.fsa HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(complete("GET /a.fsa HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").has_body.eq(&false));
        assert!(complete("GET /a.fsa HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n").has_body);
        assert!(complete("GET /a.fsa HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").has_body);
        assert_eq!(
            complete("GET /a.fsa HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n").range,
            None
        );
        assert_eq!(complete("DELETE /a.fsa HTTP/1.1\r\nHost: h\r\n\r\n").method, Method::Other);
        assert!(complete("GET /a.fsa HTTP/1.0\r\n\r\n").http10);
    }

    #[test]
    fn only_sealed_names() {
        for (target, name) in [("/x-1.fsa", Some("x-1.fsa")), ("/x-1.fsa?v=2", Some("x-1.fsa"))] {
            assert_eq!(sealed_name(target), name);
        }
        for target in ["/", "/cover.jpg", "/.x.fsa.partial", "/../x.fsa", "/a/b.fsa", "/%2e.fsa", "x.fsa", "*"] {
            assert_eq!(sealed_name(target), None, "{target}");
        }
    }

    #[test]
    fn bad_heads_are_refused() {
        assert_eq!(parse(b"GET /a.fsa HTTP/1.1\r\nHost:"), Parsed::Partial);
        assert!(matches!(parse(b"GET /a.fsa HTTP/2.0\r\n\r\n"), Parsed::Malformed(_)));
        assert!(matches!(parse(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Parsed::Malformed(_)));
        assert!(matches!(parse(b"GET /a.fsa HTTP/1.1\r\nBad Field: x\r\n\r\n"), Parsed::Malformed(_)));
        for hosts in ["", "Host: a\r\nHost: b\r\n"] {
            assert!(matches!(parse(format!("GET /a.fsa HTTP/1.1\r\n{hosts}\r\n").as_bytes()), Parsed::Malformed(_)));
        }
        let many: String = (0..60).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(parse(format!("GET /a.fsa HTTP/1.1\r\n{many}\r\n").as_bytes()), Parsed::TooManyFields);
    }
}
