//! `GET /metrics`: this process's metrics in the Prometheus text format (the list and their
//! meaning: [`crate::observe::metrics`]).

use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::state::AppState;

/// The text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics, when the operator's token (if one is set) is sent as a bearer token.
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "public",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
              (status = 401, description = "`FOUNT_METRICS_TOKEN` is set and was not sent", body = crate::error::Problem)))]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = state.settings.metrics_token.as_deref() {
        let given = crate::auth::bearer(&req).unwrap_or_default();
        // Hashes first, so the comparison takes the same time whatever the lengths.
        let same: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
        if !same {
            return Err(ApiError::unauthorized("send the metrics token (FOUNT_METRICS_TOKEN) as a bearer token"));
        }
    }
    let text = crate::observe::metrics::render(&state).await;
    Ok(HttpResponse::Ok()
        .insert_header(("content-type", TEXT_FORMAT))
        .insert_header(("cache-control", "no-store"))
        .body(text))
}

/// The routes of a worker's metrics listener: `/metrics` alone.
pub fn configure_worker(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state))
        .service(crate::edge::at("/metrics").get(metrics).finish())
        .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::not_found("resource")) }));
}
