//! Device registration (customer API).

use actix_web::{HttpResponse, web};
use fount_sdk::{DevicePublicKey, Jwk};

use super::validate;
use super::views::{DeviceView, RegisterDevice};
use crate::auth::CustomerAuth;
use crate::db::{NewDevice, Registration};
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
