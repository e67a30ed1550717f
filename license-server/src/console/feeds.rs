//! A store's feeds: how each fares (its last sync and what went wrong), its items and what
//! became of each, and a sync started now.

use actix_web::{HttpResponse, web};

use super::pages::{FeedItemLine, FeedLine, FeedPage, FeedsPage, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, Done, TokenForm, html, page, see_other};
use crate::api::feeds::{own_feed, own_feed_with_items, sync_now};
use crate::db::FeedRow;
use crate::db::page::all;
use crate::state::AppState;

fn line(f: &FeedRow) -> FeedLine {
    FeedLine {
        id: f.id.clone(),
        name: f.name.clone().unwrap_or_else(|| f.url.clone()),
        url: f.url.clone(),
        mode: f.mode.clone(),
        status: f.status.clone(),
        last_sync: f.last_sync_at.map(when),
        last_result: f.last_result.clone().unwrap_or_default(),
        last_error: f.last_error.clone().unwrap_or_default(),
        failures: f.failures,
    }
}

/// `/console/stores/{store}/feeds`.
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let (sid, repo) = (&store.id, state.repo.as_ref());
    let rows = all(|p| async move { repo.feeds(sid, &p).await }).await?;
    let notice = (done.done.as_deref() == Some("syncing")).then_some("A sync is queued: the feed is read in a moment.");
    let body = page(&FeedsPage {
        nav: nav(&session, Some(&store), "feeds"),
        store: &store,
        feeds: rows.iter().map(line).collect(),
        notice,
    })?;
    Ok(html(body))
}

/// `/console/stores/{store}/feeds/{feed}`: its items.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (store_id, id) = path.into_inner();
    let store = session.store_row(&state, &store_id).await?;
    let (feed, items) = own_feed_with_items(&state, &store.id, &id).await?;
    let body = page(&FeedPage {
        nav: nav(&session, Some(&store), "feeds"),
        store: &store,
        feed: line(&feed),
        items: items
            .iter()
            .map(|i| FeedItemLine {
                name: i.name.clone().unwrap_or_else(|| i.guid.clone()),
                guid: i.guid.clone(),
                status: i.status.clone(),
                error: i.error.clone().unwrap_or_default(),
                title_id: i.title_id.clone(),
                updated: when(i.updated_at),
            })
            .collect(),
    })?;
    Ok(html(body))
}

/// Syncs a feed now.
pub async fn sync(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, id) = path.into_inner();
    let store = session.store(&store_id)?;
    let feed = own_feed(&state, store, &id).await?;
    let job = sync_now(&state, &feed).await?;
    tracing::info!(target: "fount::console", actor = %session.actor(), feed = %feed.id, job = %job.id, "feed sync queued");
    Ok(see_other(&format!("/console/stores/{store}/feeds?done=syncing")))
}
