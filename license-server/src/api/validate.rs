//! Checks on values clients send, each failing with a 422 that names the field.

use crate::error::ApiError;

/// Whether a character is blank: white space, or another invisible one a title could be made
/// of (the same set the API description's patterns exclude, written out because regular
/// expression dialects disagree on `\s`).
fn is_blank(c: char) -> bool {
    c <= ' '
        || ('\u{7f}'..='\u{a0}').contains(&c)
        || matches!(
            c,
            '\u{1680}' | '\u{2000}'
                ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
        )
}

/// A required text of at most `max` characters, not blank, without control characters;
/// returned trimmed.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::validation(format!("`{field}` must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(format!("`{field}` must not contain control characters")));
    }
    let v = value.trim_matches(is_blank);
    if v.is_empty() {
        return Err(ApiError::validation(format!("`{field}` must not be empty")));
    }
    Ok(v.to_owned())
}

/// An optional text: `None` stays `None`, a value must pass [`text`].
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    value.map(|v| text(field, v, max)).transpose()
}

/// An optional long text (a description): like [`opt_text`], but line breaks and tabs are
/// kept.
pub fn opt_long_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.chars().count() > max {
        return Err(ApiError::validation(format!("`{field}` must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::validation(format!(
            "`{field}` must not contain control characters other than line breaks and tabs"
        )));
    }
    let v = value.trim_matches(is_blank);
    if v.is_empty() {
        return Err(ApiError::validation(format!("`{field}` must not be empty")));
    }
    Ok(Some(v.to_owned()))
}

/// An identifier a store chooses (customer ids, references): 1 to 200 printable ASCII
/// characters.
pub fn ident(field: &str, value: &str) -> Result<String, ApiError> {
    if value.is_empty() || value.len() > 200 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::validation(format!(
            "`{field}` must be 1 to 200 printable ASCII characters without spaces"
        )));
    }
    Ok(value.to_owned())
}

/// The last second Fount accepts as a time: 9999-12-31T23:59:59Z. Times are seconds since
/// the epoch; past this, RFC 3339 (and most people's calendars) give out.
pub const MAX_TIME: i64 = 253_402_300_799;

/// A time in seconds since the epoch, from 1970 to the end of the year 9999.
pub fn time(field: &str, value: Option<i64>) -> Result<Option<i64>, ApiError> {
    match value {
        Some(v) if !(0..=MAX_TIME).contains(&v) => Err(ApiError::validation(format!(
            "`{field}` must be a time in seconds since 1970, up to {MAX_TIME} (the end of the year 9999)"
        ))),
        other => Ok(other),
    }
}

/// An absolute http(s) URL.
pub fn url(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let ok = (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() <= 2048
        && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !v.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'"' || b == b'<' || b == b'>');
    if !ok {
        return Err(ApiError::validation(format!("`{field}` must be an absolute http or https URL")));
    }
    Ok(Some(v.to_owned()))
}

/// A price: digits, optionally a point and one to three more digits.
pub fn price(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 3
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(v.contains('.') && frac.is_empty());
    if !ok {
        return Err(ApiError::validation("`price` must be a decimal such as 9.99"));
    }
    Ok(Some(v.to_owned()))
}

/// An ISO 4217 code: three capital letters.
pub fn currency(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::validation("`currency` must be an ISO 4217 code such as EUR"));
    }
    Ok(Some(v.to_owned()))
}

/// A BCP 47 language tag (RFC 5646), as Readium manifests require it.
pub fn language(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    match oxilangtag::LanguageTag::parse(v) {
        Ok(tag) if v.len() <= 35 => Ok(Some(tag.into_inner().to_owned())),
        _ => Err(ApiError::validation("`language` must be a BCP 47 tag such as en or pt-BR")),
    }
}

/// A Stripe Payment Link id: `plink_` then letters and digits.
pub fn payment_link(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let ok = v
        .strip_prefix("plink_")
        .is_some_and(|rest| !rest.is_empty() && rest.len() <= 100 && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !ok {
        return Err(ApiError::validation("`stripe_payment_link` must be a Payment Link id such as plink_1Abc"));
    }
    Ok(Some(v.to_owned()))
}

/// A web origin, `http(s)://host[:port]`, in the form browsers send in `Origin` and
/// `postMessage` events: host in lower case (IDNA-encoded), no default port, no trailing
/// slash. A URL with a path, query, fragment or credentials is not an origin.
pub fn origin(value: &str) -> Result<String, ApiError> {
    let bad = || ApiError::validation(format!("`{value}` is not a web origin such as https://shop.example"));
    let url = url::Url::parse(value.trim()).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert!(text("t", "  ok ", 5).is_ok());
        assert!(text("t", " ", 5).is_err());
        assert!(text("t", "abcdef", 5).is_err());
        assert!(text("t", "a\u{7}", 5).is_err());
        assert!(url("u", Some("https://shop.example/buy")).is_ok());
        for bad in ["javascript:alert(1)", "https://", "https:///x", "ftp://x", "https://a b"] {
            assert!(url("u", Some(bad)).is_err(), "{bad}");
        }
        assert!(price(Some("9.99")).is_ok());
        for bad in ["", ".5", "9.", "9.9999", "-1", "1e3"] {
            assert!(price(Some(bad)).is_err(), "{bad}");
        }
        assert!(currency(Some("EUR")).is_ok());
        assert!(currency(Some("eur")).is_err());
        assert!(language(Some("pt-BR")).is_ok());
        assert!(language(Some("-x")).is_err());
        assert!(language(Some("a")).is_err());
        assert!(language(Some("en-GB-oed")).is_ok());
        assert!(language(Some("und")).is_ok());
        assert!(ident("c", "user-42").is_ok());
        assert!(ident("c", "has space").is_err());
        assert!(payment_link(Some("plink_1Abc")).is_ok());
        assert!(payment_link(Some("plink_")).is_err());
        assert!(payment_link(Some("https://buy.stripe.com/x")).is_err());
        assert_eq!(origin("https://Shop.example:8443").unwrap(), "https://shop.example:8443");
        assert_eq!(origin("https://shop.example/").unwrap(), "https://shop.example");
        assert_eq!(origin("https://shop.example:443").unwrap(), "https://shop.example");
        assert_eq!(origin("http://[::1]:8000").unwrap(), "http://[::1]:8000");
        assert_eq!(origin("https://bücher.example").unwrap(), "https://xn--bcher-kva.example");
        for bad in [
            "shop.example",
            "https://shop.example/shop",
            "https://shop.example/?a=1",
            "https://a b",
            "javascript:x",
            "https://",
            "https://user@shop.example",
            "ftp://shop.example",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }
}
