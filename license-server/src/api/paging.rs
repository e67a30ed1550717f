//! How lists page over HTTP, the same on every list endpoint: `?limit=` (1 to 200, default
//! 50) and `?after=<cursor>`, where the cursor is the `next` member of the page before. A
//! cursor is opaque to clients: base64url of the list's name and the key of the row it follows
//! (see [`crate::db::page`]), so a cursor from one list is refused by another.

use fount_sdk::encoding::{b64, unb64};

use crate::db::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT, Page, PageQuery};
use crate::error::{ApiError, problem};

/// The lists, as cursors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `GET /v1/titles`.
    Titles,
    /// `GET /v1/entitlements`.
    Entitlements,
    /// `GET /v1/licenses`.
    Licenses,
    /// `GET /v1/customers/{customer}/devices`.
    Devices,
    /// `GET /v1/payments`.
    Payments,
    /// `GET /v1/webhooks`.
    Webhooks,
    /// `GET /v1/webhooks/{webhook}/deliveries`.
    Deliveries,
    /// `GET /v1/webhooks/{webhook}/attempts`.
    Attempts,
    /// `GET /v1/operator/jobs`.
    Jobs,
    /// `GET /v1/feeds`.
    Feeds,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            List::Titles => "titles",
            List::Entitlements => "entitlements",
            List::Licenses => "licenses",
            List::Devices => "devices",
            List::Payments => "payments",
            List::Webhooks => "webhooks",
            List::Feeds => "feeds",
            List::Deliveries => "deliveries",
            List::Attempts => "attempts",
            List::Jobs => "jobs",
        }
    }
}

/// Reads `limit` from a query string, naming it when it is not a number (serde_urlencoded's
/// own error does not say which parameter was wrong).
pub fn de_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    text.map(|t| {
        t.parse().map_err(|_| serde::de::Error::custom(format!("`limit` must be a number from 1 to {MAX_LIMIT}")))
    })
    .transpose()
}

/// The page a request asks for.
pub fn page(list: List, limit: Option<u32>, after: Option<&str>) -> Result<PageQuery, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(problem::INVALID_PARAMETER, format!("`limit` must be 1 to {MAX_LIMIT}")));
    }
    let after = after.map(|text| decode(list, text)).transpose()?;
    Ok(PageQuery { limit, after })
}

/// The `next` member of a page.
pub fn next<T>(list: List, page: &Page<T>) -> Option<String> {
    page.next.as_ref().map(|c| b64(format!("{}.{}.{}", list.name(), c.at, c.id)))
}

fn decode(list: List, text: &str) -> Result<Cursor, ApiError> {
    let bad = || {
        ApiError::new(
            problem::INVALID_PARAMETER,
            format!("`after` is not a cursor of this list: pass the `next` of a page of {}", list.name()),
        )
    };
    let bytes = unb64(text, "after").map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '.');
    let (Some(name), Some(at), Some(id)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    if name != list.name() || id.is_empty() || id.len() > 200 || id.contains('\0') {
        return Err(bad());
    }
    Ok(Cursor { at: at.parse().map_err(|_| bad())?, id: id.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_stay_in_their_list() {
        let page: Page<()> = Page { items: vec![], next: Some(Cursor { at: 1_800_000_000, id: "a.b-c".into() }) };
        let text = next(List::Licenses, &page).unwrap();
        let back = super::page(List::Licenses, Some(10), Some(&text)).unwrap();
        assert_eq!(back.after, page.next);
        assert!(super::page(List::Entitlements, None, Some(&text)).is_err());
        for bad in ["", "!!", &b64("licenses.x.y"), &b64("licenses.1"), &b64("licenses.1.")] {
            assert!(super::page(List::Licenses, None, Some(bad)).is_err(), "{bad}");
        }
        assert!(super::page(List::Titles, Some(0), None).is_err());
        assert!(super::page(List::Titles, Some(MAX_LIMIT + 1), None).is_err());
        assert_eq!(super::page(List::Titles, None, None).unwrap().limit, DEFAULT_LIMIT);
    }
}
