//! A store's titles: create one, set its details, price and checkout, put it on sale or take
//! it off, and upload its tracks.
//!
//! An upload is an ordinary `multipart/form-data` form (it works without JavaScript); the
//! console's script sends the same form with `XMLHttpRequest` to show a progress bar, then
//! follows the page as the worker probes and seals the track (`processing`, then `published`
//! or `failed` with the reason). The anti-forgery token is the form's first field, so it is
//! checked before a byte of the file is kept.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::pages::{ChapterLine, TitleLine, TitlePage, TitlesPage, TrackLine};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, Done, TokenForm, html, page, see_other};
use crate::api::titles::{checked_fields, own_title};
use crate::api::views::UpdateTitle;
use crate::db::page::all;
use crate::db::{TitleRow, TrackRow};
use crate::media::package::{UploadMeta, queue_upload};
use crate::operations::create_title_with;
use crate::state::{AppState, now};

/// `/console/stores/{store}/titles`: every title, and a form to make one.
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let (sid, repo) = (&store.id, state.repo.as_ref());
    let titles = all(|p| async move { repo.titles(sid, &p).await }).await?;
    let mut lines = Vec::with_capacity(titles.len());
    for t in titles.iter().rev() {
        let tracks = state.repo.tracks(&t.id).await?;
        lines.push(TitleLine {
            id: t.id.clone(),
            name: t.name.clone(),
            author: t.author.clone().unwrap_or_default(),
            price: price(t),
            tracks: tracks.len(),
            processing: tracks.iter().filter(|k| k.status == "processing").count(),
            failed: tracks.iter().filter(|k| k.status == "failed").count(),
            on_sale: t.withdrawn_at.is_none(),
        });
    }
    let body = page(&TitlesPage { nav: nav(&session, Some(&store), "titles"), store: &store, titles: lines })?;
    Ok(html(body))
}

/// The details form (creating a title, or changing one).
#[derive(Debug, Deserialize)]
pub struct DetailsForm {
    csrf: String,
    title: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    checkout_url: String,
    #[serde(default)]
    stripe_payment_link: String,
}

impl DetailsForm {
    /// The form as the API's change of a title: empty fields are left as they are.
    fn update(&self) -> UpdateTitle {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        UpdateTitle {
            title: given(&self.title),
            author: given(&self.author),
            description: None,
            language: None,
            price: given(&self.price),
            currency: given(&self.currency).map(|c| c.to_ascii_uppercase()),
            checkout_url: given(&self.checkout_url),
            cover_url: None,
            stripe_payment_link: given(&self.stripe_payment_link),
            on_sale: None,
        }
    }
}

/// Creates a title, then shows it (to upload its tracks).
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<DetailsForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store(&path)?;
    let fields = checked_fields(store, &form.update())?;
    if fields.name.is_empty() {
        return Err(ConsoleError::Invalid("A title needs its name.".into()));
    }
    if fields.price.is_some() != fields.currency.is_some() {
        return Err(ConsoleError::Invalid("A price needs its currency, and a currency its price.".into()));
    }
    let row = create_title_with(&state, fields, &state.audit(session.actor())).await?;
    Ok(see_other(&format!("/console/stores/{store}/titles/{}?done=created", row.id)))
}

/// `/console/stores/{store}/titles/{title}`: its details, its tracks, an upload form.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let (store_id, title_id) = path.into_inner();
    let store = session.store_row(&state, &store_id).await?;
    let title = own_title(&state, &store.id, &title_id).await?;
    let tracks = state.repo.tracks(&title.id).await?;
    let notice = match done.done.as_deref() {
        Some("created") => Some("The title is made. Upload its tracks below."),
        Some("saved") => Some("Details saved."),
        Some("uploaded") => Some("Uploaded: the track is being prepared; this page follows it."),
        Some("on-sale") => Some("The title is on sale."),
        Some("off-sale") => Some("The title is off sale: nobody new can get it; listeners who have it keep it."),
        _ => None,
    };
    let lines: Vec<TrackLine> = tracks.iter().map(track_line).collect();
    let processing = lines.iter().any(|t| t.status == "processing");
    let body = page(&TitlePage {
        nav: nav(&session, Some(&store), "titles"),
        store: &store,
        title: &title,
        price: title.price.clone().unwrap_or_default(),
        currency: title.currency.clone().unwrap_or_default(),
        tracks: lines,
        processing,
        upload_limit_mb: state.settings.limits.upload_bytes / (1024 * 1024),
        notice,
    })?;
    Ok(html(body))
}

/// Saves a title's details.
pub async fn update(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<DetailsForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, title_id) = path.into_inner();
    let store = session.store(&store_id)?;
    let title = own_title(&state, store, &title_id).await?;
    let fields = checked_fields(store, &form.update())?;
    if fields.price.is_some() && fields.currency.is_none() && title.currency.is_none() {
        return Err(ConsoleError::Invalid("A price needs its currency.".into()));
    }
    state.repo.update_title(&title.id, &fields, &state.audit(session.actor()), now()).await?;
    Ok(see_other(&format!("/console/stores/{store}/titles/{}?done=saved", title.id)))
}

