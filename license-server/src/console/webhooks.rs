//! A store's webhooks: its endpoints (add one, its secret shown once), each endpoint's
//! deliveries and their attempts, a delivery sent again, every kept event replayed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::pages::{DeliveryLine, EndpointLine, WebhookPage, WebhooksPage, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, Done, TokenForm, html, page, see_other};
use crate::api::webhooks::{CreateWebhook, create_endpoint, own_endpoint, redeliver_event, replay_after};
use crate::db::page::all;
use crate::db::{EndpointRow, EventPosition, PageQuery};
use crate::state::AppState;

/// How many deliveries an endpoint's page shows.
const SHOWN: u32 = 50;

fn line(e: &EndpointRow) -> EndpointLine {
    let types: Vec<String> = serde_json::from_str(&e.types).unwrap_or_default();
    EndpointLine {
        id: e.id.clone(),
        url: e.url.clone(),
        description: e.description.clone(),
        types: if types.is_empty() { "every event".into() } else { types.join(", ") },
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
        failing_since: e.failing_since.map(when),
    }
}

/// `/console/stores/{store}/webhooks`.
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    endpoints_page(&state, &session, &path, None).await
}

async fn endpoints_page(
    state: &AppState,
    session: &Session,
    store_id: &str,
    secret: Option<(&str, &str)>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(state, store_id).await?;
    let (sid, repo) = (&store.id, state.repo.as_ref());
    let rows = all(|p| async move { repo.endpoints(sid, &p).await }).await?;
    let body = page(&WebhooksPage {
        nav: nav(session, Some(&store), "webhooks"),
        store: &store,
        endpoints: rows.iter().map(line).collect(),
        new_secret: secret,
    })?;
    Ok(html(body))
}

/// The new endpoint form.
#[derive(Debug, Deserialize)]
pub struct NewEndpointForm {
    csrf: String,
    url: String,
    #[serde(default)]
    description: String,
}

/// Adds an endpoint; the page shows its signing secret this once.
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<NewEndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store(&path)?;
    let f = form.into_inner();
    let description = Some(f.description.trim().to_owned()).filter(|d| !d.is_empty());
    let body = CreateWebhook { url: f.url.trim().to_owned(), description, types: None, enabled: None };
    let (row, secret) = create_endpoint(&state, store, body, &state.audit(session.actor())).await?;
    endpoints_page(&state, &session, store, Some((&row.id, &secret))).await
}

/// `/console/stores/{store}/webhooks/{endpoint}`: its deliveries, newest first.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let (store_id, id) = path.into_inner();
    let store = session.store_row(&state, &store_id).await?;
    let endpoint = own_endpoint(&state, &store.id, &id).await?;
    let rows = state.repo.deliveries(&endpoint.id, &PageQuery::first(SHOWN)).await?;
    let deliveries = rows
        .items
        .iter()
        .map(|d| DeliveryLine {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            last_error: d.last_error.clone().unwrap_or_default(),
            created: when(d.created_at),
        })
        .collect();
    let notice = match done.done.as_deref() {
        Some("redelivered") => Some("Queued: the event is being delivered again."),
        Some("replayed") => Some("Queued: every kept event is being delivered again, oldest first."),
        _ => None,
    };
    let body = page(&WebhookPage {
        nav: nav(&session, Some(&store), "webhooks"),
        store: &store,
        endpoint: line(&endpoint),
        deliveries,
        notice,
    })?;
    Ok(html(body))
}

/// The redeliver form: which event.
#[derive(Debug, Deserialize)]
pub struct RedeliverForm {
    csrf: String,
    event: String,
}

/// Delivers one event to the endpoint again.
pub async fn redeliver(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<RedeliverForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, id) = path.into_inner();
    let store = session.store(&store_id)?;
    let endpoint = own_endpoint(&state, store, &id).await?;
    redeliver_event(&state, &endpoint, &form.event).await?;
    tracing::info!(target: "fount::console", actor = %session.actor(), endpoint = %endpoint.id, event = %form.event, "webhook event delivered again");
    Ok(see_other(&format!("/console/stores/{store}/webhooks/{}?done=redelivered", endpoint.id)))
}

/// Delivers every kept event to the endpoint again.
pub async fn replay(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, id) = path.into_inner();
    let store = session.store(&store_id)?;
    let endpoint = own_endpoint(&state, store, &id).await?;
    let job = replay_after(&state, &endpoint, EventPosition::default()).await?;
    tracing::info!(target: "fount::console", actor = %session.actor(), endpoint = %endpoint.id, job = %job.id, "webhook replay queued");
    Ok(see_other(&format!("/console/stores/{store}/webhooks/{}?done=replayed", endpoint.id)))
}
