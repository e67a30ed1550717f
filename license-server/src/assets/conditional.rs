//! What a request for a stored file gets, from its validator and its `If-None-Match`,
//! `If-Range` and `Range` headers (RFC 9110 §13.1.2, §13.1.5, §14): one decision, shared by
//! the API's track route and the origin (`crate::origin`), so both answer alike.
//!
//! Only one range per request is served; a request for several gets the whole file, which
//! RFC 9110 §14.2 allows. A `Range` header that is not a valid range at all is ignored, as
//! §14.2 requires.

use http_range::{HttpRange, HttpRangeParseError};

/// The headers that decide the answer, as the request sent them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conditions<'a> {
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Range`.
    pub if_range: Option<&'a str>,
    /// `Range`.
    pub range: Option<&'a str>,
}

/// The answer to a request for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 304: the client's copy is current.
    NotModified,
    /// 200: the whole file.
    Whole,
    /// 206: `length` bytes from `start`, within the file.
    Part {
        /// The first byte.
        start: u64,
        /// How many bytes.
        length: u64,
    },
    /// 416: the range lies wholly outside the file.
    Unsatisfiable,
}

impl Answer {
    /// What to answer for a file of `size` bytes whose strong validator is `etag` (quoted).
    pub fn of(size: u64, etag: &str, conditions: Conditions<'_>) -> Answer {
        // If-None-Match compares weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
        let weakly = |t: &str| t.trim().trim_start_matches("W/") == etag.trim_start_matches("W/");
        if conditions.if_none_match.is_some_and(|v| v.split(',').any(|t| weakly(t) || t.trim() == "*")) {
            return Answer::NotModified;
        }
        // If-Range with another validator means "the file changed": send it whole.
        let range_applies = conditions.if_range.is_none_or(|v| v.trim() == etag);
        let Some(range) = conditions.range.filter(|_| range_applies) else {
            return Answer::Whole;
        };
        match HttpRange::parse(range, size) {
            Ok(ranges) if ranges.len() == 1 => Answer::Part { start: ranges[0].start, length: ranges[0].length },
            Ok(_) | Err(HttpRangeParseError::InvalidRange) => Answer::Whole,
            Err(HttpRangeParseError::NoOverlap) => Answer::Unsatisfiable,
        }
    }
}

/// `Content-Range` of `length` bytes from `start` in a file of `size` bytes.
pub fn content_range(start: u64, length: u64, size: u64) -> String {
    format!("bytes {}-{}/{}", start, start.saturating_add(length).saturating_sub(1), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(if_none_match: Option<&str>, if_range: Option<&str>, range: Option<&str>) -> Answer {
        Answer::of(1000, "\"v1\"", Conditions { if_none_match, if_range, range })
    }

    #[test]
    fn conditions_and_ranges() {
        assert_eq!(answer(None, None, None), Answer::Whole);
        assert_eq!(answer(Some("\"v0\", \"v1\""), None, Some("bytes=0-9")), Answer::NotModified);
        assert_eq!(answer(Some("*"), None, None), Answer::NotModified);
        assert_eq!(answer(Some("W/\"v1\""), None, None), Answer::NotModified);
        assert_eq!(answer(Some("\"v0\""), None, Some("bytes=0-9")), Answer::Part { start: 0, length: 10 });
        assert_eq!(answer(None, None, Some("bytes=990-")), Answer::Part { start: 990, length: 10 });
        assert_eq!(answer(None, None, Some("bytes=-5")), Answer::Part { start: 995, length: 5 });
        assert_eq!(answer(None, None, Some("bytes=900-5000")), Answer::Part { start: 900, length: 100 });
        assert_eq!(answer(None, Some("\"v1\""), Some("bytes=0-9")), Answer::Part { start: 0, length: 10 });
        assert_eq!(answer(None, Some("\"v0\""), Some("bytes=0-9")), Answer::Whole);
        assert_eq!(answer(None, None, Some("bytes=0-1,5-6")), Answer::Whole);
        assert_eq!(answer(None, None, Some("lines=1-2")), Answer::Whole);
        assert_eq!(answer(None, None, Some("bytes=1000-")), Answer::Unsatisfiable);
        assert_eq!(content_range(990, 10, 1000), "bytes 990-999/1000");
    }
}
