//! A store's API keys: made (shown once, on the page that answers the form, never in a URL
//! or a log) and revoked.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::session::Session;
use super::stores::store_page;
use super::{ConsoleError, TokenForm, see_other};
use crate::api::validate;
use crate::state::{AppState, now};

/// The new-key form.
#[derive(Debug, Deserialize)]
pub struct NewKey {
    csrf: String,
    #[serde(default)]
    label: String,
}

/// Makes a key and shows it, this once.
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<NewKey>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store_row(&state, &path).await?;
    let label = validate::opt_text("label", Some(&form.label), 100)?.unwrap_or_default();
    let key = crate::auth::generate_api_key()?;
    state
        .repo
        .insert_api_key(&key.id, &store.id, &key.secret_hash, &label, &state.audit(session.actor()), now())
        .await?;
    let notice = "Copy this key now: it is shown once, and Fount keeps only a hash of it.";
    store_page(&state, &session, &store.id, Some(&key.key), Some(notice)).await
}

/// Revokes a key of the store.
pub async fn revoke(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store, key) = path.into_inner();
    let store = session.store(&store)?;
    // Another store's key is not found, exactly like a key that does not exist.
    match state.repo.api_key(&key).await? {
        Some(k) if k.store_id == store => {}
        _ => return Err(ConsoleError::NotFound),
    }
    state.repo.revoke_api_key(&key, &state.audit(session.actor()), now()).await?;
    Ok(see_other(&format!("/console/stores/{store}?done=revoked")))
}
