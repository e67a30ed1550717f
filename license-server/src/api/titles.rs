//! Titles and uploads (store API).

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::jobs::JobView;
use super::paging;
use super::validate;
use super::views::{CreateTitle, List, Paging, TitleView, TrackView, UpdateTitle};
use crate::auth::StoreAuth;
use crate::db::TitleFields;
use crate::db::TitleRow;
use crate::edge::Json;
use crate::error::{ApiError, problem};
use crate::media::package::{UploadMeta, queue_upload};
use crate::operations::create_title_with;
use crate::state::AppState;

/// The title `id` if it belongs to `store_id`; another store's title is "not found".
pub async fn own_title(state: &AppState, store_id: &str, id: &str) -> Result<TitleRow, ApiError> {
    match state.repo.title(id).await? {
        Some(t) if t.store_id == store_id => Ok(t),
        _ => Err(ApiError::not_found("title")),
    }
}

/// The longest description, characters.
pub const MAX_DESCRIPTION: usize = 10_000;

/// A title's details, each checked; a `title` not given is left empty.
pub fn checked_fields(store_id: &str, b: &UpdateTitle) -> Result<TitleFields, ApiError> {
    Ok(TitleFields {
        store_id: store_id.to_owned(),
        name: validate::opt_text("title", b.title.as_deref(), 500)?.unwrap_or_default(),
        author: validate::opt_text("author", b.author.as_deref(), 500)?,
        description: validate::opt_long_text("description", b.description.as_deref(), MAX_DESCRIPTION)?,
        language: validate::language(b.language.as_deref())?,
        price: validate::price(b.price.as_deref())?,
        currency: validate::currency(b.currency.as_deref())?,
        checkout_url: validate::url("checkout_url", b.checkout_url.as_deref())?,
        cover_url: validate::url("cover_url", b.cover_url.as_deref())?,
        stripe_payment_link: validate::payment_link(b.stripe_payment_link.as_deref())?,
    })
}

/// Creates a title with a fresh content key.
#[utoipa::path(post, operation_id = "titles_create", path = "/v1/titles", tag = "store", security(("api_key" = [])),
    request_body = CreateTitle,
    responses((status = 201, body = TitleView), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: StoreAuth,
    body: Json<CreateTitle>,
) -> Result<HttpResponse, ApiError> {
    let fields = checked_fields(&auth.store.id, &body.into_inner().into())?;
    if fields.price.is_some() != fields.currency.is_some() {
        return Err(ApiError::validation("`price` and `currency` go together"));
    }
    let row = create_title_with(&state, fields, &state.audit(auth.actor())).await?;
    Ok(HttpResponse::Created().json(TitleView::new(&state.settings.public_url, &row, &[])))
}

/// Changes a title's details: the members given are set, the others kept.
#[utoipa::path(patch, operation_id = "titles_update", path = "/v1/titles/{title}", tag = "store", security(("api_key" = [])),
    params(("title" = String, Path, description = "Title id")),
    request_body = UpdateTitle,
    responses((status = 200, body = TitleView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: Json<UpdateTitle>,
) -> Result<HttpResponse, ApiError> {
    let title = own_title(&state, &auth.store.id, &path).await?;
    let fields = checked_fields(&title.store_id, &body)?;
    if fields.price.is_some() && fields.currency.is_none() && title.currency.is_none() {
        return Err(ApiError::validation("a price needs a `currency`"));
    }
    let audit = state.audit(auth.actor());
    let mut row = state
        .repo
        .update_title(&title.id, &fields, &audit, crate::state::now())
        .await?
        .ok_or_else(|| ApiError::not_found("title"))?;
    if let Some(on_sale) = body.on_sale
        && on_sale != row.withdrawn_at.is_none()
    {
        row = state
            .repo
            .set_title_on_sale(&title.id, on_sale, &audit, crate::state::now())
            .await?
            .ok_or_else(|| ApiError::not_found("title"))?;
    }
    Ok(HttpResponse::Ok().json(view(&state, &row).await?))
}

/// Lists the store's titles, oldest first.
#[utoipa::path(get, operation_id = "titles_list", path = "/v1/titles", tag = "store", security(("api_key" = [])), params(Paging),
    responses((status = 200, body = List<TitleView>), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Titles, query.limit, query.after.as_deref())?;
    let rows = state.repo.titles(&auth.store.id, &page).await?;
    let mut items = Vec::new();
    for row in &rows.items {
        items.push(view(&state, row).await?);
    }
    Ok(HttpResponse::Ok().json(List { items, next: paging::next(paging::List::Titles, &rows) }))
}

