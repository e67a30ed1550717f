//! Licenses: issue, renew and return (customer API), status (public), list and revoke (store
//! API).
//!
//! Issuing checks, in order: the title exists in the customer's store; the device is an
//! active device of this customer; an entitlement covers the title. The license then gets
//! `nbf` = the entitlement's start (or now), `exp` = a rental's end, and `renew_by` = the
//! later of now and `nbf`, plus the store's offline window, capped at `exp`.

use actix_web::{HttpResponse, web};
use fount_sdk::license::{self, Confirmation, LicenseClaims, WrappedKey};
use fount_sdk::status::{StatusLink, StatusUpdated};
use fount_sdk::{DevicePublicKey, Jwk, LicenseStatus, StatusDocument, jwe};
use ring::rand::SystemRandom;

use super::customers::customer_filter;
use super::paging;
use super::views::{Acquire, Filter, IssuedLicense, LicenseView, List, effective_status};
use crate::auth::{CustomerAuth, StoreAuth};
use crate::db::{EntitlementRow, LicenseGrant, LicenseRow, Store, TitleRow};
use crate::edge::Json;
use crate::error::{ApiError, problem};
use crate::media::package::content_key;
use crate::state::{AppState, now};

fn status_url(state: &AppState, id: &str) -> String {
    format!("{}/v1/licenses/{id}/status", state.settings.public_url)
}

/// The entitlement that lets the customer have the title, or the reason there is none.
async fn entitlement(
    state: &AppState,
    auth: &CustomerAuth,
    title_id: &str,
    t: i64,
) -> Result<EntitlementRow, ApiError> {
    match state.repo.usable_entitlement(&auth.customer_id, title_id, t).await? {
        Some(e) => Ok(e),
        None => Err(no_entitlement(state, auth, title_id, t).await),
    }
}

/// Why the customer has no usable entitlement to the title.
async fn no_entitlement(state: &AppState, auth: &CustomerAuth, title_id: &str, t: i64) -> ApiError {
    match state.repo.rental_ended(&auth.customer_id, title_id, t).await {
        Ok(true) => ApiError::new(problem::RENTAL_ENDED, "the rental of this title has ended"),
        Ok(false) => ApiError::new(problem::NOT_ENTITLED, "this customer has no entitlement to this title"),
        Err(e) => e.into(),
    }
}

/// Signs the license for `row`, wrapping the title's content key to the device.
fn sign(state: &AppState, row: &LicenseRow, title: &TitleRow, device_jwk: &str) -> Result<String, ApiError> {
    let jwk: Jwk = serde_json::from_str(device_jwk).map_err(ApiError::internal)?;
    let device = DevicePublicKey::from_jwk(&jwk).map_err(ApiError::internal)?;
    let key = content_key(state, title)?;
    let jwe = jwe::encrypt(&device, key.expose_secret(), &SystemRandom::new()).map_err(ApiError::internal)?;
    let claims = LicenseClaims {
        iss: state.settings.public_url.clone(),
        aud: row.store_id.clone(),
        jti: row.id.clone(),
        title: row.title_id.clone(),
        iat: row.issued_at,
        nbf: row.not_before,
        exp: row.expires_at,
        renew_by: row.renew_by,
        status: status_url(state, &row.id),
        cnf: Confirmation { jkt: row.device_jkt.clone() },
        keys: vec![WrappedKey { kid: title.key_id.clone(), jwe }],
    };
    license::sign(&claims, state.keys.current().signer()).map_err(ApiError::internal)
}

fn renew_by(store: &Store, not_before: i64, expires_at: Option<i64>, t: i64) -> i64 {
    let by = t.max(not_before).saturating_add(store.offline_seconds);
    expires_at.map_or(by, |e| by.min(e))
}

fn issued(state: &AppState, row: &LicenseRow, license: String) -> IssuedLicense {
    IssuedLicense {
        id: row.id.clone(),
        license,
        status_url: status_url(state, &row.id),
        not_before: row.not_before,
        expires_at: row.expires_at,
        renew_by: row.renew_by,
    }
}

/// Acquires a license for a title on one of the customer's devices.
#[utoipa::path(post, operation_id = "licenses_acquire", path = "/v1/me/licenses", tag = "customer", security(("customer_token" = [])),
    request_body = Acquire,
    responses((status = 201, body = IssuedLicense),
              (status = 403, description = "Not entitled, rental ended, or device not registered", body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)))]
