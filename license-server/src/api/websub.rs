//! The WebSub callback (`/websub/{callback}`): the hub of a feed verifies Fount's
//! subscription here, then pushes here when the feed changes. What it guarantees is written
//! in [`crate::feeds::websub`].

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::feeds::sync_job;
use crate::db::HubChange;
use crate::edge::body::read_to_end;
use crate::error::{ApiError, problem};
use crate::feeds::sync::MAX_FEED_BYTES;
use crate::feeds::websub;
use crate::queue::now_ms;
use crate::state::{AppState, now};

/// The longest lease recorded, whatever a hub grants (a year).
const MAX_LEASE_S: i64 = 365 * 24 * 3600;
/// The longest challenge echoed.
const MAX_CHALLENGE: usize = 1024;

/// A hub's verification of intent (or its denial) of the subscription `callback`.
#[utoipa::path(get, operation_id = "websub_verify", path = "/websub/{callback}", tag = "public",
    params(("callback" = String, Path, description = "The subscription's callback id"),
           ("hub.mode" = String, Query, description = "`subscribe` or `denied`"),
           ("hub.topic" = String, Query, description = "The topic"),
           ("hub.challenge" = Option<String>, Query, description = "Echoed when the subscription is Fount's"),
           ("hub.lease_seconds" = Option<i64>, Query, description = "The lease granted"),
           ("hub.reason" = Option<String>, Query, description = "Why a subscription was denied")),
    responses((status = 200, description = "The challenge, echoed", content_type = "text/plain", body = String),
              (status = 404, body = crate::error::Problem)))]
pub async fn verify(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let not_ours = || ApiError::not_found("subscription");
    let feed = state.repo.feed_by_callback(&path).await?.ok_or_else(not_ours)?;
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |k: &str| query.get(k).map(String::as_str);
    if get("hub.topic") != feed.hub_topic.as_deref() {
        return Err(not_ours());
    }
    match get("hub.mode") {
        Some("subscribe") => {
            let challenge =
                get("hub.challenge").filter(|c| !c.is_empty() && c.len() <= MAX_CHALLENGE).ok_or_else(|| {
                    ApiError::new(
                        problem::INVALID_PARAMETER,
                        format!("`hub.challenge` must be 1 to {MAX_CHALLENGE} bytes"),
                    )
                })?;
            let lease = get("hub.lease_seconds").and_then(|l| l.parse::<i64>().ok()).unwrap_or(0).clamp(0, MAX_LEASE_S);
            let lease = if lease == 0 { i64::try_from(websub::LEASE.as_secs()).unwrap_or(MAX_LEASE_S) } else { lease };
            let callback = path.into_inner();
            let change = HubChange::Verified { callback, lease_until: now().saturating_add(lease) };
            state.repo.record_hub(&feed.id, &change, now()).await?;
            Ok(HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .body(challenge.to_owned()))
        }
        Some("denied") => {
            let reason = get("hub.reason").unwrap_or("no reason given").chars().take(500).collect::<String>();
            let retry_at = now().saturating_add(i64::try_from(websub::RETRY_AFTER.as_secs()).unwrap_or(i64::MAX));
            let change = HubChange::Refused {
                state: "denied".into(),
                error: format!("the hub denied the subscription: {reason}"),
                retry_at,
            };
            state.repo.record_hub(&feed.id, &change, now()).await?;
            Ok(HttpResponse::Ok().finish())
        }
        // Fount never unsubscribes a feed it still has: an unsubscription it did not ask for
        // is not verified.
        _ => Err(not_ours()),
    }
}

/// A hub's push: with a valid signature, the feed's sync is made due now.
#[utoipa::path(post, operation_id = "websub_push", path = "/websub/{callback}", tag = "public",
    params(("callback" = String, Path, description = "The subscription's callback id"),
           ("X-Hub-Signature" = String, Header, description = "`sha256=<hex HMAC of the body>` (or sha1, sha384, sha512)")),
    responses((status = 202, description = "The feed will be read now"),
              (status = 400, body = crate::error::Problem), (status = 410, body = crate::error::Problem),
              (status = 413, body = crate::error::Problem)))]
pub async fn push(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bad = |detail: &str| ApiError::new(problem::INVALID_SIGNATURE, detail.to_owned());
    let signature = req
        .headers()
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| bad("no X-Hub-Signature header"))?;
    let Some(feed) = state.repo.feed_by_callback(&path).await? else {
        // A subscription Fount dropped (the feed was deleted, or subscribed anew): a hub
        // takes 410 as "unsubscribed".
        return Err(ApiError::new(problem::SUBSCRIPTION_GONE, "no subscription has this callback"));
    };
    let body = read_to_end(req.headers(), &mut payload, MAX_FEED_BYTES).await?;
    let secret = websub::secret(&state, &feed).ok_or_else(|| bad("the subscription has no secret"))?;
    if !websub::signature_valid(&signature, &secret, &body) {
        tracing::warn!(feed = %feed.id, "a WebSub push with an invalid signature was ignored");
        return Err(bad("the signature does not match this subscription's secret"));
    }
    if feed.status == "active" {
        state.repo.sync_now(&feed.id, &sync_job(&feed.id, &feed.store_id, now_ms()), now_ms()).await?;
    }
    Ok(HttpResponse::Accepted().finish())
}
