//! Payments through Stripe: signed events become grants, refunds revoke them, and a paid
//! checkout Fount cannot match is kept for the store instead of being dropped.
//!
//! The store sells a title with a Stripe Payment Link and records the link's id on the title
//! (`stripe_payment_link`). The widget's Buy button opens the link with
//! `client_reference_id` = the customer's id (base64url, as Stripe allows only letters,
//! digits, `-` and `_`); a visitor who is not signed in is asked to sign in first
//! (`fount:signin-required`), so the payment names its customer. Stripe then calls this
//! endpoint. Every event is checked with Stripe's documented scheme (`Stripe-Signature:
//! t=…,v1=…`, HMAC-SHA256 of `t.payload` with the endpoint's secret, compared in constant
//! time, `t` within five minutes) before anything else is read.
//!
//! * `checkout.session.completed` (paid), and `checkout.session.async_payment_succeeded` for
//!   payment methods that settle later: the payment is recorded once per checkout session. If
//!   it names its customer and its Payment Link sells a title, the title is granted with the
//!   session id as the grant's reference, so a retried event grants nothing twice. Otherwise
//!   it is recorded `unmatched`, with the reason and the payer's email, and the store assigns
//!   it to a customer with `POST /v1/payments/{payment}/assign`. The title always comes from
//!   the Payment Link actually paid through, never from anything the buyer's browser sent.
//! * `charge.refunded` with the charge fully refunded: the payment it belongs to (by payment
//!   intent) is marked refunded and, in the same transaction, its entitlement and the
//!   licenses issued under it are revoked. A partial refund changes nothing: the store
//!   decides whether a partial refund ends access, and can revoke through the API.
//!
//! Any other event is acknowledged and ignored, as Stripe asks of endpoints.

use actix_web::{HttpRequest, HttpResponse, web};
use fount_sdk::encoding::unb64;
use ring::hmac;
use serde::Deserialize;
use serde_json::json;

use super::entitlements::grant_entitlement;
use super::store::STRIPE_SECRET_PURPOSE;
use super::validate;
use super::views::Grant;
use crate::db::{NewPayment, PaymentRow, Store};
use crate::edge::body::read_to_end;
use crate::error::{ApiError, problem};
use crate::state::{AppState, now};

/// How far the signature's timestamp may be from now, seconds (Stripe's default).
pub const TOLERANCE: i64 = 300;
/// Largest event accepted, bytes. Stripe's events are a few kilobytes.
pub const MAX_EVENT_BYTES: u64 = 512 * 1024;
/// The `provider` of payments recorded here.
pub const PROVIDER: &str = "stripe";

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
    object: serde_json::Value,
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
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    customer_details: Option<CustomerDetails>,
}

#[derive(Deserialize)]
struct CustomerDetails {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct Charge {
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    refunded: bool,
}

/// An identifier from Stripe, kept only if it looks like one: it goes into the database and
/// back out in the API.
fn stripe_id(value: Option<String>) -> Option<String> {
    value.filter(|v| {
        !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// A short text from Stripe (an email), kept only if it is printable and short.
fn stripe_text(value: Option<String>) -> Option<String> {
    value.filter(|v| v.len() <= 320 && !v.chars().any(char::is_control))
}

/// Receives a Stripe event for a store.
#[utoipa::path(post, operation_id = "stripe_webhook", path = "/v1/stores/{store}/webhooks/stripe", tag = "public",
    params(("store" = String, Path, description = "Store id"), ("Stripe-Signature" = String, Header, description = "Stripe's signature")),
    request_body(content = Object, description = "A Stripe event"),
    responses((status = 200, description = "Handled (or not an event Fount acts on)", body = Object),
              (status = 400, description = "Bad signature or payload", body = crate::error::Problem)))]
pub async fn webhook(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bad = |detail: &str| ApiError::new(problem::INVALID_SIGNATURE, detail.to_owned());
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("no Stripe-Signature header"))?;
    let store = state.repo.store(&path).await?.ok_or_else(|| ApiError::not_found("store"))?;
    let sealed =
        store.stripe_webhook_secret.as_ref().ok_or_else(|| ApiError::not_found("Stripe webhook for this store"))?;
    let secret = state.kek.open(STRIPE_SECRET_PURPOSE, &store.id, sealed)?;
    let body = read_to_end(req.headers(), &mut payload, MAX_EVENT_BYTES).await?;
    verify_signature(header, &body, &secret, now()).map_err(bad)?;

    let event: Event = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(problem::INVALID_BODY, format!("not a Stripe event: {e}")))?;
    let not_stripe =
        |e: serde_json::Error| ApiError::new(problem::INVALID_BODY, format!("not a Stripe {}: {e}", event.type_));
    let answer = match event.type_.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let session: CheckoutSession = serde_json::from_value(event.data.object).map_err(not_stripe)?;
            checkout(&state, &store, session).await?
        }
        "charge.refunded" => {
            let charge: Charge = serde_json::from_value(event.data.object).map_err(not_stripe)?;
            refund(&state, &store, charge).await?
        }
        _ => Outcome::Ignored("not an event Fount acts on"),
    };
    Ok(HttpResponse::Ok().json(match answer {
        Outcome::Payment(p) => json!({"received": true, "payment": p.id, "status": p.status, "reason": p.reason}),
        Outcome::Ignored(why) => {
            tracing::info!(event = %event.id, kind = %event.type_, why, "Stripe event ignored");
            json!({"received": true, "status": "ignored", "reason": why})
        }
    }))
}

