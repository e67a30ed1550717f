//! `/v1/webhooks`: a store's webhook endpoints, their secrets, deliveries and attempts (see
//! [`crate::webhooks`] for delivery, and docs/events.md for the guarantees).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::decode_cursor;
use super::jobs::JobView;
use super::paging;
use super::views::{List, Paging};
use crate::auth::StoreAuth;
use crate::db::{AttemptRow, DeliveryRow, EndpointPatch, EndpointRow, EventPosition, JobRow, NewEndpoint};
use crate::edge::{Json, MaybeJson};
use crate::error::{ApiError, problem};
use crate::events::Kind;
use crate::queue::{JobKind, now_ms};
use crate::state::{AppState, now};

/// Endpoints a store may have.
pub const MAX_ENDPOINTS: usize = 20;

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    /// Id (`wh_…`).
    pub id: String,
    /// Where deliveries are sent (`POST`).
    pub url: String,
    /// The store's note.
    pub description: String,
    /// The event types delivered; empty for all.
    pub types: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why Fount disabled it (it answered 410 Gone, or failed for days).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed, seconds since the epoch; null while deliveries
    /// succeed.
    pub failing_since: Option<i64>,
    /// Until when the secret before the last rotation still signs too.
    pub previous_secret_until: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl From<&EndpointRow> for WebhookEndpointView {
    fn from(e: &EndpointRow) -> Self {
        WebhookEndpointView {
            id: e.id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            types: serde_json::from_str(&e.types).unwrap_or_default(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            previous_secret_until: e.previous_until.filter(|u| *u > now()),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint, with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// The signing secret (`whsec_…`): verify deliveries with it. Shown only now; rotate it
    /// to get a new one.
    pub secret: String,
}

/// A new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new signing secret (`whsec_…`).
    pub secret: String,
    /// Until then, deliveries are signed with the previous secret too (seconds since the
    /// epoch): switch receivers over before.
    pub previous_secret_until: i64,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to send deliveries: an http or https URL on the public internet.
    #[schema(max_length = 2048)]
    pub url: String,
    /// Event types to deliver; empty or absent for all.
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// A note (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Deliver from now on (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `PATCH /v1/webhooks/{webhook}`: the members given are set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// Where to send deliveries.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// Event types to deliver; empty for all.
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// A note.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `true` re-enables an endpoint Fount disabled (and forgets its failures); `false`
    /// pauses deliveries.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A delivery: one event for one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id (`dlv_…`).
    pub id: String,
    /// The event's id: the `webhook-id` of every attempt.
    pub event: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub type_: String,
    /// `pending` (attempts continue), `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// What went wrong on the last attempt (no answer, a refused address, a redirect).
    pub last_error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// When an attempt got a 2xx.
    pub delivered_at: Option<i64>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event: d.event_id.clone(),
            type_: d.event_type.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// One try at sending a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// Id (`att_…`).
    pub id: String,
    /// Its delivery.
    pub delivery: String,
    /// The event.
    pub event: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub type_: String,
    /// When, seconds since the epoch.
    pub attempted_at: i64,
    /// Until the answer (or the failure), milliseconds.
    pub duration_ms: i64,
    /// The HTTP status, if an answer came.
    pub status_code: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

impl From<&AttemptRow> for AttemptView {
    fn from(a: &AttemptRow) -> Self {
        AttemptView {
            id: a.id.clone(),
            delivery: a.delivery_id.clone(),
            event: a.event_id.clone(),
            type_: a.event_type.clone(),
            attempted_at: a.attempted_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error: a.error.clone(),
        }
    }
}

/// `POST /v1/webhooks/{webhook}/redeliver`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeliver {
    /// The event to deliver again (`evt_…`).
    pub event: String,
}

/// `POST /v1/webhooks/{webhook}/replay`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// A cursor of `GET /v1/events`: every event after it is delivered again. Absent: every
    /// event kept.
    #[serde(default)]
    pub after: Option<String>,
}

fn types(given: Option<&[String]>) -> Result<Option<String>, ApiError> {
    let Some(given) = given else { return Ok(None) };
    let mut names: Vec<&'static str> = Vec::new();
    for t in given {
        let kind =
            Kind::parse(t).ok_or_else(|| ApiError::validation(format!("`types`: {t:?} is not an event type")))?;
        if !names.contains(&kind.as_str()) {
            names.push(kind.as_str());
        }
    }
    Ok(Some(serde_json::to_string(&names).map_err(ApiError::internal)?))
}

async fn checked_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    state.outbound.check_now(url).await.map(|u| u.to_string()).map_err(|e| ApiError::validation(format!("`url`: {e}")))
}

