//! A customer's devices (customer API): registering this one, and managing them all from an
//! account page (list, rename, remove).

use actix_web::{HttpResponse, web};
use fount_sdk::{DevicePublicKey, Jwk};

use super::validate;
use super::views::{DeviceView, MyDevices, RegisterDevice, RenameDevice};
use crate::auth::CustomerAuth;
use crate::db::{NewDevice, Registration, Removal, Remover};
use crate::edge::Json;
use crate::error::{ApiError, problem};
use crate::state::{AppState, now};

/// Registers this device's public key for the customer. The device id is the key's RFC 7638
/// thumbprint. Registering the same key again returns the same device. The store's device
/// limit holds even when many registrations arrive at once.
#[utoipa::path(post, operation_id = "devices_register", path = "/v1/me/devices", tag = "customer", security(("customer_token" = [])),
    request_body = RegisterDevice,
    responses((status = 201, body = DeviceView), (status = 200, description = "Already registered", body = DeviceView),
              (status = 409, description = "Device limit reached", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn register(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    body: Json<RegisterDevice>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let jwk: Jwk = serde_json::from_value(b.jwk)
        .map_err(|e| ApiError::validation(format!("`jwk` must be a public JWK of kty EC or RSA: {e}")))?;
    let key = DevicePublicKey::from_jwk(&jwk).map_err(|e| ApiError::validation(format!("`jwk`: {e}")))?;
    let name = validate::opt_text("name", b.name.as_deref(), 100)?.unwrap_or_default();
    let store = state
        .store_cached(&auth.store_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the store no longer exists"))?;
    let canonical = key.to_jwk();
    let device = NewDevice {
        store_id: auth.store_id.clone(),
        customer_id: auth.customer_id.clone(),
        customer_ref: auth.customer_ref.clone(),
        jkt: key.device_id().as_str().to_owned(),
        public_jwk: serde_json::to_string(&canonical).map_err(ApiError::internal)?,
        name,
    };
    let new_id = uuid::Uuid::new_v4().to_string();
    match state.repo.register_device(&new_id, &device, store.device_limit, &state.audit(auth.actor()), now()).await? {
        Registration::Registered(row) if row.id == new_id => {
            crate::observe::metrics::device_registered();
            Ok(HttpResponse::Created().json(DeviceView::from(row)))
        }
        Registration::Registered(row) => Ok(HttpResponse::Ok().json(DeviceView::from(row))),
        Registration::LimitReached { limit } => {
            Err(ApiError::new(problem::DEVICE_LIMIT, format!("this customer already has {limit} active devices"))
                .with("limit", limit))
        }
    }
}

/// The customer's active devices, oldest first: what an account page lists, with a way to
/// rename or remove each.
#[utoipa::path(get, operation_id = "devices_list", path = "/v1/me/devices", tag = "customer", security(("customer_token" = [])),
    responses((status = 200, body = MyDevices)))]
pub async fn list(state: web::Data<AppState>, auth: CustomerAuth) -> Result<HttpResponse, ApiError> {
    let store = state
        .store_cached(&auth.store_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the store no longer exists"))?;
    let devices = state.repo.active_devices(&auth.customer_id).await?;
    let next_removal_at = next_removal_at(&state, &auth, store.device_removal_wait_seconds).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(MyDevices {
        limit: store.device_limit,
        removal_wait_seconds: store.device_removal_wait_seconds,
        next_removal_at,
        items: devices.into_iter().map(DeviceView::from).collect(),
    }))
}

/// When the customer may next remove a device, if the store's wait still runs.
async fn next_removal_at(state: &AppState, auth: &CustomerAuth, wait: i64) -> Result<Option<i64>, ApiError> {
    if wait <= 0 {
        return Ok(None);
    }
    let last = state.repo.last_customer_removal(&auth.customer_id).await?;
    Ok(last.map(|at| at.saturating_add(wait)).filter(|next| *next > now()))
}

/// Renames one of the customer's active devices. A `PUT` of the name rather than a `PATCH`
/// of the device: the JVM's `HttpURLConnection`, which apps' default transports use, cannot
/// send `PATCH`.
#[utoipa::path(put, operation_id = "devices_rename", path = "/v1/me/devices/{device}/name", tag = "customer", security(("customer_token" = [])),
    params(("device" = String, Path, description = "Device id")),
    request_body = RenameDevice,
    responses((status = 200, body = DeviceView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn rename(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
    body: Json<RenameDevice>,
) -> Result<HttpResponse, ApiError> {
    let name = validate::opt_text("name", Some(&body.name), 100)?
        .ok_or_else(|| ApiError::validation("`name` must not be empty"))?;
    let row = state
        .repo
        .rename_device(&auth.customer_id, &auth.customer_ref, &path, &name, &state.audit(auth.actor()), now())
        .await?
        .ok_or_else(|| ApiError::not_found("active device"))?;
    Ok(HttpResponse::Ok().json(DeviceView::from(row)))
}

/// Removes one of the customer's devices: it is revoked with its licenses, and frees a place
/// under the store's device limit. The store may allow only one removal per period
/// (`device_removal_wait_seconds`): a removal before then is `429 device-removal-too-soon`.
#[utoipa::path(delete, operation_id = "devices_remove", path = "/v1/me/devices/{device}", tag = "customer", security(("customer_token" = [])),
    params(("device" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceView), (status = 404, body = crate::error::Problem),
              (status = 429, description = "The store's wait between removals has not passed", body = crate::error::Problem,
               content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait")))))]
pub async fn remove(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = state
        .store_cached(&auth.store_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the store no longer exists"))?;
    let wait = store.device_removal_wait_seconds;
    let t = now();
    let by = Remover::Customer { wait_seconds: wait };
    match state
        .repo
        .revoke_device(by, &auth.customer_id, &auth.customer_ref, &path, &state.audit(auth.actor()), t)
        .await?
    {
        Removal::Removed(row) => Ok(HttpResponse::Ok().json(DeviceView::from(row))),
        Removal::NotFound => Err(ApiError::not_found("active device")),
        Removal::TooSoon { next_at } => Err(ApiError::new(
            problem::DEVICE_REMOVAL_TOO_SOON,
            format!(
                "this store allows one device removal every {}; the next is possible later",
                crate::webhooks::deliver::span(std::time::Duration::from_secs(u64::try_from(wait).unwrap_or(0)))
            ),
        )
        .with("wait_seconds", wait)
        .with("next_removal_at", next_at)
        .header(actix_web::http::header::RETRY_AFTER, next_at.saturating_sub(t).max(1).to_string())),
    }
}