enum Outcome {
    Payment(Box<PaymentRow>),
    Ignored(&'static str),
}

async fn checkout(state: &AppState, store: &Store, session: CheckoutSession) -> Result<Outcome, ApiError> {
    if !matches!(session.payment_status.as_deref(), Some("paid" | "no_payment_required")) {
        return Ok(Outcome::Ignored("not paid (yet)"));
    }
    let Some(reference) = stripe_id(Some(session.id)) else { return Ok(Outcome::Ignored("no checkout session id")) };
    let title = match session.payment_link.as_deref().filter(|l| validate::payment_link(Some(l)).is_ok()) {
        Some(link) => state.repo.title_by_payment_link(&store.id, link).await?,
        None => None,
    };
    let customer = session
        .client_reference_id
        .as_deref()
        .and_then(|r| unb64(r, "client_reference_id").ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|c| validate::ident("customer", c).is_ok());
    let mut payment = NewPayment {
        store_id: store.id.clone(),
        provider: PROVIDER.into(),
        reference: reference.clone(),
        payment_intent: stripe_id(session.payment_intent),
        title_id: title.as_ref().map(|t| t.id.clone()),
        customer_ref: customer.clone(),
        email: stripe_text(session.customer_details.and_then(|d| d.email)),
        amount: session.amount_total,
        currency: stripe_id(session.currency),
        status: "unmatched".into(),
        reason: None,
        entitlement_id: None,
    };
    match (&title, &customer) {
        (Some(title), Some(customer)) => {
            let grant = Grant::purchase(customer.clone(), title.id.clone(), grant_reference(&reference));
            let (entitlement, _) = grant_entitlement(state, &store.id, grant, PROVIDER, &state.audit(PROVIDER)).await?;
            payment.status = "granted".into();
            payment.entitlement_id = Some(entitlement.id);
        }
        (None, _) => payment.reason = Some("no title is sold through this Payment Link".into()),
        (Some(_), None) => {
            payment.reason = Some("the payer was not signed in: no customer in client_reference_id".into())
        }
    }
    let (row, new) =
        state.repo.record_payment(&uuid::Uuid::new_v4().to_string(), &payment, &state.audit(PROVIDER), now()).await?;
    if new && row.status == "unmatched" {
        tracing::warn!(store = %store.id, payment = %row.id, reason = ?row.reason, "a paid checkout could not be granted; assign it with POST /v1/payments/{{payment}}/assign");
    }
    Ok(Outcome::Payment(Box::new(row)))
}

/// The reference of the grant a checkout session makes: the same whether Fount grants it on
/// the event or the store assigns it later, so the two can never grant twice.
pub fn grant_reference(session: &str) -> String {
    format!("stripe:{session}")
}

async fn refund(state: &AppState, store: &Store, charge: Charge) -> Result<Outcome, ApiError> {
    if !charge.refunded {
        return Ok(Outcome::Ignored("a partial refund: access is kept"));
    }
    let Some(intent) = stripe_id(charge.payment_intent) else { return Ok(Outcome::Ignored("no payment intent")) };
    let Some(payment) = state.repo.payment_by_intent(&store.id, &intent).await? else {
        return Ok(Outcome::Ignored("no payment of this store has this payment intent"));
    };
    match state.repo.refund_payment(&payment.id, &state.audit(PROVIDER), now()).await? {
        Some(refunded) => Ok(Outcome::Payment(Box::new(refunded))),
        // Already refunded: the same answer again.
        None => Ok(Outcome::Payment(Box::new(payment))),
    }
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

    #[test]
    fn ids_from_stripe_are_kept_only_when_they_look_like_ids() {
        assert_eq!(stripe_id(Some("cs_test_a1B2".into())).as_deref(), Some("cs_test_a1B2"));
        for bad in ["", "cs test", "cs\u{0}x", "<script>"] {
            assert!(stripe_id(Some(bad.into())).is_none(), "{bad:?}");
        }
        assert!(stripe_text(Some("a\u{0}@b".into())).is_none());
    }
}
