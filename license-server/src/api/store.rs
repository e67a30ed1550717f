//! The store's own settings (store API).

use actix_web::{HttpResponse, web};

use super::validate;
use super::views::{StoreView, UpdateStore};
use crate::auth::StoreAuth;
use crate::db::StorePatch;
use crate::edge::Json;
use crate::error::ApiError;
use crate::state::AppState;

/// The KEK purpose of sealed Stripe webhook secrets.
pub const STRIPE_SECRET_PURPOSE: &str = "stripe-webhook-secret";

/// The longest wait between a customer's device removals a store may set: 90 days.
pub const MAX_REMOVAL_WAIT: i64 = 90 * 86_400;
/// Most origins a store may allow.
pub const MAX_ORIGINS: usize = 20;

/// The store's new list of allowed origins, as JSON, if the request changes it: `replace`
/// sets the list, then `add` and `remove` change it. Each origin is normalised as browsers
/// write it, so `https://Shop.example/` and `https://shop.example` are the same one.
fn origins(
    store: &crate::db::Store,
    replace: Option<Vec<String>>,
    add: Option<Vec<String>>,
    remove: Option<Vec<String>>,
) -> Result<Option<String>, ApiError> {
    if replace.is_none() && add.is_none() && remove.is_none() {
        return Ok(None);
    }
    let check = |list: Option<Vec<String>>| -> Result<Vec<String>, ApiError> {
        list.unwrap_or_default().iter().map(|o| validate::origin(o)).collect()
    };
    let start = match replace {
        Some(r) => check(Some(r))?,
        None => store.origins(),
    };
    let mut list: Vec<String> = Vec::new();
    for o in start.into_iter().chain(check(add)?) {
        if !list.contains(&o) {
            list.push(o);
        }
    }
    let remove = check(remove)?;
    list.retain(|o| !remove.contains(o));
    if list.len() > MAX_ORIGINS {
        return Err(ApiError::validation(format!("a store may allow at most {MAX_ORIGINS} origins")));
    }
    Ok(Some(serde_json::to_string(&list).map_err(ApiError::internal)?))
}

/// The store's settings.
#[utoipa::path(get, operation_id = "store_get", path = "/v1/store", tag = "store", security(("api_key" = [])),
    responses((status = 200, body = StoreView), (status = 401, body = crate::error::Problem)))]
pub async fn get(state: web::Data<AppState>, auth: StoreAuth) -> HttpResponse {
    HttpResponse::Ok().json(StoreView::new(&state.settings.public_url, &auth.store))
}

/// Changes the store's settings: the members given are set, the others kept.
#[utoipa::path(patch, operation_id = "store_update", path = "/v1/store", tag = "store", security(("api_key" = [])),
    request_body = UpdateStore,
    responses((status = 200, body = StoreView), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: StoreAuth,
    body: Json<UpdateStore>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if b.device_limit.is_some_and(|n| !(1..=100).contains(&n)) {
        return Err(ApiError::validation("`device_limit` must be 1 to 100"));
    }
    if b.offline_seconds.is_some_and(|n| !(3600..=366 * 86400).contains(&n)) {
        return Err(ApiError::validation("`offline_seconds` must be one hour to one year"));
    }
    if b.device_removal_wait_seconds.is_some_and(|n| !(0..=MAX_REMOVAL_WAIT).contains(&n)) {
        return Err(ApiError::validation(format!("`device_removal_wait_seconds` must be 0 to {MAX_REMOVAL_WAIT}")));
    }
    let allowed_origins = origins(&auth.store, b.allowed_origins, b.add_allowed_origins, b.remove_allowed_origins)?;
    let stripe_webhook_secret = match b.stripe_webhook_secret {
        Some(secret) if !secret.starts_with("whsec_") || secret.len() > 200 => {
            return Err(ApiError::validation("`stripe_webhook_secret` must be the endpoint's signing secret, whsec_…"));
        }
        Some(secret) => Some(state.kek.seal(STRIPE_SECRET_PURPOSE, &auth.store.id, secret.as_bytes())?),
        None => None,
    };
    let patch = StorePatch {
        name: validate::opt_text("name", b.name.as_deref(), 200)?,
        device_limit: b.device_limit,
        offline_seconds: b.offline_seconds,
        allowed_origins,
        demo: None,
        stripe_webhook_secret,
        device_removal_wait_seconds: b.device_removal_wait_seconds,
    };
    let store = state
        .repo
        .update_store(&auth.store.id, &patch, &state.audit(auth.actor()), crate::state::now())
        .await?
        .ok_or_else(|| ApiError::not_found("store"))?;
    state.changed(crate::db::changes::Change::Store(store.id.clone())).await;
    Ok(HttpResponse::Ok().json(StoreView::new(&state.settings.public_url, &store)))
}