/// Puts a title on sale (`/sale`) or takes it off (`/withdraw`).
pub async fn set_on_sale(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
    on_sale: bool,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, title_id) = path.into_inner();
    let store = session.store(&store_id)?;
    let title = own_title(&state, store, &title_id).await?;
    state.repo.set_title_on_sale(&title.id, on_sale, &state.audit(session.actor()), now()).await?;
    let done = if on_sale { "on-sale" } else { "off-sale" };
    Ok(see_other(&format!("/console/stores/{store}/titles/{}?done={done}", title.id)))
}

/// `POST …/sale`.
pub async fn sale(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_on_sale(state, session, path, form, true).await
}

/// `POST …/withdraw`.
pub async fn withdraw(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_on_sale(state, session, path, form, false).await
}

/// Takes an uploaded track (`multipart/form-data`: `csrf`, then `name`, then `file`) and
/// queues its packaging, as `POST /v1/titles/{title}/tracks` does.
pub async fn upload(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    mut form: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    let (store_id, title_id) = path.into_inner();
    let store = session.store(&store_id)?;
    let title = own_title(&state, store, &title_id).await?;
    let limit = state.settings.limits.upload_bytes;
    let tmp_dir = state.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(ConsoleError::internal)?;
    let tmp = tmp_dir.join(format!("{}.upload", uuid::Uuid::new_v4()));
    let result = receive(&state, &session, &title, &mut form, &tmp, limit).await;
    let _ = tokio::fs::remove_file(&tmp).await;
    result?;
    Ok(see_other(&format!("/console/stores/{store}/titles/{}?done=uploaded", title.id)))
}

async fn receive(
    state: &AppState,
    session: &Session,
    title: &TitleRow,
    form: &mut Multipart,
    tmp: &std::path::Path,
    limit: u64,
) -> Result<(), ConsoleError> {
    let unreadable =
        |e: actix_multipart::MultipartError| ConsoleError::Invalid(format!("the upload could not be read: {e}"));
    let (mut checked, mut name, mut hint, mut received) = (false, None, None, 0u64);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(unreadable)?;
        match field.name().unwrap_or("") {
            "csrf" => {
                let token = small_text(&mut field).await?;
                session.check(&token)?;
                checked = true;
            }
            "name" if checked => {
                let text = small_text(&mut field).await?;
                name = crate::api::validate::opt_text("name", Some(text.trim()).filter(|t| !t.is_empty()), 500)?;
            }
            "file" if checked => {
                hint = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .and_then(|f| f.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()));
                let mut file = tokio::fs::File::create(tmp).await.map_err(ConsoleError::internal)?;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    received = received.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                    if received > limit {
                        return Err(ConsoleError::Invalid(format!(
                            "The file is larger than uploads may be ({} MB).",
                            limit / (1024 * 1024)
                        )));
                    }
                    file.write_all(&chunk).await.map_err(ConsoleError::internal)?;
                }
                file.flush().await.map_err(ConsoleError::internal)?;
            }
            // A field before the token, or one this form does not have.
            _ if !checked => return Err(ConsoleError::Forgery),
            _ => {}
        }
    }
    if !checked {
        return Err(ConsoleError::Forgery);
    }
    if received == 0 {
        return Err(ConsoleError::Invalid("Choose an audio file to upload.".into()));
    }
    let meta = UploadMeta { name, hint, ..Default::default() };
    queue_upload(state, title, tmp, meta, &state.audit(session.actor())).await?;
    Ok(())
}

/// A short text field of a multipart form (at most 4 KiB).
async fn small_text(field: &mut actix_multipart::Field) -> Result<String, ConsoleError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ConsoleError::Invalid(format!("the form could not be read: {e}")))?;
        if bytes.len().saturating_add(chunk.len()) > 4096 {
            return Err(ConsoleError::Invalid("A field of the form is too long.".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ConsoleError::Invalid("A field of the form is not text.".into()))
}

fn price(t: &TitleRow) -> String {
    match (&t.price, &t.currency) {
        (Some(p), Some(c)) => format!("{p} {c}"),
        _ => String::new(),
    }
}

fn track_line(t: &TrackRow) -> TrackLine {
    #[derive(Deserialize)]
    struct Chapter {
        title: String,
        offset: f64,
    }
    let chapters: Vec<Chapter> = serde_json::from_str(&t.chapters).unwrap_or_default();
    TrackLine {
        name: t.name.clone(),
        status: t.status.clone(),
        error: t.error.clone().unwrap_or_default(),
        duration: clock(t.duration),
        size: size(t.original_length),
        chapters: chapters.into_iter().map(|c| ChapterLine { title: c.title, at: clock(c.offset) }).collect(),
    }
}

/// Bytes as people read them: `12 bytes`, `24 KB`, `3.2 MB`.
fn size(bytes: i64) -> String {
    let b = super::charts::as_f64(bytes);
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < 1_048_576.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / 1_048_576.0)
    }
}

/// Seconds as `1:02:03` or `2:03`.
fn clock(seconds: f64) -> String {
    // Whole seconds of a track fit an i64 (a file is at most some gigabytes).
    #[allow(clippy::cast_possible_truncation)]
    let s = if seconds.is_finite() && seconds > 0.0 { seconds.round() as i64 } else { 0 };
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::{clock, size};

    #[test]
    fn durations_read_as_clocks() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(62.4), "1:02");
        assert_eq!(clock(3723.0), "1:02:03");
        assert_eq!(clock(f64::NAN), "0:00");
        assert_eq!(size(24_926), "24 KB");
        assert_eq!(size(3_355_443), "3.2 MB");
        assert_eq!(size(12), "12 bytes");
    }
}
