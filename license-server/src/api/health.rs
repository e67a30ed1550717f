//! Health, as orchestrators ask for it: liveness (is the process working?) and readiness
//! (can it serve requests?). A failing liveness check means "restart me"; a failing readiness
//! check means "send traffic elsewhere for now". So liveness never looks at the database (a
//! database outage is not cured by restarting every replica), and readiness proves the
//! database takes writes, since a database that has gone read-only still answers reads.

use actix_web::{HttpResponse, web};

use super::views::Health;
use crate::error::ApiError;
use crate::state::{AppState, now};

/// Liveness: the process answers.
#[utoipa::path(get, operation_id = "health_live", path = "/health/live", tag = "public",
    responses((status = 200, body = Health)))]
pub async fn live(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok", database: state.repo.backend(), version: env!("CARGO_PKG_VERSION") })
}

/// Readiness: the database answers and takes writes. `/health` answers the same.
#[utoipa::path(get, operation_id = "health_ready", path = "/health/ready", tag = "public",
    responses((status = 200, body = Health),
              (status = 503, description = "The database is down, unreachable or read-only", body = crate::error::Problem,
               content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait")))))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.repo.check_writes(now()).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: state.repo.backend(),
        version: env!("CARGO_PKG_VERSION"),
    }))
}
