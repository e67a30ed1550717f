//! Log lines on stderr: readable text by default, one JSON object per line when
//! `FOUNT_LOG_FORMAT=json` (for a log shipper). Which lines: `FOUNT_LOG`, in `tracing`'s
//! filter syntax (default `info,sqlx=warn`).
//!
//! A JSON line holds `timestamp`, `level`, `target`, the event's `fields` (the access log's
//! `method`, `route`, `status`, `ms`…) and `spans`, where a request's `request_id` is.

use tracing_subscriber::EnvFilter;

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// Parses `text` or `json`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" | "" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Installs the process's logger from `FOUNT_LOG` and `FOUNT_LOG_FORMAT`. An unknown format
/// falls back to text and says so, rather than losing the logs.
pub fn init() {
    let filter = EnvFilter::try_from_env("FOUNT_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    let asked = std::env::var("FOUNT_LOG_FORMAT").unwrap_or_default();
    let format = Format::parse(&asked);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format.unwrap_or(Format::Text) {
        Format::Json => builder.json().with_current_span(false).with_span_list(true).init(),
        Format::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    if format.is_none() {
        tracing::warn!(format = %asked, "FOUNT_LOG_FORMAT is `text` or `json`; logging text");
    }
}
