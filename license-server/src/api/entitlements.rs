//! Entitlements (store API): who may have which title.

use actix_web::{HttpResponse, web};

use super::customers::customer_filter;
use super::paging;
use super::titles::own_title;
use super::validate;
use super::views::{EntitlementKind, EntitlementView, Filter, Grant, List};
use crate::auth::StoreAuth;
use crate::db::NewEntitlement;
use crate::edge::Json;
use crate::error::ApiError;
use crate::state::{AppState, now};

/// Grants a customer a title, as a purchase or a rental. Idempotent by `reference`.
#[utoipa::path(post, operation_id = "entitlements_grant", path = "/v1/entitlements", tag = "store", security(("api_key" = [])),
    request_body = Grant,
    responses((status = 201, description = "Granted", body = EntitlementView),
              (status = 200, description = "Already granted with this reference", body = EntitlementView),
              (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn grant(state: web::Data<AppState>, auth: StoreAuth, body: Json<Grant>) -> Result<HttpResponse, ApiError> {
    let g = body.into_inner();
    let (entitlement, created) =
        grant_entitlement(&state, &auth.store.id, g, "api", &state.audit(auth.actor())).await?;
    let view = EntitlementView::from(entitlement);
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

/// Checks and records a grant; shared by the API and the payment webhooks.
pub async fn grant_entitlement(
    state: &AppState,
    store_id: &str,
    g: Grant,
    source: &str,
    audit: &crate::events::Audit,
) -> Result<(crate::db::EntitlementRow, bool), ApiError> {
    let customer_ref = validate::ident("customer", &g.customer)?;
    let reference = g.reference.as_deref().map(|r| validate::ident("reference", r)).transpose()?;
    let title = own_title(state, store_id, &g.title).await?;
    // A title off sale (taken off by the store, or its feed item gone) is not granted through
    // the API or the console; a payment already taken for it (the webhooks) is still honoured.
    if title.withdrawn_at.is_some() && matches!(source, "api" | "console") {
        return Err(ApiError::new(
            crate::error::problem::TITLE_WITHDRAWN,
            "the title is off sale (withdrawn by the store, or its feed item went away)",
        ));
    }
    let t = now();
    let starts_at = validate::time("starts_at", g.starts_at)?.unwrap_or(t);
    let ends_at = validate::time("ends_at", g.ends_at)?;
    match (g.kind, ends_at) {
        (EntitlementKind::Purchase, Some(_)) => {
            return Err(ApiError::validation("a purchase has no `ends_at`; use kind `rental`"));
        }
        (EntitlementKind::Rental, None) => return Err(ApiError::validation("a rental needs `ends_at`")),
        (EntitlementKind::Rental, Some(end)) if end <= starts_at => {
            return Err(ApiError::validation("`ends_at` must be after `starts_at`"));
        }
        _ => {}
    }
    let customer = state.repo.upsert_customer(&uuid::Uuid::new_v4().to_string(), store_id, &customer_ref, t).await?;
    let new = NewEntitlement {
        store_id: store_id.to_owned(),
        customer_id: customer.id,
        customer_ref,
        title_id: title.id,
        kind: g.kind.as_str().to_owned(),
        starts_at,
        ends_at,
        source: source.to_owned(),
        reference,
    };
    Ok(state.repo.grant(&uuid::Uuid::new_v4().to_string(), &new, audit, t).await?)
}

/// Lists entitlements, newest first.
#[utoipa::path(get, operation_id = "entitlements_list", path = "/v1/entitlements", tag = "store", security(("api_key" = [])), params(Filter),
    responses((status = 200, body = List<EntitlementView>)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<Filter>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Entitlements, query.limit, query.after.as_deref())?;
    let Some(customer) = customer_filter(&state, &auth.store.id, query.customer.as_deref()).await? else {
        return Ok(HttpResponse::Ok().json(List::<EntitlementView> { items: vec![], next: None }));
    };
    let rows = state.repo.entitlements(&auth.store.id, customer.as_deref(), query.title.as_deref(), &page).await?;
    let next = paging::next(paging::List::Entitlements, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.into_iter().map(EntitlementView::from).collect(), next }))
}

/// Revokes an entitlement (a refund, a chargeback); its active licenses are revoked with it.
#[utoipa::path(post, operation_id = "entitlements_revoke", path = "/v1/entitlements/{entitlement}/revoke", tag = "store", security(("api_key" = [])),
    params(("entitlement" = String, Path, description = "Entitlement id")),
    responses((status = 200, body = EntitlementView), (status = 404, body = crate::error::Problem)))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let existing = match state.repo.entitlement(&path).await? {
        Some(e) if e.store_id == auth.store.id => e,
        _ => return Err(ApiError::not_found("entitlement")),
    };
    let row = match state.repo.revoke_entitlement(&existing.id, &state.audit(auth.actor()), now()).await? {
        Some(row) => row,
        // Already revoked: revoking again is a no-op that reports the current state.
        None => existing,
    };
    Ok(HttpResponse::Ok().json(EntitlementView::from(row)))
}
