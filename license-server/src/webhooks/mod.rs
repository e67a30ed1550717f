//! Webhooks: every event a store's endpoints subscribe to, delivered to them signed, at least
//! once, through the queue.
//!
//! The guarantees are in docs/events.md ("Webhooks"). The parts: [`signing`] (Standard
//! Webhooks signatures and secrets), [`deliver`] (the `webhook.deliver` job: one attempt, and
//! what follows from its answer under the retry schedule), [`replay`] (the `webhook.replay`
//! job). The fan-out of new events into deliveries is in the storage
//! ([`crate::db::WebhookStore::fanout`]), run by every worker process
//! ([`crate::queue::periodic`]). Endpoints are managed through `/v1/webhooks`
//! ([`crate::api::webhooks`]). Outbound requests go through [`crate::outbound`], which keeps
//! them off private addresses.

pub mod deliver;
pub mod replay;
pub mod signing;

use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::state::AppState;

/// The KEK purpose of sealed webhook secrets.
pub const SECRET_PURPOSE: &str = "webhook-secret";

/// A new secret, and the same sealed under the KEK for the endpoint `id`.
pub fn new_secret(state: &AppState, id: &str) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), ApiError> {
    let secret = signing::generate().map_err(|_| ApiError::internal("rng"))?;
    let sealed = state.kek.seal(SECRET_PURPOSE, id, &secret)?;
    Ok((secret, sealed))
}

/// The secrets that sign a delivery to an endpoint at `now`: its secret, and the one before
/// a rotation while the overlap lasts.
pub fn signing_secrets(
    state: &AppState,
    endpoint_id: &str,
    secret: &[u8],
    previous: Option<(&[u8], i64)>,
    now: i64,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ApiError> {
    let mut secrets = vec![state.kek.open(SECRET_PURPOSE, endpoint_id, secret)?];
    if let Some((previous, until)) = previous
        && until > now
    {
        secrets.push(state.kek.open(SECRET_PURPOSE, endpoint_id, previous)?);
    }
    Ok(secrets)
}
