//! What a customer has (customer API): the access to one title, the question a player asks
//! before it acquires a license. "Not bought yet" is an answer here, not an error, so a new
//! visitor's player makes no failing request.

use actix_web::{HttpResponse, web};

use super::views::LibraryEntry;
use crate::auth::CustomerAuth;
use crate::error::ApiError;
use crate::state::{AppState, now};

/// The customer's access to a title: `owned` (a purchase), `rented` (a rental, until
/// `ends_at`), `upcoming` (granted from `starts_at`), `ended` (a rental that ended) or `none`.
#[utoipa::path(get, operation_id = "library_title", path = "/v1/me/titles/{title}", tag = "customer", security(("customer_token" = [])),
    params(("title" = String, Path, description = "Title id")),
    responses((status = 200, body = LibraryEntry), (status = 404, description = "No such title in the customer's store", body = crate::error::Problem)))]
pub async fn title(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let title = match state.title_cached(&path).await? {
        Some(t) if t.store_id == auth.store_id => t,
        _ => return Err(ApiError::not_found("title")),
    };
    let t = now();
    let entry = match state.repo.usable_entitlement(&auth.customer_id, &title.id, t).await? {
        Some(e) => LibraryEntry {
            title: title.id.clone(),
            access: if e.starts_at > t {
                "upcoming"
            } else if e.ends_at.is_some() {
                "rented"
            } else {
                "owned"
            },
            starts_at: Some(e.starts_at),
            ends_at: e.ends_at,
        },
        None => LibraryEntry {
            title: title.id.clone(),
            access: if state.repo.rental_ended(&auth.customer_id, &title.id, t).await? { "ended" } else { "none" },
            starts_at: None,
            ends_at: None,
        },
    };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(entry))
}
