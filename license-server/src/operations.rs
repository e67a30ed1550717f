//! Operations shared by the API and the command line.

use fount_sdk::ContentKey;
use ring::rand::SystemRandom;

use crate::db::{NewTitle, TitleRow};
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
        NewTitleFields {
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

/// The fields of a title a caller chooses (checked by the caller).
#[derive(Debug, Default, Clone)]
pub struct NewTitleFields {
    /// Store.
    pub store_id: String,
    /// Title.
    pub name: String,
    /// Author.
    pub author: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Price.
    pub price: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Checkout page.
    pub checkout_url: Option<String>,
    /// Cover.
    pub cover_url: Option<String>,
}

/// Creates a title from checked fields.
pub async fn create_title_with(state: &AppState, f: NewTitleFields) -> Result<TitleRow, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let key = ContentKey::generate(&SystemRandom::new()).map_err(ApiError::internal)?;
    let new = NewTitle {
        store_id: f.store_id,
        name: f.name,
        author: f.author,
        language: f.language,
        price: f.price,
        currency: f.currency,
        checkout_url: f.checkout_url,
        cover_url: f.cover_url,
        key_id: key.id().to_string(),
        content_key: state.kek.seal(CONTENT_KEY_PURPOSE, &id, key.expose_secret())?,
        id,
    };
    Ok(state.repo.insert_title(&new, now()).await?)
}
