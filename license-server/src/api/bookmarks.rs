//! A customer's bookmarks in a title, kept so that they follow the listener from device to
//! device (customer API). Each change carries the device's time; the latest change wins, and
//! a removal is kept as a tombstone so that other devices remove the bookmark too (see
//! [`crate::db::bookmarks`]).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::positions::{change_time, check_title};
use super::validate;
use crate::auth::CustomerAuth;
use crate::db::{BookmarkRow, SavedBookmark};
use crate::edge::Json;
use crate::error::ApiError;
use crate::state::AppState;

/// The most bookmarks a customer keeps in a title, removed ones included.
pub const MAX_BOOKMARKS: i64 = 1000;
/// The longest note, characters.
pub const MAX_NOTE: usize = 2000;

/// A bookmark.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookmarkView {
    /// The device's id for it, unique within the title.
    pub id: String,
    /// Where, seconds on the title's timeline.
    pub seconds: f64,
    /// The listener's note.
    pub note: Option<String>,
    /// When it was made, milliseconds since the epoch (the device's clock).
    pub created_at: i64,
    /// When it was last changed or removed, milliseconds since the epoch.
    pub changed_at: i64,
    /// Removed: a device that has it removes it too.
    pub deleted: bool,
}

impl From<BookmarkRow> for BookmarkView {
    fn from(r: BookmarkRow) -> Self {
        BookmarkView {
            id: r.id,
            seconds: r.seconds,
            note: r.note,
            created_at: r.created_at,
            changed_at: r.changed_at,
            deleted: r.deleted,
        }
    }
}

/// A title's bookmarks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookmarkList {
    /// Every bookmark, removed ones included, oldest first.
    pub items: Vec<BookmarkView>,
}

/// `PUT /v1/me/bookmarks/{title}/{bookmark}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveBookmark {
    /// Where, seconds on the title's timeline.
    #[schema(minimum = 0.0, maximum = 10_000_000.0)]
    pub seconds: f64,
    /// The listener's note.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// When it was made, milliseconds since the epoch (default: `changed_at`).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub created_at: Option<i64>,
    /// When the device made this change, milliseconds since the epoch (default: now); the
    /// later change wins.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub changed_at: Option<i64>,
    /// `true` removes it (kept as a tombstone).
    #[serde(default)]
    pub deleted: Option<bool>,
}

/// The customer's bookmarks in a title, removed ones included (a device removes those it has).
#[utoipa::path(get, operation_id = "bookmarks_list", path = "/v1/me/bookmarks/{title}", tag = "customer", security(("customer_token" = [])),
    params(("title" = String, Path, description = "Title id")),
    responses((status = 200, body = BookmarkList), (status = 404, description = "No such title", body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_title(&state, &auth, &path).await?;
    let rows = state.repo.bookmarks(&auth.customer_id, &path).await?;
    Ok(HttpResponse::Ok().json(BookmarkList { items: rows.into_iter().map(BookmarkView::from).collect() }))
}

/// Saves a change to a bookmark (made, moved, noted or removed), unless a later change is
/// stored; answers the bookmark kept.
#[utoipa::path(put, operation_id = "bookmarks_save", path = "/v1/me/bookmarks/{title}/{bookmark}", tag = "customer", security(("customer_token" = [])),
    params(("title" = String, Path, description = "Title id"), ("bookmark" = String, Path, description = "The device's id for the bookmark")),
    request_body = SaveBookmark,
    responses((status = 200, body = BookmarkView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn save(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
    body: Json<SaveBookmark>,
) -> Result<HttpResponse, ApiError> {
    let (title, id) = path.into_inner();
    check_title(&state, &auth, &title).await?;
    let b = body.into_inner();
    let id = validate::ident("bookmark", &id)?;
    if !b.seconds.is_finite() || b.seconds < 0.0 || b.seconds > 1e7 {
        return Err(ApiError::validation("`seconds` must be a position on the title's timeline"));
    }
    let note = validate::opt_long_text("note", b.note.as_deref().filter(|n| !n.trim().is_empty()), MAX_NOTE)?;
    let changed_at = change_time(b.changed_at)?;
    let created_at = match b.created_at {
        Some(t) if t < 0 => return Err(ApiError::validation("`created_at` is milliseconds since the epoch")),
        Some(t) => t.min(changed_at),
        None => changed_at,
    };
    let change = BookmarkRow {
        customer_id: auth.customer_id.clone(),
        title_id: title,
        store_id: auth.store_id.clone(),
        id,
        seconds: b.seconds,
        note,
        created_at,
        changed_at,
        deleted: b.deleted.unwrap_or(false),
    };
    match state.repo.save_bookmark(&change, MAX_BOOKMARKS).await? {
        SavedBookmark::Kept(row) => Ok(HttpResponse::Ok().json(BookmarkView::from(row))),
        SavedBookmark::TooMany => Err(ApiError::validation(format!(
            "a title keeps at most {MAX_BOOKMARKS} bookmarks per customer, removed ones included"
        ))),
    }
}
