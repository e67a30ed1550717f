//! Operations shared by the API and the command line.

use fount_sdk::ContentKey;
use ring::rand::SystemRandom;

use crate::db::{NewTitle, TitleFields, TitleRow};
use crate::error::ApiError;
use crate::events::Audit;
use crate::media::package::CONTENT_KEY_PURPOSE;
use crate::state::{AppState, now};

/// Creates a title from checked fields, with a fresh content key sealed under the KEK.
pub async fn create_title_with(state: &AppState, f: TitleFields, audit: &Audit) -> Result<TitleRow, ApiError> {
    create_title_as(state, uuid::Uuid::new_v4().to_string(), f, audit).await
}

/// Creates a title with a chosen id (the demo's fixed one).
pub async fn create_title_as(
    state: &AppState,
    id: String,
    f: TitleFields,
    audit: &Audit,
) -> Result<TitleRow, ApiError> {
    let key = ContentKey::generate(&SystemRandom::new()).map_err(ApiError::internal)?;
    let new = NewTitle {
        key_id: key.id().to_string(),
        content_key: state.kek.seal(CONTENT_KEY_PURPOSE, &id, key.expose_secret())?,
        id,
        fields: f,
    };
    Ok(state.repo.insert_title(&new, audit, now()).await?)
}
