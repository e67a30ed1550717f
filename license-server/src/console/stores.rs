//! Stores: the operator's list (and a new store), and a store's own page with its settings.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::pages::{KeyLine, Nav, StoreLine, StorePage, StoresPage};
use super::session::Session;
use super::{ConsoleError, Done, html, page, see_other};
use crate::api::{store::MAX_REMOVAL_WAIT, validate};
use crate::db::StorePatch;
use crate::db::page::all;
use crate::state::{AppState, now};

/// The layout's view of `session`, on a page about `store`.
pub fn nav<'a>(session: &'a Session, store: Option<&'a crate::db::Store>, here: &'static str) -> Nav<'a> {
    Nav {
        email: &session.user.email,
        operator: session.user.is_operator(),
        csrf: &session.csrf,
        store: store.map(|s| (s.id.as_str(), s.name.as_str())),
        here,
    }
}

/// `/console`: the operator's stores; a store's staff go straight to their store.
pub async fn home(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, ConsoleError> {
    if let Some(store) = session.user.store_id.as_deref().filter(|_| !session.user.is_operator()) {
        return Ok(see_other(&format!("/console/stores/{store}")));
    }
    let stores = all(|p| {
        let state = &state;
        async move { state.repo.stores(&p).await }
    })
    .await?;
    let lines = stores.iter().map(StoreLine::from).collect();
    Ok(html(page(&StoresPage { nav: nav(&session, None, "stores"), stores: lines })?))
}

/// The new-store form (operators only).
#[derive(Debug, Deserialize)]
pub struct NewStore {
    csrf: String,
    name: String,
    device_limit: i64,
}

/// Makes a store.
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<NewStore>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    session.operator()?;
    let name = validate::text("name", &form.name, 200)?;
    if !(1..=100).contains(&form.device_limit) {
        return Err(ConsoleError::Invalid("Devices per customer must be 1 to 100.".into()));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let store = state.repo.create_store(&id, &name, form.device_limit, now()).await?;
    tracing::info!(target: "fount::console", actor = %session.actor(), store = %store.id, "store created");
    Ok(see_other(&format!("/console/stores/{}?done=created", store.id)))
}

/// A store's page: its settings and its API keys.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let notice = match done.done.as_deref() {
        Some("created") => Some("The store is ready. Make it an API key below."),
        Some("saved") => Some("Settings saved."),
        Some("revoked") => Some("The key is revoked: requests with it are refused from now on."),
        _ => None,
    };
    store_page(&state, &session, &path, None, notice).await
}

/// Renders a store's page, with a key just made shown once.
pub async fn store_page(
    state: &AppState,
    session: &Session,
    store_id: &str,
    new_key: Option<&str>,
    notice: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(state, store_id).await?;
    let id = &store.id;
    let mut keys = all(|p| async move { state.repo.api_keys(id, &p).await }).await?;
    keys.reverse();
    let stripe_url =
        format!("{}/v1/stores/{}/webhooks/stripe", state.settings.public_url.trim_end_matches('/'), store.id);
    let body = page(&StorePage {
        nav: nav(session, Some(&store), "store"),
        stripe_url: &stripe_url,
        origins: store.origins().join("\n"),
        keys: keys.iter().map(KeyLine::from).collect(),
        store: &store,
        new_key,
        notice,
    })?;
    Ok(html(body))
}

/// The settings form.
#[derive(Debug, Deserialize)]
pub struct Settings {
    csrf: String,
    name: String,
    device_limit: i64,
    offline_days: i64,
    removal_wait_days: i64,
    origins: String,
    /// A new Stripe webhook signing secret; empty keeps the one set.
    #[serde(default)]
    stripe_secret: String,
}

/// Saves a store's settings.
pub async fn update(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<Settings>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store_row(&state, &path).await?;
    let f = form.into_inner();
    if !(1..=100).contains(&f.device_limit) {
        return Err(ConsoleError::Invalid("Devices per customer must be 1 to 100.".into()));
    }
    if !(1..=366).contains(&f.offline_days) {
        return Err(ConsoleError::Invalid("Offline days must be 1 to 366.".into()));
    }
    let wait = f.removal_wait_days.saturating_mul(86_400);
    if !(0..=MAX_REMOVAL_WAIT).contains(&wait) {
        return Err(ConsoleError::Invalid("The wait between device removals must be 0 to 90 days.".into()));
    }
    let mut origins = Vec::new();
    for line in f.origins.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let origin = validate::origin(line)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > crate::api::store::MAX_ORIGINS {
        return Err(ConsoleError::Invalid(format!("At most {} origins.", crate::api::store::MAX_ORIGINS)));
    }
    let stripe = f.stripe_secret.trim();
    let stripe_webhook_secret = if stripe.is_empty() {
        None
    } else if !stripe.starts_with("whsec_") || stripe.len() > 200 {
        return Err(ConsoleError::Invalid(
            "The Stripe secret is the signing secret of your Stripe webhook endpoint: whsec_…".into(),
        ));
    } else {
        Some(
            state
                .kek
                .seal(crate::api::store::STRIPE_SECRET_PURPOSE, &store.id, stripe.as_bytes())
                .map_err(ConsoleError::internal)?,
        )
    };
    let patch = StorePatch {
        name: Some(validate::text("name", &f.name, 200)?),
        stripe_webhook_secret,
        device_limit: Some(f.device_limit),
        offline_seconds: Some(f.offline_days.saturating_mul(86_400)),
        allowed_origins: Some(serde_json::to_string(&origins).map_err(ConsoleError::internal)?),
        device_removal_wait_seconds: Some(wait),
        ..StorePatch::default()
    };
    state.repo.update_store(&store.id, &patch, &state.audit(session.actor()), now()).await?;
    state.changed(crate::db::changes::Change::Store(store.id.clone())).await;
    Ok(see_other(&format!("/console/stores/{}?done=saved", store.id)))
}
