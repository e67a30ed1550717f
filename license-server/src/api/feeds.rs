//! `/v1/feeds`: a store's RSS feeds (see [`crate::feeds`] for syncing, and docs/feeds.md).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::jobs::JobView;
use super::paging;
use super::views::{List, Paging};
use crate::auth::StoreAuth;
use crate::db::feeds::{FeedItemRow, sync_key};
use crate::db::{FeedPatch, FeedRow, NewFeed, NewJob};
use crate::edge::Json;
use crate::error::ApiError;
use crate::queue::{JobKind, now_ms};
use crate::state::{AppState, now};

/// Feeds a store may have.
pub const MAX_FEEDS: usize = 200;
/// The default time between syncs, seconds.
pub const DEFAULT_INTERVAL: i64 = 3600;
/// The shortest time between syncs a store may ask for, seconds.
pub const MIN_INTERVAL: i64 = 300;
/// The longest, seconds (a week).
pub const MAX_INTERVAL: i64 = 7 * 24 * 3600;

/// How a feed's items become titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedMode {
    /// Each item a title of its own (episodic content; the default).
    Episodes,
    /// The whole feed one title, its items the tracks in the feed's order (a serialised
    /// audiobook).
    Serial,
}

impl FeedMode {
    fn as_str(self) -> &'static str {
        match self {
            FeedMode::Episodes => "episodes",
            FeedMode::Serial => "serial",
        }
    }
}

/// A feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedView {
    /// Id (`feed_…`).
    pub id: String,
    /// Where the feed is read from (a permanent redirect updates it).
    pub url: String,
    /// How its items become titles.
    pub mode: String,
    /// A serial feed's title, once made.
    pub title: Option<String>,
    /// The channel's title, as last read.
    pub name: Option<String>,
    /// `active`, or `paused` (not synced until resumed).
    pub status: String,
    /// Seconds between syncs.
    pub interval: i64,
    /// The price of the titles it makes, if any.
    pub price: Option<String>,
    /// Their currency.
    pub currency: Option<String>,
    /// Their checkout URL.
    pub checkout_url: Option<String>,
    /// The WebSub hub the feed announces, if any: Fount subscribes to it, so that a publish
    /// reaches it in seconds rather than at the next sync.
    pub hub: Option<String>,
    /// Where the subscription to the hub stands; null without a hub.
    pub subscription: Option<HubView>,
    /// When a sync last changed something (an import, a failure), seconds since the epoch.
    pub last_sync_at: Option<i64>,
    /// `imported`, `unchanged` or `failed`; null before the first sync.
    pub last_result: Option<String>,
    /// Why the last sync failed.
    pub last_error: Option<String>,
    /// Failed syncs in a row (they are retried with a growing delay).
    pub failures: i64,
    /// Created.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A feed's WebSub subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HubView {
    /// `none` (not asked yet), `pending` (asked, not yet verified by the hub), `active`,
    /// `denied` (by the hub) or `failed` (the hub could not be asked); one that is not
    /// `active` is asked for again a day later.
    pub state: String,
    /// Until when an active subscription holds (it is renewed before), seconds.
    pub lease_until: Option<i64>,
    /// Why it was denied or failed.
    pub error: Option<String>,
}

