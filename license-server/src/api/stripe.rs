//! Payments through Stripe: a `checkout.session.completed` event, signed by Stripe, becomes an
//! idempotent grant.
//!
//! The store sells a title with a Stripe Payment Link and records the link's id on the title
//! (`stripe_payment_link`). The widget's Buy button opens the link with
//! `client_reference_id` = the customer's id (base64url, as Stripe allows only letters,
//! digits, `-` and `_`). When the payment completes, Stripe calls this endpoint; the event is
//! checked with Stripe's documented scheme (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of
//! `t.payload` with the endpoint's secret, compared in constant time, `t` within five minutes)
//! and the title is granted to the customer with the checkout session's id as the reference,
//! so a retried event grants nothing twice. The title comes from the Payment Link actually
//! paid through, never from anything the buyer's browser sent.

use actix_web::{HttpRequest, HttpResponse, web};
use fount_sdk::encoding::unb64;
use ring::hmac;
use serde::Deserialize;
use serde_json::json;

use super::entitlements::grant_entitlement;
use super::store::STRIPE_SECRET_PURPOSE;
use super::validate;
use super::views::Grant;
use crate::edge::body::read_to_end;
use crate::error::{ApiError, problem};
use crate::state::{AppState, now};

/// How far the signature's timestamp may be from now, seconds (Stripe's default).
pub const TOLERANCE: i64 = 300;
/// Largest event accepted, bytes. Stripe's events are a few kilobytes.
pub const MAX_EVENT_BYTES: u64 = 512 * 1024;

/// Checks a `Stripe-Signature` header against `payload`.
pub fn verify_signature(header: &str, payload: &[u8], secret: &[u8], now: i64) -> Result<(), &'static str> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t = timestamp.ok_or("no timestamp in Stripe-Signature")?;
    // `t` comes from outside: any i64, so no plain subtraction.
    if now.abs_diff(t) > TOLERANCE.unsigned_abs() {
        return Err("the signature's timestamp is outside the tolerance");
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signed = [t.to_string().as_bytes(), b".", payload].concat();
    let ok = signatures.iter().any(|sig| {
        let Ok(bytes) = hex::decode(sig) else { return false };
        // ring's verify compares in constant time.
        hmac::verify(&key, &signed, &bytes).is_ok()
    });
    if ok { Ok(()) } else { Err("no v1 signature matches") }
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    type_: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: CheckoutSession,
}

#[derive(Deserialize)]
struct CheckoutSession {
    id: String,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    payment_link: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
}

/// Receives a Stripe event for a store.
#[utoipa::path(post, path = "/v1/stores/{store}/webhooks/stripe", tag = "public",
    params(("store" = String, Path, description = "Store id"), ("Stripe-Signature" = String, Header, description = "Stripe's signature")),
    request_body(content = Object, description = "A Stripe event"),
    responses((status = 200, description = "Handled (or not an event Fount acts on)"),
              (status = 400, description = "Bad signature or payload", body = crate::error::Problem)))]
pub async fn webhook(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bad = |detail: &str| ApiError::new(problem::INVALID_SIGNATURE, detail.to_owned());
    let store = state.repo.store(&path).await?.ok_or_else(|| ApiError::not_found("store"))?;
    let sealed =
        store.stripe_webhook_secret.as_ref().ok_or_else(|| ApiError::not_found("Stripe webhook for this store"))?;
    let secret = state.kek.open(STRIPE_SECRET_PURPOSE, &store.id, sealed)?;
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("no Stripe-Signature header"))?;
    let body = read_to_end(req.headers(), &mut payload, MAX_EVENT_BYTES).await?;
    verify_signature(header, &body, &secret, now()).map_err(bad)?;

    let event: Event = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(problem::INVALID_BODY, format!("not a Stripe event: {e}")))?;
    let ignore = |why: &str| {
        tracing::info!(event = %event.id, kind = %event.type_, why, "Stripe event ignored");
        HttpResponse::Ok().json(json!({"received": true, "granted": false, "reason": why}))
    };
    if event.type_ != "checkout.session.completed" {
        return Ok(ignore("not a completed checkout"));
    }
    let session = event.data.object;
    if !matches!(session.payment_status.as_deref(), Some("paid" | "no_payment_required")) {
        return Ok(ignore("not paid"));
    }
    let Some(link) = session.payment_link.as_deref().filter(|l| validate::payment_link(Some(l)).is_ok()) else {
        return Ok(ignore("no payment link"));
    };
    let Some(title) = state.repo.title_by_payment_link(&store.id, link).await? else {
        return Ok(ignore("no title is sold through this payment link"));
    };
    let customer = session
        .client_reference_id
        .as_deref()
        .and_then(|r| unb64(r, "client_reference_id").ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|c| validate::ident("customer", c).is_ok());
    let Some(customer) = customer else { return Ok(ignore("no customer in client_reference_id")) };
    let grant = Grant::purchase(customer, title.id, format!("stripe:{}", session.id));
    let (entitlement, created) = grant_entitlement(&state, &store.id, grant, "stripe").await?;
    Ok(HttpResponse::Ok().json(json!({"received": true, "granted": created, "entitlement": entitlement.id})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], t: i64, payload: &[u8]) -> String {
        let tag =
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &[t.to_string().as_bytes(), b".", payload].concat());
        format!("t={t},v1={},v0=ignored", hex::encode(tag))
    }

    #[test]
    fn signatures() {
        let (secret, payload, t) = (b"whsec_test", b"{\"id\":1}", 1_800_000_000);
        let header = sign(secret, t, payload);
        assert_eq!(verify_signature(&header, payload, secret, t + 10), Ok(()));
        assert!(verify_signature(&header, payload, secret, t + TOLERANCE + 1).is_err());
        assert!(verify_signature(&header, b"{\"id\":2}", secret, t).is_err());
        assert!(verify_signature(&header, payload, b"whsec_other", t).is_err());
        assert!(verify_signature("v1=00", payload, secret, t).is_err());
        // Timestamps from outside may be any i64: refused, without overflowing.
        for far in [i64::MIN, i64::MAX, -1] {
            assert!(verify_signature(&format!("t={far},v1=00"), payload, secret, t).is_err());
        }
        assert!(verify_signature(&format!("t={t},v1=zz"), payload, secret, t).is_err());
        // A second, rotated secret's signature among several v1 values.
        let other = sign(b"whsec_old", t, payload);
        let both = format!("{},{}", header, other.split(',').nth(1).unwrap());
        assert_eq!(verify_signature(&both, payload, secret, t), Ok(()));
    }
}
