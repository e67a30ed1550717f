//! A store's event log as a page: the latest events, filtered by type, followed live (the
//! console's script reloads the list every two seconds while "Follow live" is on; without it,
//! the page's Refresh link does the same by hand).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::pages::{EventLine, EventsPage, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, html, page};
use crate::events::Kind;
use crate::state::AppState;

/// How many events the page shows.
const SHOWN: i64 = 100;

/// `?type=` and `?live=`.
#[derive(Debug, Deserialize)]
pub struct Filter {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    live: Option<String>,
}

/// `/console/stores/{store}/events`.
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    query: web::Query<Filter>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let kind = query
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| Kind::parse(k).ok_or(ConsoleError::NotFound))
        .transpose()?;
    let types = kind.map(|k| vec![k.as_str().to_owned()]);
    let rows = state.repo.latest_events(&store.id, types.as_deref(), SHOWN).await?;
    let events = rows
        .iter()
        .map(|e| EventLine {
            id: e.id.clone(),
            kind: e.type_.clone(),
            actor: e.actor.clone(),
            at: when(e.created_at),
            data: serde_json::from_str::<serde_json::Value>(&e.data)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| e.data.clone()),
        })
        .collect();
    let body = page(&EventsPage {
        nav: nav(&session, Some(&store), "events"),
        store: &store,
        kinds: Kind::ALL.iter().map(|k| k.as_str()).collect(),
        chosen: kind.map_or("", Kind::as_str),
        live: query.live.as_deref() == Some("1"),
        events,
    })?;
    Ok(html(body))
}
