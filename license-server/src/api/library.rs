//! What a customer has (customer API): the whole library, and the access to one title, the
//! question a player asks before it acquires a license. "Not bought yet" is an answer here,
//! not an error, so a new visitor's player makes no failing request.

use actix_web::{HttpResponse, web};

use super::views::{LibraryEntry, LibraryItem, List, cover_url};
use crate::auth::CustomerAuth;
use crate::db::EntitlementRow;
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
            access: access(&e, t),
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

/// The access an entitlement gives at `t`.
fn access(e: &EntitlementRow, t: i64) -> &'static str {
    match e.ends_at {
        _ if e.starts_at > t => "upcoming",
        Some(end) if end <= t => "ended",
        Some(_) => "rented",
        None => "owned",
    }
}

/// How much an access is worth, to pick one per title: what plays now beats what will, which
/// beats what did.
fn rank(access: &str) -> u8 {
    match access {
        "owned" => 0,
        "rented" => 1,
        "upcoming" => 2,
        _ => 3,
    }
}

/// The customer's library: every title they own, rent, will rent or rented, one entry each
/// (the best access they have to it), most recently granted first. Whole, not paged: one
/// customer's titles in one store.
#[utoipa::path(get, operation_id = "library_list", path = "/v1/me/titles", tag = "customer", security(("customer_token" = [])),
    responses((status = 200, body = List<LibraryItem>)))]
pub async fn list(state: web::Data<AppState>, auth: CustomerAuth) -> Result<HttpResponse, ApiError> {
    let t = now();
    let mut best: Vec<(&'static str, EntitlementRow)> = Vec::new();
    for e in state.repo.customer_entitlements(&auth.customer_id).await? {
        let a = access(&e, t);
        match best.iter_mut().find(|(_, b)| b.title_id == e.title_id) {
            Some(slot) => {
                // Among equals, the rental that lasts longest.
                let better = rank(a) < rank(slot.0)
                    || (rank(a) == rank(slot.0) && e.ends_at.unwrap_or(i64::MAX) > slot.1.ends_at.unwrap_or(i64::MAX));
                if better {
                    *slot = (a, e);
                }
            }
            None => best.push((a, e)),
        }
    }
    let base = &state.settings.public_url;
    let mut items = Vec::with_capacity(best.len());
    for (a, e) in best {
        // A title is never deleted while an entitlement names it; skip one that went anyway.
        let Some(title) = state.title_cached(&e.title_id).await?.filter(|t| t.store_id == auth.store_id) else {
            continue;
        };
        items.push(LibraryItem {
            title: title.id.clone(),
            name: title.name.clone(),
            author: title.author.clone(),
            cover: cover_url(base, &title),
            manifest_url: format!("{base}/pub/{}/manifest.json", title.id),
            access: a,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            granted_at: e.created_at,
        });
    }
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(List { items, next: None }))
}