pub async fn own_endpoint(state: &AppState, store: &str, id: &str) -> Result<EndpointRow, ApiError> {
    match state.repo.endpoint(id).await? {
        Some(e) if e.store_id == store => Ok(e),
        _ => Err(ApiError::not_found("webhook endpoint")),
    }
}

/// Registers an endpoint. Its signing secret is in this answer only.
#[utoipa::path(post, operation_id = "webhooks_create", path = "/v1/webhooks", tag = "store", security(("api_key" = [])),
    request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhookEndpoint), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: StoreAuth,
    body: Json<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let audit = state.audit(auth.actor());
    let (row, secret) = create_endpoint(&state, &auth.store.id, body.into_inner(), &audit).await?;
    Ok(HttpResponse::Created().json(CreatedWebhookEndpoint { endpoint: WebhookEndpointView::from(&row), secret }))
}

/// Registers an endpoint of `store_id` (the API's and the console's); its secret, encoded,
/// for this answer only.
pub async fn create_endpoint(
    state: &AppState,
    store_id: &str,
    b: CreateWebhook,
    audit: &crate::events::Audit,
) -> Result<(EndpointRow, String), ApiError> {
    let url = checked_url(state, &b.url).await?;
    let types = types(b.types.as_deref())?.unwrap_or_else(|| "[]".into());
    let description = super::validate::opt_text("description", b.description.as_deref(), 500)?.unwrap_or_default();
    let existing = state.repo.endpoints(store_id, &crate::db::PageQuery::first(crate::db::page::MAX_LIMIT)).await?;
    if existing.items.len() >= MAX_ENDPOINTS {
        return Err(ApiError::validation(format!("a store may have at most {MAX_ENDPOINTS} webhook endpoints")));
    }
    let id = crate::db::webhooks::new_id("wh");
    let (secret, sealed) = crate::webhooks::new_secret(state, &id)?;
    let new = NewEndpoint {
        store_id: store_id.to_owned(),
        url,
        description,
        types,
        enabled: b.enabled.unwrap_or(true),
        secret: sealed,
    };
    let row = state.repo.create_endpoint(&id, &new, audit, now()).await?;
    Ok((row, crate::webhooks::signing::encode(&secret).to_string()))
}

/// The store's endpoints, oldest first.
#[utoipa::path(get, operation_id = "webhooks_list", path = "/v1/webhooks", tag = "store", security(("api_key" = [])), params(Paging),
    responses((status = 200, body = List<WebhookEndpointView>)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Webhooks, query.limit, query.after.as_deref())?;
    let rows = state.repo.endpoints(&auth.store.id, &page).await?;
    let next = paging::next(paging::List::Webhooks, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.iter().map(WebhookEndpointView::from).collect(), next }))
}

/// One endpoint.
#[utoipa::path(get, operation_id = "webhooks_get", path = "/v1/webhooks/{webhook}", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointView::from(&row)))
}

/// Changes an endpoint: its URL, types, note; `enabled` pauses it, or re-enables one Fount
/// disabled.
#[utoipa::path(patch, operation_id = "webhooks_update", path = "/v1/webhooks/{webhook}", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    request_body = UpdateWebhook,
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: Json<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let b = body.into_inner();
    let patch = EndpointPatch {
        url: match b.url.as_deref() {
            Some(u) => Some(checked_url(&state, u).await?),
            None => None,
        },
        description: super::validate::opt_text("description", b.description.as_deref(), 500)?,
        types: types(b.types.as_deref())?,
        enabled: b.enabled,
    };
    let row = state
        .repo
        .update_endpoint(&row.id, &patch, now())
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    Ok(HttpResponse::Ok().json(WebhookEndpointView::from(&row)))
}