impl From<&FeedRow> for FeedView {
    fn from(f: &FeedRow) -> Self {
        FeedView {
            id: f.id.clone(),
            url: f.url.clone(),
            mode: f.mode.clone(),
            title: f.title_id.clone(),
            name: f.name.clone(),
            status: f.status.clone(),
            interval: f.interval_s,
            price: f.price.clone(),
            currency: f.currency.clone(),
            checkout_url: f.checkout_url.clone(),
            hub: f.hub.clone(),
            subscription: f.hub.as_ref().map(|_| HubView {
                state: f.hub_state.clone().unwrap_or_else(|| "none".into()),
                lease_until: f.hub_lease_until.filter(|_| f.hub_state.as_deref() == Some("active")),
                error: f.hub_error.clone(),
            }),
            last_sync_at: f.last_sync_at,
            last_result: f.last_result.clone(),
            last_error: f.last_error.clone(),
            failures: f.failures,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// An item of a feed, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItemView {
    /// Its identity in the feed (`podcast:guid`, `guid`, or the enclosure's URL).
    pub guid: String,
    /// Its title in the feed.
    pub name: Option<String>,
    /// The audio it points at.
    pub enclosure: Option<String>,
    /// `queued`, `processing`, `published`, `failed` or `removed` (gone from the feed: no
    /// longer sold; licenses already issued keep working).
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The title it became.
    pub title: Option<String>,
    /// Last change.
    pub updated_at: i64,
}

impl From<&FeedItemRow> for FeedItemView {
    fn from(i: &FeedItemRow) -> Self {
        FeedItemView {
            guid: i.guid.clone(),
            name: i.name.clone(),
            enclosure: i.enclosure_url.clone(),
            status: i.status.clone(),
            error: i.error.clone(),
            title: i.title_id.clone(),
            updated_at: i.updated_at,
        }
    }
}

/// A feed with its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedDetail {
    /// The feed.
    #[serde(flatten)]
    pub feed: FeedView,
    /// Its items, in the feed's order, removed ones last.
    pub items: Vec<FeedItemView>,
}

/// `POST /v1/feeds`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFeed {
    /// The feed's URL: http or https, on the public internet.
    #[schema(max_length = 2048)]
    pub url: String,
    /// How its items become titles (default `episodes`).
    #[serde(default)]
    pub mode: Option<FeedMode>,
    /// Seconds between syncs (default 3600; 300 to 604800).
    #[serde(default)]
    pub interval: Option<i64>,
    /// The price of the titles it makes, a decimal string; with `currency`.
    #[serde(default)]
    pub price: Option<String>,
    /// ISO 4217 currency of `price`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Where buyers check out.
    #[serde(default)]
    pub checkout_url: Option<String>,
}

/// `PATCH /v1/feeds/{feed}`: the members given are set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFeed {
    /// `paused` stops syncing; `active` resumes it (with a sync now).
    #[serde(default)]
    pub status: Option<String>,
    /// Seconds between syncs (300 to 604800).
    #[serde(default)]
    pub interval: Option<i64>,
    /// The price of titles it makes from now on.
    #[serde(default)]
    pub price: Option<String>,
    /// Their currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Their checkout URL.
    #[serde(default)]
    pub checkout_url: Option<String>,
}

fn interval(given: Option<i64>) -> Result<Option<i64>, ApiError> {
    match given {
        Some(i) if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&i) => {
            Err(ApiError::validation(format!("`interval`: from {MIN_INTERVAL} to {MAX_INTERVAL} seconds")))
        }
        other => Ok(other),
    }
}

/// The feed's `feed.sync` job, due now.
pub fn sync_job(feed: &str, store: &str, now_ms: i64) -> NewJob {
    let mut job = JobKind::FeedSync.job(serde_json::json!({"feed": feed}), Some(store), now_ms);
    job.unique_key = Some(sync_key(feed));
    job
}

pub async fn own_feed(state: &AppState, store: &str, id: &str) -> Result<FeedRow, ApiError> {
    match state.repo.feed(id).await? {
        Some(f) if f.store_id == store => Ok(f),
        _ => Err(ApiError::not_found("feed")),
    }
}

/// A feed of `store` and its items, read as one picture.
pub async fn own_feed_with_items(
    state: &AppState,
    store: &str,
    id: &str,
) -> Result<(FeedRow, Vec<crate::db::FeedItemRow>), ApiError> {
    match state.repo.feed_with_items(id).await? {
        Some((f, items)) if f.store_id == store => Ok((f, items)),
        _ => Err(ApiError::not_found("feed")),
    }
}

/// Adds a feed. Its first sync is queued at once.
#[utoipa::path(post, operation_id = "feeds_create", path = "/v1/feeds", tag = "store", security(("api_key" = [])),
    request_body = CreateFeed,
    responses((status = 201, body = FeedView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: StoreAuth,
    body: Json<CreateFeed>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let url = state
        .outbound
        .check_now(&b.url)
        .await
        .map(|u| u.to_string())
        .map_err(|e| ApiError::validation(format!("`url`: {e}")))?;
    let price = super::validate::price(b.price.as_deref())?;
    let currency = super::validate::currency(b.currency.as_deref())?;
    if price.is_some() != currency.is_some() {
        return Err(ApiError::validation("`price` and `currency` go together"));
    }
    let existing = state.repo.feeds(&auth.store.id, &crate::db::PageQuery::first(crate::db::page::MAX_LIMIT)).await?;
    if existing.items.len() >= MAX_FEEDS {
        return Err(ApiError::validation(format!("a store may have at most {MAX_FEEDS} feeds")));
    }
    let new = NewFeed {
        store_id: auth.store.id.clone(),
        url,
        mode: b.mode.unwrap_or(FeedMode::Episodes).as_str().to_owned(),
        price,
        currency,
        checkout_url: super::validate::url("checkout_url", b.checkout_url.as_deref())?,
        interval_s: interval(b.interval)?.unwrap_or(DEFAULT_INTERVAL),
    };
    let id = crate::db::webhooks::new_id("feed");
    let row = state.repo.create_feed(&id, &new, &sync_job(&id, &auth.store.id, now_ms()), now()).await?;
    Ok(HttpResponse::Created().json(FeedView::from(&row)))
}

/// The store's feeds, oldest first.
#[utoipa::path(get, operation_id = "feeds_list", path = "/v1/feeds", tag = "store", security(("api_key" = [])), params(Paging),
    responses((status = 200, body = List<FeedView>)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Feeds, query.limit, query.after.as_deref())?;
    let rows = state.repo.feeds(&auth.store.id, &page).await?;
    let next = paging::next(paging::List::Feeds, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.iter().map(FeedView::from).collect(), next }))
}

