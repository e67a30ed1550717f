//! `fount-server demo`: a ready store with a sample title.
//!
//! The sample is a short audiobook of synthetic speech made for Fount (see
//! `examples/media/make-sample.sh`), built into the binary so the demo runs from anywhere.
//! A second start with the same data folder reuses what the first made.

use serde::{Deserialize, Serialize};

use crate::api::validate;
use crate::auth::generate_api_key;
use crate::db::{StorePatch, TitleFields};
use crate::error::ApiError;
use crate::operations;
use crate::state::{AppState, now};

/// The demo's audiobook: three chapters, 38 seconds, MP3.
pub const SAMPLE_MP3: &[u8] = include_bytes!("../../examples/media/sample.mp3");
/// The demo customer's id (the store's own id for its user).
pub const DEMO_CUSTOMER: &str = "demo-listener";
/// The sample title's id, fixed so that a page's snippet can name it (`examples/store`).
pub const DEMO_TITLE: &str = "fount-sampler";
/// The actor of the demo's own changes, in their events.
const SYSTEM: &str = "demo";

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
    /// A page of this server that shows the widget.
    #[serde(default)]
    pub widget_url: String,
    /// The web origins allowed to embed the widget.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Creates the demo's store, key, title and customer, or finds them from an earlier run; then
/// makes the store a demo store (visitor sessions, test checkout) whose widget the server's
/// own origin and `allowed_origins` may embed, besides the origins it already allows.
pub async fn prepare(state: &AppState, allowed_origins: &[String]) -> Result<DemoFacts, ApiError> {
    let path = state.settings.data_dir.join("demo.json");
    // The public URL may carry a path (behind a proxy); its origin is what frames.
    let base = &state.settings.public_url;
    let authority_end = base.find("://").map_or(0, |i| i.saturating_add(3));
    let own = base[authority_end..].find('/').map_or(base.as_str(), |i| &base[..authority_end.saturating_add(i)]);
    let mut origins = vec![validate::origin(own)?];
    for o in allowed_origins {
        let o = validate::origin(o)?;
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    let earlier = match std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<DemoFacts>(&t).ok()) {
        Some(facts)
            if state.repo.store(&facts.store_id).await?.is_some()
                && state.repo.title(&facts.title_id).await?.is_some() =>
        {
            Some(facts)
        }
        _ => None,
    };
    let mut facts = match earlier {
        Some(facts) => facts,
        None => create(state).await?,
    };
    // Origins the operator allowed since (through the store API) stay allowed.
    if let Some(store) = state.repo.store(&facts.store_id).await? {
        for o in store.origins() {
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
    }
    let base = state.settings.public_url.clone();
    facts.manifest_url = format!("{base}/pub/{}/manifest.json", facts.title_id);
    facts.widget_url = format!("{base}/demo");
    facts.base_url = base;
    facts.allowed_origins = origins.clone();
    let patch = StorePatch {
        allowed_origins: Some(serde_json::to_string(&origins).map_err(ApiError::internal)?),
        demo: Some(true),
        ..Default::default()
    };
    state.repo.update_store(&facts.store_id, &patch, &state.audit(SYSTEM), now()).await?;
    state.changed(crate::db::changes::Change::Store(facts.store_id.clone())).await;
    let cover = TitleFields {
        cover_url: Some(format!("{}/widget/assets/demo-cover.svg", facts.base_url)),
        ..Default::default()
    };
    state.repo.update_title(&facts.title_id, &cover, &state.audit(SYSTEM), now()).await?;
    write(&path, &facts)?;
    Ok(facts)
}

async fn create(state: &AppState) -> Result<DemoFacts, ApiError> {
    let t = now();
    let store = state.repo.create_store(&uuid::Uuid::new_v4().to_string(), "Fount Demo Store", 5, t).await?;
    let key = generate_api_key()?;
    state.repo.insert_api_key(&key.id, &store.id, &key.secret_hash, "demo", &state.audit("demo"), t).await?;
    let fields = TitleFields {
        store_id: store.id.clone(),
        name: "The Fount Sampler".into(),
        author: Some("Fount".into()),
        language: Some("en".into()),
        price: Some("4.99".into()),
        currency: Some("EUR".into()),
        ..Default::default()
    };
    let title = operations::create_title_as(state, DEMO_TITLE.into(), fields, &state.audit(SYSTEM)).await?;
    let tmp = state.settings.data_dir.join("sample.mp3");
    std::fs::write(&tmp, SAMPLE_MP3).map_err(ApiError::internal)?;
    let added = crate::media::package::add_track(
        state,
        &title,
        tmp.clone(),
        Some("The Fount Sampler".into()),
        Some("mp3".into()),
        &state.audit(SYSTEM),
    )
    .await;
    let _ = std::fs::remove_file(&tmp);
    added?;
    state.repo.upsert_customer(&uuid::Uuid::new_v4().to_string(), &store.id, DEMO_CUSTOMER, t).await?;
    Ok(DemoFacts {
        base_url: String::new(),
        store_id: store.id,
        api_key: key.key,
        manifest_url: String::new(),
        title_id: title.id,
        customer_id: DEMO_CUSTOMER.into(),
        widget_url: String::new(),
        allowed_origins: Vec::new(),
    })
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