/// One title.
#[utoipa::path(get, operation_id = "titles_get", path = "/v1/titles/{title}", tag = "store", security(("api_key" = [])),
    params(("title" = String, Path, description = "Title id")),
    responses((status = 200, body = TitleView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_title(&state, &auth.store.id, &path).await?;
    Ok(HttpResponse::Ok().json(view(&state, &row).await?))
}

/// Query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Track name (default: the file's title tag, else "Track n").
    #[serde(default)]
    pub name: Option<String>,
    /// The original file name, used as a format hint.
    #[serde(default)]
    pub filename: Option<String>,
}

/// Uploads an audio file as the title's next track. The body is the file itself. A file that
/// is not audio is refused at once; otherwise the answer is `202` with the track
/// `processing` and the job that probes (duration, chapters, cover) and seals it, then adds it
/// to the manifest (`track.published`), or marks it `failed` (`track.failed`).
#[utoipa::path(post, operation_id = "titles_upload", path = "/v1/titles/{title}/tracks", tag = "store", security(("api_key" = [])),
    params(("title" = String, Path, description = "Title id"), UploadQuery),
    request_body(content(
        (Vec<u8> = "audio/mpeg"), (Vec<u8> = "audio/mp4"), (Vec<u8> = "audio/flac"), (Vec<u8> = "audio/ogg"),
        (Vec<u8> = "audio/wav"), (Vec<u8> = "application/octet-stream"),
    ), description = "The audio file itself (MP3, M4A/M4B, FLAC, Ogg Vorbis, WAV)"),
    responses((status = 202, body = UploadAccepted), (status = 413, body = crate::error::Problem), (status = 415, body = crate::error::Problem)))]
pub async fn upload(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let title = own_title(&state, &auth.store.id, &path).await?;
    let limit = state.settings.limits.upload_bytes;
    let too_large = || {
        ApiError::new(problem::PAYLOAD_TOO_LARGE, format!("uploads are limited to {limit} bytes")).with("limit", limit)
    };
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !(media.starts_with("audio/") || media == "application/octet-stream" || media.is_empty()) {
        return Err(ApiError::new(
            problem::UNSUPPORTED_MEDIA_TYPE,
            "send the audio file as the body, with an audio/* content type",
        ));
    }
    if let Some(len) = req.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let name = validate::opt_text("name", query.name.as_deref(), 500)?;
    let hint = query
        .filename
        .as_deref()
        .and_then(|f| f.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()))
        .or_else(|| media.starts_with("audio/").then(|| media.clone()));

    let tmp_dir = state.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(ApiError::internal)?;
    let tmp = tmp_dir.join(format!("{}.upload", uuid::Uuid::new_v4()));
    let result = async {
        let mut file = tokio::fs::File::create(&tmp).await.map_err(ApiError::internal)?;
        let mut received = 0u64;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::from(crate::edge::body::classify(&e)))?;
            received = received.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
            if received > limit {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        file.flush().await.map_err(ApiError::internal)?;
        if received == 0 {
            return Err(ApiError::new(problem::UNSUPPORTED_MEDIA_TYPE, "the upload is empty"));
        }
        let meta = UploadMeta { name, hint, ..Default::default() };
        queue_upload(&state, &title, &tmp, meta, &state.audit(auth.actor())).await
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    let queued = result?;
    Ok(HttpResponse::Accepted().json(UploadAccepted {
        track: TrackView::new(&state.settings.public_url, &queued.track),
        job: JobView::from(&queued.job),
    }))
}

/// An upload taken: its track, `processing`, and the job packaging it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadAccepted {
    /// The new track, `processing` until the job publishes it (`published`) or finds the file
    /// unusable (`failed`, with `error`).
    pub track: TrackView,
    /// The job: poll `GET /v1/jobs/{id}`, or listen for `track.published` and `track.failed`.
    pub job: JobView,
}

/// A title with its tracks, as the API shows it.
async fn view(state: &AppState, row: &TitleRow) -> Result<TitleView, ApiError> {
    let tracks = state.repo.tracks(&row.id).await?;
    Ok(TitleView::new(&state.settings.public_url, row, &tracks))
}
