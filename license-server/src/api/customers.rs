//! Customers as the store sees them (store API): tokens and devices.

use actix_web::{HttpResponse, web};

use super::paging;
use super::validate;
use super::views::{DeviceView, List, Paging, TokenRequest, TokenView};
use crate::auth::{MAX_TOKEN_TTL, StoreAuth, mint_customer_token};
use crate::db::{CustomerRow, Removal, Remover};
use crate::edge::MaybeJson;
use crate::error::ApiError;
use crate::state::{AppState, now};

/// Resolves a `?customer=` filter: `Some(None)` for no filter, `Some(Some(id))` for a known
/// customer, `None` for a customer the store has never had (whose lists are empty).
pub async fn customer_filter(
    state: &AppState,
    store_id: &str,
    customer: Option<&str>,
) -> Result<Option<Option<String>>, ApiError> {
    match customer {
        None => Ok(Some(None)),
        Some(c) => Ok(state.repo.customer(store_id, c).await?.map(|row| Some(row.id))),
    }
}

async fn existing(state: &AppState, store_id: &str, customer: &str) -> Result<CustomerRow, ApiError> {
    state.repo.customer(store_id, customer).await?.ok_or_else(|| ApiError::not_found("customer"))
}

/// Mints a short-lived token for one of the store's users. The store's backend calls this for
/// its signed-in user and hands the token to its app or page; the customer is created on
/// first use.
#[utoipa::path(post, operation_id = "customers_mint_token", path = "/v1/customers/{customer}/tokens", tag = "store", security(("api_key" = [])),
    params(("customer" = String, Path, description = "The store's id for its user")),
    request_body(content = Option<TokenRequest>, description = "Optional: the token lifetime. No body, or `null`, means the default lifetime."),
    responses((status = 201, body = TokenView), (status = 422, body = crate::error::Problem)))]
pub async fn mint_token(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: MaybeJson<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let external = validate::ident("customer", &path)?;
    let ttl = body.0.and_then(|b| b.ttl_seconds).unwrap_or(state.settings.token_ttl);
    if !(60..=MAX_TOKEN_TTL).contains(&ttl) {
        return Err(ApiError::validation(format!("`ttl_seconds` must be 60 to {MAX_TOKEN_TTL}")));
    }
    let customer =
        state.repo.upsert_customer(&uuid::Uuid::new_v4().to_string(), &auth.store.id, &external, now()).await?;
    let (token, expires_at) = mint_customer_token(&state, &customer, ttl)?;
    Ok(HttpResponse::Created().json(TokenView { token, expires_at, customer: external }))
}

/// A customer's devices, active and revoked, oldest first.
#[utoipa::path(get, operation_id = "customers_devices", path = "/v1/customers/{customer}/devices", tag = "store", security(("api_key" = [])),
    params(("customer" = String, Path, description = "The store's id for its user"), Paging),
    responses((status = 200, body = List<DeviceView>), (status = 404, body = crate::error::Problem)))]
pub async fn devices(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Devices, query.limit, query.after.as_deref())?;
    let customer = existing(&state, &auth.store.id, &path).await?;
    let rows = state.repo.devices(&customer.id, &page).await?;
    let next = paging::next(paging::List::Devices, &rows);
    Ok(HttpResponse::Ok()
        .json(List::<DeviceView> { items: rows.items.into_iter().map(DeviceView::from).collect(), next }))
}

/// Revokes a device, freeing a place under the device limit. Its active licenses are revoked;
/// the device learns at its next status check, and no later than its licenses' renew-by.
#[utoipa::path(post, operation_id = "customers_revoke_device", path = "/v1/customers/{customer}/devices/{device}/revoke", tag = "store", security(("api_key" = [])),
    params(("customer" = String, Path, description = "The store's id for its user"), ("device" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceView), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_device(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (customer, device) = path.into_inner();
    let customer = existing(&state, &auth.store.id, &customer).await?;
    match state
        .repo
        .revoke_device(Remover::Store, &customer.id, &customer.external_id, &device, &state.audit(auth.actor()), now())
        .await?
    {
        Removal::Removed(row) => Ok(HttpResponse::Ok().json(DeviceView::from(row))),
        Removal::NotFound | Removal::TooSoon { .. } => Err(ApiError::not_found("active device")),
    }
}
