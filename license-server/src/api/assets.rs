//! Sealed tracks over HTTP, as a static file server or CDN would serve them: byte ranges
//! (RFC 9110 §14), a strong `ETag` (the file's SHA-256, the same on every replica),
//! conditional requests, and `Cache-Control: immutable`, since a sealed file's name changes
//! whenever its content would.
//!
//! They are public: without a license they are noise. Conditions and ranges are decided in
//! [`crate::assets::conditional`], as the origin (`crate::origin`) decides them.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::assets::conditional::{Answer, Conditions, content_range};
use crate::error::{ApiError, problem};
use crate::state::AppState;

/// The media type of a sealed asset.
pub const SEALED_MEDIA_TYPE: &str = "application/vnd.fount.sealed";

/// A sealed track, whole or by range.
#[utoipa::path(get, operation_id = "assets_track", path = "/pub/{title}/tracks/{file}", tag = "public",
    params(("title" = String, Path, description = "Title id"), ("file" = String, Path, description = "Sealed file name"),
           ("Range" = Option<String>, Header, description = "bytes=first-last")),
    responses((status = 200, description = "The whole sealed file"), (status = 206, description = "A byte range"),
              (status = 304, description = "Not modified"), (status = 404, body = crate::error::Problem),
              (status = 416, body = crate::error::Problem)))]
pub async fn track(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (title, file) = path.into_inner();
    let sealed = state.sealed_file(&title, &file).await?.ok_or_else(|| ApiError::not_found("track"))?;
    let size = sealed.length;
    let etag = format!("\"{}\"", sealed.sha256);

    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::CONTENT_TYPE, SEALED_MEDIA_TYPE));

    let header_str = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let conditions = Conditions {
        if_none_match: header_str(header::IF_NONE_MATCH),
        if_range: header_str(header::IF_RANGE),
        range: header_str(header::RANGE),
    };
    let (start, length) = match Answer::of(size, &etag, conditions) {
        Answer::NotModified => return Ok(response.status(actix_web::http::StatusCode::NOT_MODIFIED).finish()),
        Answer::Whole => (0, size),
        Answer::Part { start, length } => {
            response.status(actix_web::http::StatusCode::PARTIAL_CONTENT);
            response.insert_header((header::CONTENT_RANGE, content_range(start, length, size)));
            (start, length)
        }
        Answer::Unsatisfiable => {
            return Err(ApiError::new(
                problem::RANGE_NOT_SATISFIABLE,
                format!("the file is {size} bytes; the range {} is outside it", conditions.range.unwrap_or_default()),
            )
            .with("size", size)
            .header(header::CONTENT_RANGE, format!("bytes */{size}")));
        }
    };

    // For HEAD, actix sends the headers of this response (Content-Length included) and drops
    // the body unread; so the file is not read either.
    response.no_chunking(length);
    if req.method() == actix_web::http::Method::HEAD || length == 0 {
        return Ok(response.streaming(futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>()));
    }
    let stream = state.assets.range(&file, start..start.saturating_add(length)).await.map_err(ApiError::internal)?;
    Ok(response.streaming(stream))
}

/// Cover art read from an uploaded file. Public, like the manifest that links it; its name
/// changes whenever it would, so it is cached for good.
#[utoipa::path(get, operation_id = "assets_cover", path = "/pub/{title}/covers/{file}", tag = "public",
    params(("title" = String, Path, description = "Title id"), ("file" = String, Path, description = "Cover file name")),
    responses((status = 200, description = "The image", content_type = "image/*", body = Vec<u8>), (status = 404, body = crate::error::Problem)))]
pub async fn cover(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (title, file) = path.into_inner();
    let row = state.repo.title(&title).await?.ok_or_else(|| ApiError::not_found("cover"))?;
    let (Some(stored), Some(media_type)) = (&row.cover_file, &row.cover_type) else {
        return Err(ApiError::not_found("cover"));
    };
    if *stored != file {
        return Err(ApiError::not_found("cover"));
    }
    let bytes = state.assets.read(stored).await.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type.as_str()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

/// A transcript kept from a feed (`podcast:transcript`). Public, like the manifest that links
/// it: the feed published it openly already, so Fount serves it as the feed did, unsealed.
#[utoipa::path(get, operation_id = "assets_transcript", path = "/pub/{title}/transcripts/{file}", tag = "public",
    params(("title" = String, Path, description = "Title id"), ("file" = String, Path, description = "Transcript file name")),
    responses((status = 200, description = "The transcript", content_type = "text/vtt", body = Vec<u8>), (status = 404, body = crate::error::Problem)))]
pub async fn transcript(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (title, file) = path.into_inner();
    let kept = state
        .published_tracks(&title)
        .await?
        .iter()
        .flat_map(|t| serde_json::from_str::<Vec<crate::db::Transcript>>(&t.transcripts).unwrap_or_default())
        .find(|t| t.file == file)
        .ok_or_else(|| ApiError::not_found("transcript"))?;
    let bytes = state.assets.read(&kept.file).await.map_err(ApiError::internal)?;
    // The text types are UTF-8 by the transcript specification.
    let media_type = if kept.media_type.starts_with("text/") {
        format!("{}; charset=utf-8", kept.media_type)
    } else {
        kept.media_type.clone()
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // An HTML transcript is the feed owner's markup: shown, never run.
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox"))
        .body(bytes))
}