pub async fn acquire(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    body: Json<Acquire>,
) -> Result<HttpResponse, ApiError> {
    let title = cached_title(&state, &auth.store_id, &body.title).await?;
    let t = now();
    let (device, ent) = state.repo.device_and_entitlement(&auth.customer_id, &body.device, &title.id, t).await?;
    let device = device.ok_or_else(|| {
        ApiError::new(problem::DEVICE_NOT_REGISTERED, "no active device of this customer has this id")
    })?;
    let ent = match ent {
        Some(ent) => ent,
        None => return Err(no_entitlement(&state, &auth, &title.id, t).await),
    };
    let store = state
        .store_cached(&auth.store_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the store no longer exists"))?;
    let not_before = ent.starts_at.max(t);
    let grant = LicenseGrant {
        store_id: store.id.clone(),
        customer_id: auth.customer_id.clone(),
        customer_ref: auth.customer_ref.clone(),
        title_id: title.id.clone(),
        device_id: device.id.clone(),
        device_jkt: device.jkt.clone(),
        entitlement_id: ent.id.clone(),
        not_before,
        expires_at: ent.ends_at,
        renew_by: renew_by(&store, not_before, ent.ends_at, t),
    };
    let row =
        state.repo.issue_license(&uuid::Uuid::new_v4().to_string(), &grant, &state.audit(auth.actor()), t).await?;
    let compact = sign(&state, &row, &title, &device.public_jwk)?;
    crate::observe::metrics::license_issued("acquired");
    Ok(HttpResponse::Created().json(issued(&state, &row, compact)))
}

/// The title, if in the customer's store, through the cache (only its key is used here).
async fn cached_title(state: &AppState, store_id: &str, id: &str) -> Result<std::sync::Arc<TitleRow>, ApiError> {
    match state.title_cached(id).await? {
        Some(t) if t.store_id == store_id => Ok(t),
        _ => Err(ApiError::not_found("title")),
    }
}

async fn customers_license(state: &AppState, auth: &CustomerAuth, id: &str) -> Result<LicenseRow, ApiError> {
    match state.repo.license(id).await? {
        Some(l) if l.customer_id == auth.customer_id => Ok(l),
        _ => Err(ApiError::not_found("license")),
    }
}

/// Refuses unless the license is active at `t`.
fn ensure_active(row: &LicenseRow, t: i64) -> Result<(), ApiError> {
    match effective_status(row, t) {
        LicenseStatus::Active => Ok(()),
        other => Err(not_active(other)),
    }
}

fn not_active(status: LicenseStatus) -> ApiError {
    ApiError::new(problem::LICENSE_NOT_ACTIVE, format!("the license is {}", status.as_str()))
        .with("license_status", status.as_str())
}

/// Renews a license: a fresh license with a new offline window, if it is still active and
/// the customer is still entitled.
#[utoipa::path(post, operation_id = "licenses_renew", path = "/v1/me/licenses/{license}/renew", tag = "customer", security(("customer_token" = [])),
    params(("license" = String, Path, description = "License id")),
    responses((status = 200, body = IssuedLicense), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn renew(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = customers_license(&state, &auth, &path).await?;
    let t = now();
    ensure_active(&row, t)?;
    let ent = entitlement(&state, &auth, &row.title_id, t).await?;
    let store = state.store_cached(&row.store_id).await?.ok_or_else(|| ApiError::not_found("store"))?;
    let title = cached_title(&state, &row.store_id, &row.title_id).await?;
    let device = state
        .repo
        .active_device(&auth.customer_id, &row.device_jkt)
        .await?
        .ok_or_else(|| ApiError::new(problem::DEVICE_NOT_REGISTERED, "the license's device was revoked"))?;
    let renewed = state
        .repo
        .renew_license(&row.id, renew_by(&store, row.not_before, ent.ends_at, t), &state.audit(auth.actor()), t)
        .await?
        .ok_or_else(|| not_active(LicenseStatus::Revoked))?;
    let compact = sign(&state, &renewed, &title, &device.public_jwk)?;
    crate::observe::metrics::license_issued("renewed");
    Ok(HttpResponse::Ok().json(issued(&state, &renewed, compact)))
}

/// Returns a license: the device gives it up (a loan returned early). The customer may then
/// acquire the title again on another device.
#[utoipa::path(post, operation_id = "licenses_give_back", path = "/v1/me/licenses/{license}/return", tag = "customer", security(("customer_token" = [])),
    params(("license" = String, Path, description = "License id")),
    responses((status = 200, body = Object, description = "The license status document"), (status = 409, body = crate::error::Problem)))]
