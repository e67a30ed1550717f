//! WebSub (W3C Recommendation, <https://www.w3.org/TR/websub/>): where a feed announces a hub
//! (`atom:link rel="hub"`), Fount subscribes to it, so that a publish reaches Fount in
//! seconds rather than at the next poll. Polling goes on as before: a hub that goes quiet
//! costs freshness, never correctness.
//!
//! # What a subscription guarantees
//!
//! * **The subscriber is this server**: the callback is `{FOUNT_PUBLIC_URL}/websub/{id}`, the
//!   id random (128 bits) and new for each subscription, so a verification or a push names
//!   one subscription, and nobody can guess a callback to verify a subscription that Fount
//!   did not ask for.
//! * **Verification of intent**: the hub's `GET` is answered with its challenge only when
//!   its mode is `subscribe` and its topic is the one asked for; the lease it grants is
//!   recorded, and the subscription is renewed at a sync before it runs out.
//! * **Authenticated content distribution**: each subscription has its own secret (32 random
//!   bytes, sealed with the master key at rest), and a push counts only with a valid
//!   `X-Hub-Signature` over its body (`sha256`, `sha384`, `sha512`, or `sha1` which the
//!   recommendation still lists), compared in constant time. A valid push does not trust the
//!   pushed body: it makes the feed's sync due now, and the sync reads the feed as always
//!   (a conditional request, the same limits and checks).
//! * **The hub is the tenant's choice** like the feed: its URL goes through the outbound
//!   policy ([`crate::outbound`]).
//! * **Cost**: asking costs one request and one write per subscription and renewal, not per
//!   sync; a hub that refuses or cannot be reached is asked again a day later.

use std::time::Duration;

use ring::hmac;
use ring::rand::SecureRandom as _;

use crate::db::{FeedRow, HubChange};
use crate::state::{AppState, now};

/// The lease asked for. Hubs may grant another.
pub const LEASE: Duration = Duration::from_secs(10 * 24 * 3600);
/// How long a subscription that is not verified, or was refused, waits before it is asked
/// for again.
pub const RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The purpose of a sealed hub secret (see [`crate::crypto::kek::Kek::seal`]).
pub const SECRET_PURPOSE: &str = "websub-secret";

/// The callback URL of a subscription.
pub fn callback_url(public_url: &str, callback: &str) -> String {
    format!("{}/websub/{callback}", public_url.trim_end_matches('/'))
}

/// Whether a sync of `feed`, which announces `hub`, should (re)subscribe now: the hub or the
/// topic changed, or the lease (or the wait after a refusal) ends before the sync after next.
pub fn due(feed: &FeedRow, hub: &str, topic: &str, now: i64) -> bool {
    let margin = feed.interval_s.saturating_mul(2).saturating_add(600);
    feed.hub.as_deref() != Some(hub)
        || feed.hub_topic.as_deref() != Some(topic)
        || feed.hub_lease_until.is_none_or(|until| until < now.saturating_add(margin))
}

/// Whether `signature` (an `X-Hub-Signature` value, `method=hex`) is a valid signature of
/// `body` with `secret`. Constant-time in the signature.
pub fn signature_valid(signature: &str, secret: &[u8], body: &[u8]) -> bool {
    let Some((method, hex_sig)) = signature.trim().split_once('=') else { return false };
    let algorithm = match method.to_ascii_lowercase().as_str() {
        "sha1" => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => hmac::HMAC_SHA256,
        "sha384" => hmac::HMAC_SHA384,
        "sha512" => hmac::HMAC_SHA512,
        _ => return false,
    };
    let Ok(tag) = hex::decode(hex_sig.trim()) else { return false };
    hmac::verify(&hmac::Key::new(algorithm, secret), body, &tag).is_ok()
}

/// The secret of a subscription, opened.
pub fn secret(state: &AppState, feed: &FeedRow) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    state.kek.open(SECRET_PURPOSE, &feed.id, feed.hub_secret.as_deref()?).ok()
}

/// Asks `hub` for a subscription to `topic` for `feed`, recording that it is pending first (the
/// hub may verify before it answers). A refusal or an unreachable hub is recorded on the feed,
/// to be asked again after [`RETRY_AFTER`]; neither fails the sync.
pub async fn subscribe(state: &AppState, feed: &FeedRow, hub: &str, topic: &str) {
    let now = now();
    let retry_at = now.saturating_add(i64::try_from(RETRY_AFTER.as_secs()).unwrap_or(i64::MAX));
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    let mut id = [0u8; 16];
    let rng = ring::rand::SystemRandom::new();
    if rng.fill(secret.as_mut()).is_err() || rng.fill(&mut id).is_err() {
        tracing::error!(feed = %feed.id, "no randomness for a WebSub subscription");
        return;
    }
    // The recommendation allows secrets up to 200 bytes; hex keeps it printable in a form.
    let secret_text = zeroize::Zeroizing::new(hex::encode(secret.as_ref()));
    let sealed = match state.kek.seal(SECRET_PURPOSE, &feed.id, secret_text.as_bytes()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(feed = %feed.id, error = %e, "sealing a WebSub secret failed");
            return;
        }
    };
    let callback = hex::encode(id);
    let subscribing =
        HubChange::Subscribing { topic: topic.to_owned(), callback: callback.clone(), secret: sealed, retry_at };
    if let Err(e) = state.repo.record_hub(&feed.id, &subscribing, now).await {
        tracing::warn!(feed = %feed.id, error = %e, "recording a WebSub subscription failed");
        return;
    }
    let refused = |state_name: &str, error: String| HubChange::Refused { state: state_name.into(), error, retry_at };
    let outcome = match state.outbound.check(hub) {
        Err(e) => refused("failed", format!("the hub is refused: {e}")),
        Ok(url) => {
            let lease = LEASE.as_secs().to_string();
            let callback_url = callback_url(&state.settings.public_url, &callback);
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("hub.mode", "subscribe")
                .append_pair("hub.topic", topic)
                .append_pair("hub.callback", &callback_url)
                .append_pair("hub.lease_seconds", &lease)
                .append_pair("hub.secret", &secret_text)
                .finish();
            let sent = state
                .outbound
                .client()
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => return,
                Ok(resp) => refused("failed", format!("the hub answered {}", resp.status().as_u16())),
                Err(e) => refused("failed", format!("the hub could not be reached: {}", crate::outbound::describe(&e))),
            }
        }
    };
    if let Err(e) = state.repo.record_hub(&feed.id, &outcome, now).await {
        tracing::warn!(feed = %feed.id, error = %e, "recording a WebSub refusal failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_of_each_method_and_forgeries() {
        let (secret, body) = (b"s3cret".as_slice(), b"<rss/>".as_slice());
        for (method, alg) in [
            ("sha1", hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            ("sha256", hmac::HMAC_SHA256),
            ("sha384", hmac::HMAC_SHA384),
            ("sha512", hmac::HMAC_SHA512),
        ] {
            let tag = hex::encode(hmac::sign(&hmac::Key::new(alg, secret), body));
            assert!(signature_valid(&format!("{method}={tag}"), secret, body), "{method}");
            assert!(!signature_valid(&format!("{method}={tag}"), b"other", body), "{method}, another secret");
            assert!(
                !signature_valid(&format!("{method}={tag}"), secret, b"<rss>changed</rss>"),
                "{method}, another body"
            );
        }
        let tag = hex::encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body));
        for forged in ["", "sha256", "sha256=", "md5=00", &format!("sha512={tag}"), "sha256=zz", &tag] {
            assert!(!signature_valid(forged, secret, body), "{forged:?}");
        }
    }
}
