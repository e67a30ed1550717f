//! Operations shared by the API and the command line.

use fount_sdk::ContentKey;
use ring::rand::SystemRandom;

use crate::db::{NewTitle, TitleFields, TitleRow};
use crate::error::ApiError;
use crate::media::package::CONTENT_KEY_PURPOSE;
use crate::state::{AppState, now};

/// Creates a title with a fresh content key, sealed under the KEK.
pub async fn create_title(
    state: &AppState,
    store_id: &str,
    name: &str,
    author: Option<&str>,
    price: Option<(&str, &str)>,
) -> Result<TitleRow, ApiError> {
    create_title_with(
        state,
        TitleFields {
            store_id: store_id.to_owned(),
            name: name.to_owned(),
            author: author.map(str::to_owned),
            price: price.map(|p| p.0.to_owned()),
            currency: price.map(|p| p.1.to_owned()),
            ..Default::default()
        },
    )
    .await
}

/// Creates a title from checked fields.
pub async fn create_title_with(state: &AppState, f: TitleFields) -> Result<TitleRow, ApiError> {
    create_title_as(state, uuid::Uuid::new_v4().to_string(), f).await
}

/// Creates a title with a chosen id (the demo's fixed one).
pub async fn create_title_as(state: &AppState, id: String, f: TitleFields) -> Result<TitleRow, ApiError> {
    let key = ContentKey::generate(&SystemRandom::new()).map_err(ApiError::internal)?;
    let new = NewTitle {
        key_id: key.id().to_string(),
        content_key: state.kek.seal(CONTENT_KEY_PURPOSE, &id, key.expose_secret())?,
        id,
        fields: f,
    };
    Ok(state.repo.insert_title(&new, now()).await?)
}
