//! Public endpoints: the key set, manifests, the API description and the pages that
//! document problem types.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template as _;

use crate::error::{ApiError, problem};
use crate::media::publication;
use crate::pages;
use crate::state::AppState;

/// The server's public signing keys (RFC 7517). Licenses and customer tokens name theirs by
/// `kid`; after a rotation the set holds the old keys too.
#[utoipa::path(get, operation_id = "public_jwks", path = "/.well-known/jwks.json", tag = "public",
    responses((status = 200, description = "JSON Web Key Set", body = Object, content_type = "application/jwk-set+json")))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::CONTENT_TYPE, "application/jwk-set+json"))
        .json(state.keys.current().jwks())
}

/// A title's Readium Web Publication Manifest (audiobook profile).
#[utoipa::path(get, operation_id = "public_manifest", path = "/pub/{title}/manifest.json", tag = "public",
    params(("title" = String, Path, description = "Title id")),
    responses((status = 200, description = "The Readium Web Publication Manifest", body = Object, content_type = "application/audiobook+json"),
              (status = 304, description = "Not modified"), (status = 404, body = crate::error::Problem)))]
pub async fn manifest(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let title = state.repo.title(&path).await?.ok_or_else(|| ApiError::not_found("title"))?;
    let tracks = state.published_tracks(&title.id).await?;
    if tracks.is_empty() {
        return Err(ApiError::not_found("published title (it has no tracks yet)"));
    }
    let body = serde_json::to_vec(&publication::build(&title, &tracks, state.settings.assets_public_url.as_deref()))
        .map_err(ApiError::internal)?;
    let etag =
        format!("\"{}\"", fount_sdk::encoding::b64(&ring::digest::digest(&ring::digest::SHA256, &body).as_ref()[..16]));
    let mut response = HttpResponse::Ok();
    response.insert_header((header::ETAG, etag.clone())).insert_header((header::CACHE_CONTROL, "no-cache"));
    if req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == etag) {
        return Ok(response.status(actix_web::http::StatusCode::NOT_MODIFIED).finish());
    }
    Ok(response.insert_header((header::CONTENT_TYPE, fount_sdk::manifest::MEDIA_TYPE)).body(body))
}

/// The OpenAPI description of this API.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(super::openapi::document())
}

/// A page explaining a problem type: the target of every error's `type`.
pub async fn problem_page(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let kind =
        problem::ALL.iter().find(|p| p.slug == path.as_str()).ok_or_else(|| ApiError::not_found("problem type"))?;
    let html = pages::ProblemPage { kind, all: problem::ALL }.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// The server's home page.
pub async fn index(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let html = pages::IndexPage { base: &state.settings.public_url, version: env!("CARGO_PKG_VERSION") }
        .render()
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}