pub async fn give_back(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = customers_license(&state, &auth, &path).await?;
    let t = now();
    ensure_active(&row, t)?;
    let ended = state
        .repo
        .end_license(&row.id, "returned", &state.audit(auth.actor()), t)
        .await?
        .ok_or_else(|| not_active(LicenseStatus::Revoked))?;
    Ok(HttpResponse::Ok().json(status_document(&state, &ended, t)))
}

/// The status document of a license.
pub fn status_document(state: &AppState, row: &LicenseRow, t: i64) -> StatusDocument {
    let status = effective_status(row, t);
    let base = &state.settings.public_url;
    let mut links = vec![StatusLink {
        rel: "self".into(),
        href: status_url(state, &row.id),
        media_type: Some("application/json".into()),
    }];
    if status == LicenseStatus::Active {
        links.push(StatusLink {
            rel: "renew".into(),
            href: format!("{base}/v1/me/licenses/{}/renew", row.id),
            media_type: None,
        });
        links.push(StatusLink {
            rel: "return".into(),
            href: format!("{base}/v1/me/licenses/{}/return", row.id),
            media_type: None,
        });
    }
    let message = match status {
        LicenseStatus::Active => "The license is active.",
        LicenseStatus::Revoked => "The license was revoked by the store.",
        LicenseStatus::Returned => "The license was returned.",
        LicenseStatus::Expired => "The rental has ended.",
    };
    StatusDocument {
        id: row.id.clone(),
        status,
        message: message.into(),
        updated: StatusUpdated {
            license: row.issued_at,
            status: if status == LicenseStatus::Expired {
                row.expires_at.unwrap_or(row.status_updated_at)
            } else {
                row.status_updated_at
            },
        },
        renew_by: row.renew_by,
        links,
    }
}

/// The license status document (after Readium LCP's). Public: the license id is a random
/// UUID that only the license's holder knows.
#[utoipa::path(get, operation_id = "licenses_status", path = "/v1/licenses/{license}/status", tag = "public",
    params(("license" = String, Path, description = "License id")),
    responses((status = 200, body = Object, description = "The status document"), (status = 404, body = crate::error::Problem)))]
pub async fn status(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let row = state.repo.license(&path).await?.ok_or_else(|| ApiError::not_found("license"))?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-cache")).json(status_document(&state, &row, now())))
}

/// Lists the store's licenses, newest first (by first issue: renewals do not move them).
#[utoipa::path(get, operation_id = "licenses_list", path = "/v1/licenses", tag = "store", security(("api_key" = [])), params(Filter),
    responses((status = 200, body = List<LicenseView>)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<Filter>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Licenses, query.limit, query.after.as_deref())?;
    let Some(customer) = customer_filter(&state, &auth.store.id, query.customer.as_deref()).await? else {
        return Ok(HttpResponse::Ok().json(List::<LicenseView> { items: vec![], next: None }));
    };
    let t = now();
    let rows = state.repo.licenses(&auth.store.id, customer.as_deref(), query.title.as_deref(), &page).await?;
    let next = paging::next(paging::List::Licenses, &rows);
    let items = rows.items.into_iter().map(|r| LicenseView::new(r, t)).collect();
    Ok(HttpResponse::Ok().json(List::<LicenseView> { items, next }))
}

/// Revokes a license. The device learns at its next status check, and no later than renew-by.
#[utoipa::path(post, operation_id = "licenses_revoke", path = "/v1/licenses/{license}/revoke", tag = "store", security(("api_key" = [])),
    params(("license" = String, Path, description = "License id")),
    responses((status = 200, body = LicenseView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = match state.repo.license(&path).await? {
        Some(l) if l.store_id == auth.store.id => l,
        _ => return Err(ApiError::not_found("license")),
    };
    let t = now();
    ensure_active(&row, t)?;
    let ended = state
        .repo
        .end_license(&row.id, "revoked", &state.audit(auth.actor()), t)
        .await?
        .ok_or_else(|| not_active(LicenseStatus::Revoked))?;
    Ok(HttpResponse::Ok().json(LicenseView::new(ended, t)))
}