/// One feed, with its items and what became of each.
#[utoipa::path(get, operation_id = "feeds_get", path = "/v1/feeds/{feed}", tag = "store", security(("api_key" = [])),
    params(("feed" = String, Path, description = "Feed id (`feed_…`)")),
    responses((status = 200, body = FeedDetail), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, items) = own_feed_with_items(&state, &auth.store.id, &path).await?;
    Ok(HttpResponse::Ok()
        .json(FeedDetail { feed: FeedView::from(&row), items: items.iter().map(FeedItemView::from).collect() }))
}

/// Pauses or resumes a feed, changes its interval or the defaults of the titles it makes.
#[utoipa::path(patch, operation_id = "feeds_update", path = "/v1/feeds/{feed}", tag = "store", security(("api_key" = [])),
    params(("feed" = String, Path, description = "Feed id (`feed_…`)")),
    request_body = UpdateFeed,
    responses((status = 200, body = FeedView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: Json<UpdateFeed>,
) -> Result<HttpResponse, ApiError> {
    let row = own_feed(&state, &auth.store.id, &path).await?;
    let b = body.into_inner();
    if let Some(s) = b.status.as_deref()
        && s != "active"
        && s != "paused"
    {
        return Err(ApiError::validation("`status`: `active` or `paused`"));
    }
    let price = super::validate::price(b.price.as_deref())?;
    let currency = super::validate::currency(b.currency.as_deref())?;
    if price.is_some() && currency.is_none() && row.currency.is_none() {
        return Err(ApiError::validation("a price needs a `currency`"));
    }
    let patch = FeedPatch {
        status: b.status,
        interval_s: interval(b.interval)?,
        price,
        currency,
        checkout_url: super::validate::url("checkout_url", b.checkout_url.as_deref())?,
    };
    let row = state
        .repo
        .update_feed(&row.id, &patch, &sync_job(&row.id, &auth.store.id, now_ms()), now())
        .await?
        .ok_or_else(|| ApiError::not_found("feed"))?;
    Ok(HttpResponse::Ok().json(FeedView::from(&row)))
}

/// Deletes a feed. The titles it made stay, and every license already issued keeps working;
/// they are no longer kept in step with the feed.
#[utoipa::path(delete, operation_id = "feeds_delete", path = "/v1/feeds/{feed}", tag = "store", security(("api_key" = [])),
    params(("feed" = String, Path, description = "Feed id (`feed_…`)")),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_feed(&state, &auth.store.id, &path).await?;
    if !state.repo.delete_feed(&row.id).await? {
        return Err(ApiError::not_found("feed"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Syncs a feed now rather than at its next turn. Answers the sync's job.
#[utoipa::path(post, operation_id = "feeds_sync", path = "/v1/feeds/{feed}/sync", tag = "store", security(("api_key" = [])),
    params(("feed" = String, Path, description = "Feed id (`feed_…`)")),
    responses((status = 202, body = JobView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn sync(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_feed(&state, &auth.store.id, &path).await?;
    let job = sync_now(&state, &row).await?;
    Ok(HttpResponse::Accepted().json(JobView::from(&job)))
}

/// Queues a feed's sync now (the API's and the console's).
pub async fn sync_now(state: &AppState, row: &FeedRow) -> Result<crate::db::JobRow, ApiError> {
    if row.status == "paused" {
        return Err(ApiError::new(crate::error::problem::FEED_PAUSED, "the feed is paused: resume it first"));
    }
    Ok(state.repo.sync_now(&row.id, &sync_job(&row.id, &row.store_id, now_ms()), now_ms()).await?)
}
