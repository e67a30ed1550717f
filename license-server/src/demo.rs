//! `fount-server demo`: a ready store with a sample title.
//!
//! The sample is a short audiobook of synthetic speech made for Fount (see
//! `examples/media/make-sample.sh`), built into the binary so the demo runs from anywhere.
//! A second start with the same data folder reuses what the first made.

use serde::{Deserialize, Serialize};

use crate::auth::generate_api_key;
use crate::error::ApiError;
use crate::operations;
use crate::state::{AppState, now};

/// The demo's audiobook: three chapters, 38 seconds, MP3.
pub const SAMPLE_MP3: &[u8] = include_bytes!("../../examples/media/sample.mp3");
/// The demo customer's id (the store's own id for its user).
pub const DEMO_CUSTOMER: &str = "demo-listener";

/// What `demo.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoFacts {
    /// The server's URL.
    pub base_url: String,
    /// The demo store.
    pub store_id: String,
    /// Its API key.
    pub api_key: String,
    /// The sample title.
    pub title_id: String,
    /// A customer of the store (the store's id for it).
    pub customer_id: String,
    /// The sample title's manifest.
    pub manifest_url: String,
}

/// Creates the demo's store, key, title and customer, or finds them from an earlier run.
pub async fn prepare(state: &AppState) -> Result<DemoFacts, ApiError> {
    let path = state.settings.data_dir.join("demo.json");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(mut facts) = serde_json::from_str::<DemoFacts>(&text)
        && state.repo.store(&facts.store_id).await?.is_some()
        && state.repo.title(&facts.title_id).await?.is_some()
    {
        facts.base_url = state.settings.public_url.clone();
        facts.manifest_url = format!("{}/pub/{}/manifest.json", facts.base_url, facts.title_id);
        write(&path, &facts)?;
        return Ok(facts);
    }
    let t = now();
    let store = state.repo.create_store(&uuid::Uuid::new_v4().to_string(), "Fount Demo Store", 5, t).await?;
    let key = generate_api_key()?;
    state.repo.insert_api_key(&key.id, &store.id, &key.secret_hash, "demo", t).await?;
    let title =
        operations::create_title(state, &store.id, "The Fount Sampler", Some("Fount"), Some(("4.99", "EUR"))).await?;
    let tmp = state.settings.data_dir.join("sample.mp3");
    std::fs::write(&tmp, SAMPLE_MP3).map_err(ApiError::internal)?;
    let added = crate::media::package::add_track(
        state,
        &title,
        tmp.clone(),
        Some("The Fount Sampler".into()),
        Some("mp3".into()),
    )
    .await;
    let _ = std::fs::remove_file(&tmp);
    added?;
    state.repo.upsert_customer(&uuid::Uuid::new_v4().to_string(), &store.id, DEMO_CUSTOMER, t).await?;
    let facts = DemoFacts {
        base_url: state.settings.public_url.clone(),
        store_id: store.id,
        api_key: key.key,
        manifest_url: format!("{}/pub/{}/manifest.json", state.settings.public_url, title.id),
        title_id: title.id,
        customer_id: DEMO_CUSTOMER.into(),
    };
    write(&path, &facts)?;
    Ok(facts)
}

fn write(path: &std::path::Path, facts: &DemoFacts) -> Result<(), ApiError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // It holds an API key.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(ApiError::internal)?;
    f.write_all(serde_json::to_string_pretty(facts).map_err(ApiError::internal)?.as_bytes())
        .map_err(ApiError::internal)?;
    f.write_all(b"\n").map_err(ApiError::internal)
}
