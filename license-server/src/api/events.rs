//! The event log as a store's backend polls it: `GET /v1/events?after=<cursor>` (see
//! [`crate::events`] for what an event is and docs/events.md for the guarantees).
//!
//! The cursor is opaque: base64url of `events`, the store, and the position of the last
//! event returned. It resumes exactly after that event, across restarts; a cursor of another
//! store is refused. Unlike other lists, a page always has a `next`: poll it again later to get
//! what happened since.

use actix_web::{HttpResponse, web};
use fount_sdk::encoding::{b64, unb64};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::StoreAuth;
use crate::db::EventPosition;
use crate::db::page::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{ApiError, problem};
use crate::events::{EventView, Kind};
use crate::state::AppState;

/// `GET /v1/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// The `next` of the page before; from the oldest event kept when absent.
    #[serde(default)]
    pub after: Option<String>,
    /// Only these types, comma-separated (such as `entitlement.granted,license.issued`).
    #[serde(default)]
    pub types: Option<String>,
    /// Most events in the page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "super::paging::de_limit")]
    #[param(minimum = 1, maximum = 200, value_type = Option<u32>)]
    pub limit: Option<u32>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events after the cursor, in the log's order.
    pub items: Vec<EventView>,
    /// The cursor to poll with next: after the last event of this page, or the cursor given
    /// when the page is empty. Never null.
    pub next: String,
    /// Whether more events are ready now (the page is full): poll again at once.
    pub has_more: bool,
}

/// The cursor of `store`'s log at `at`.
pub fn cursor(store: &str, at: EventPosition) -> String {
    b64(format!("events.{store}.{}.{}", at.txid, at.seq))
}

/// The position a cursor names, if it is one of `store`'s.
pub fn decode_cursor(store: &str, text: &str) -> Result<EventPosition, ApiError> {
    let bad = || {
        ApiError::new(
            problem::INVALID_PARAMETER,
            "`after` is not a cursor of this store's events: pass the `next` of a page of GET /v1/events",
        )
    };
    let text = String::from_utf8(unb64(text, "after").map_err(|_| bad())?).map_err(|_| bad())?;
    let rest = text.strip_prefix("events.").ok_or_else(bad)?;
    let (owner, position) = rest
        .rsplit_once('.')
        .and_then(|(head, seq)| {
            let (owner, txid) = head.rsplit_once('.')?;
            Some((owner, (txid.parse().ok()?, seq.parse().ok()?)))
        })
        .ok_or_else(bad)?;
    if owner != store {
        return Err(bad());
    }
    let (txid, seq): (i64, i64) = position;
    if txid < 0 || seq < 0 {
        return Err(bad());
    }
    Ok(EventPosition { txid, seq })
}

/// Parses `types`.
fn kinds(types: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(types) = types else { return Ok(None) };
    let mut out = Vec::new();
    for name in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let kind = Kind::parse(name).ok_or_else(|| {
            ApiError::new(
                problem::INVALID_PARAMETER,
                format!("`types`: {name:?} is not an event type (see the event schemas in /openapi.json)"),
            )
        })?;
        out.push(kind.as_str().to_owned());
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Events after a cursor, oldest first: poll with the `next` of each page to receive every
/// change once, in order. Kept for 90 days by default.
#[utoipa::path(get, operation_id = "events_list", path = "/v1/events", tag = "store", security(("api_key" = [])), params(EventQuery),
    responses((status = 200, body = EventPage)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(problem::INVALID_PARAMETER, format!("`limit` must be 1 to {MAX_LIMIT}")));
    }
    let after = query.after.as_deref().map(|c| decode_cursor(&auth.store.id, c)).transpose()?.unwrap_or_default();
    let types = kinds(query.types.as_deref())?;
    let rows = state.repo.events(&auth.store.id, after, types.as_deref(), i64::from(limit)).await?;
    let last = rows.last().map(EventPosition::of).unwrap_or(after);
    let has_more = rows.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(HttpResponse::Ok().json(EventPage {
        items: rows.iter().map(EventView::from).collect(),
        next: cursor(&auth.store.id, last),
        has_more,
    }))
}

/// One event.
#[utoipa::path(get, operation_id = "events_get", path = "/v1/events/{event}", tag = "store", security(("api_key" = [])),
    params(("event" = String, Path, description = "Event id (`evt_…`)")),
    responses((status = 200, body = EventView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state.repo.event(&auth.store.id, &path).await?.ok_or_else(|| ApiError::not_found("event"))?;
    Ok(HttpResponse::Ok().json(EventView::from(&row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_store() {
        let at = EventPosition { txid: 812, seq: 40 };
        let c = cursor("store-a", at);
        assert_eq!(decode_cursor("store-a", &c).unwrap(), at);
        assert!(decode_cursor("store-b", &c).is_err());
        // A store id that is a prefix of another's, or holds dots, changes nothing.
        assert!(decode_cursor("store", &c).is_err());
        let dotted = cursor("a.b", at);
        assert_eq!(decode_cursor("a.b", &dotted).unwrap(), at);
        for bad in [
            "",
            "!!",
            &b64("events.store-a.1"),
            &b64("events.store-a.x.1"),
            &b64("titles.store-a.1.2"),
            &b64("events.store-a.-1.2"),
        ] {
            assert!(decode_cursor("store-a", bad).is_err(), "{bad}");
        }
        assert!(kinds(Some("entitlement.granted,license.issued")).unwrap().is_some_and(|k| k.len() == 2));
        assert!(kinds(Some("entitlement.granted,nope")).is_err());
        assert!(kinds(Some(" , ")).unwrap().is_none());
    }
}