/// Deletes an endpoint, with its deliveries; pending ones are not made.
#[utoipa::path(delete, operation_id = "webhooks_delete", path = "/v1/webhooks/{webhook}", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    if !state.repo.delete_endpoint(&row.id).await? {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the signing secret. The previous one keeps signing too (both signatures are sent)
/// for a day, so receivers can switch without missing a delivery.
#[utoipa::path(post, operation_id = "webhooks_rotate_secret", path = "/v1/webhooks/{webhook}/rotate-secret", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 200, body = RotatedSecret), (status = 404, body = crate::error::Problem)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let (secret, sealed) = crate::webhooks::new_secret(&state, &row.id)?;
    let t = now();
    let until = t.saturating_add(i64::try_from(state.settings.webhooks.rotation_overlap.as_secs()).unwrap_or(86_400));
    state
        .repo
        .rotate_secret(&row.id, &sealed, until, t)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    Ok(HttpResponse::Ok().json(RotatedSecret {
        secret: crate::webhooks::signing::encode(&secret).to_string(),
        previous_secret_until: until,
    }))
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(get, operation_id = "webhooks_deliveries", path = "/v1/webhooks/{webhook}/deliveries", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)"), Paging),
    responses((status = 200, body = List<DeliveryView>), (status = 404, body = crate::error::Problem)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let page = paging::page(paging::List::Deliveries, query.limit, query.after.as_deref())?;
    let rows = state.repo.deliveries(&row.id, &page).await?;
    let next = paging::next(paging::List::Deliveries, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.iter().map(DeliveryView::from).collect(), next }))
}

/// The endpoint's delivery attempts, newest first: when, how long, what status.
#[utoipa::path(get, operation_id = "webhooks_attempts", path = "/v1/webhooks/{webhook}/attempts", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)"), Paging),
    responses((status = 200, body = List<AttemptView>), (status = 404, body = crate::error::Problem)))]
pub async fn attempts(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let page = paging::page(paging::List::Attempts, query.limit, query.after.as_deref())?;
    let rows = state.repo.attempts(&row.id, &page).await?;
    let next = paging::next(paging::List::Attempts, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.iter().map(AttemptView::from).collect(), next }))
}

fn ensure_enabled(row: &EndpointRow) -> Result<(), ApiError> {
    if row.enabled {
        Ok(())
    } else {
        Err(ApiError::new(problem::CONFLICT, "the endpoint is disabled: enable it first (PATCH with `enabled: true`)"))
    }
}

/// Delivers one event to the endpoint again (with the same `webhook-id`).
#[utoipa::path(post, operation_id = "webhooks_redeliver", path = "/v1/webhooks/{webhook}/redeliver", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    request_body = Redeliver,
    responses((status = 202, body = DeliveryView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn redeliver(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: Json<Redeliver>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let delivery = redeliver_event(&state, &row, &body.event).await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(&delivery)))
}

/// Delivers one event to the endpoint again (the API's and the console's).
pub async fn redeliver_event(state: &AppState, row: &EndpointRow, event: &str) -> Result<DeliveryRow, ApiError> {
    ensure_enabled(row)?;
    let jobs = crate::webhooks::deliver::delivery_jobs(&state.settings.webhooks);
    state.repo.redeliver(&row.id, event, jobs, now_ms()).await?.ok_or_else(|| ApiError::not_found("event"))
}

/// Delivers again every event after a cursor of `GET /v1/events` (that the endpoint
/// subscribes to), in the background: follow the job.
#[utoipa::path(post, operation_id = "webhooks_replay", path = "/v1/webhooks/{webhook}/replay", tag = "store", security(("api_key" = [])),
    params(("webhook" = String, Path, description = "Endpoint id (`wh_…`)")),
    request_body(content = Option<Replay>),
    responses((status = 202, body = JobView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn replay(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: MaybeJson<Replay>,
) -> Result<HttpResponse, ApiError> {
    let row = own_endpoint(&state, &auth.store.id, &path).await?;
    let after = match body.0.and_then(|b| b.after) {
        Some(c) => decode_cursor(&auth.store.id, &c)?,
        None => EventPosition::default(),
    };
    let job = replay_after(&state, &row, after).await?;
    Ok(HttpResponse::Accepted().json(JobView::from(&job)))
}

/// Queues the replay of every event after `after` to the endpoint (the API's and the console's).
pub async fn replay_after(state: &AppState, row: &EndpointRow, after: EventPosition) -> Result<JobRow, ApiError> {
    ensure_enabled(row)?;
    let payload = serde_json::json!({"endpoint": row.id, "txid": after.txid, "seq": after.seq});
    Ok(state.repo.enqueue(&JobKind::WebhookReplay.job(payload, Some(&row.store_id), now_ms()), now_ms()).await?)
}
