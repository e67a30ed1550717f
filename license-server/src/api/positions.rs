//! Listening positions, kept per customer so that listening resumes on any device (customer
//! API).

use actix_web::{HttpResponse, web};

use super::views::{PositionView, SavePosition};
use crate::auth::CustomerAuth;
use crate::edge::Json;
use crate::error::ApiError;
use crate::state::{AppState, now};

pub async fn check_title(state: &AppState, auth: &CustomerAuth, title: &str) -> Result<(), ApiError> {
    match state.title_cached(title).await? {
        Some(t) if t.store_id == auth.store_id => Ok(()),
        _ => Err(ApiError::not_found("title")),
    }
}

/// The customer's position in a title; `seconds` is `null` when none is saved (a normal
/// state, not an error).
#[utoipa::path(get, operation_id = "positions_get", path = "/v1/me/positions/{title}", tag = "customer", security(("customer_token" = [])),
    params(("title" = String, Path, description = "Title id")),
    responses((status = 200, body = PositionView), (status = 404, description = "No such title", body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_title(&state, &auth, &path).await?;
    let view = match state.repo.position(&auth.customer_id, &path).await? {
        Some(row) => PositionView {
            title: row.title_id,
            seconds: Some(row.seconds),
            updated_at: Some(row.updated_at),
            changed_at: row.changed_at,
        },
        None => PositionView { title: path.into_inner(), seconds: None, updated_at: None, changed_at: None },
    };
    Ok(HttpResponse::Ok().json(view))
}

/// Saves the customer's position in a title, unless a later change is stored (`changed_at`);
/// answers the position kept.
#[utoipa::path(put, operation_id = "positions_save", path = "/v1/me/positions/{title}", tag = "customer", security(("customer_token" = [])),
    params(("title" = String, Path, description = "Title id")),
    request_body = SavePosition,
    responses((status = 200, body = PositionView), (status = 422, body = crate::error::Problem)))]
pub async fn save(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
    body: Json<SavePosition>,
) -> Result<HttpResponse, ApiError> {
    check_title(&state, &auth, &path).await?;
    if !body.seconds.is_finite() || body.seconds < 0.0 || body.seconds > 1e7 {
        return Err(ApiError::validation("`seconds` must be a position on the title's timeline"));
    }
    let changed_at = change_time(body.changed_at)?;
    let row =
        state.repo.save_position(&auth.store_id, &auth.customer_id, &path, body.seconds, changed_at, now()).await?;
    Ok(HttpResponse::Ok().json(PositionView {
        title: row.title_id,
        seconds: Some(row.seconds),
        updated_at: Some(row.updated_at),
        changed_at: row.changed_at,
    }))
}

/// A device's time of a change (ms), checked; now when not given. A device whose clock runs
/// ahead does not get to win every merge: a time past now counts as now.
pub fn change_time(given: Option<i64>) -> Result<i64, ApiError> {
    let now_ms = crate::queue::now_ms();
    match given {
        None => Ok(now_ms),
        Some(t) if t < 0 => Err(ApiError::validation("`changed_at` is milliseconds since the epoch")),
        Some(t) => Ok(t.min(now_ms)),
    }
}
