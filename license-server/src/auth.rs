//! Who is calling: store backends by API key, customers by a short-lived token.
//!
//! **API keys** look like `fsk_<id>_<secret>`: a 16-hex-digit public id and 32 random bytes
//! (base64url). The server stores only SHA-256 of the secret (the secret has 256 bits of
//! entropy, so a slow password hash would add nothing) and compares hashes in constant time.
//! A key is shown once, when created.
//!
//! **Customer tokens** are compact JWS signed with the license-signing key, `typ`
//! `fount-customer+jwt`, naming the store (`aud`), Fount's customer id (`sub`) and the store's
//! own id for the customer (`ref`). A store's
//! backend mints one for its own signed-in user through the API; the app sends it as a bearer
//! token. They are short-lived (an hour by default) and verified without a database read.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use fount_sdk::encoding::b64;
use fount_sdk::jws;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::db::{CustomerRow, Store};
use crate::error::ApiError;
use crate::state::{AppState, now};

/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "fsk_";
/// The prefix of every operator key.
pub const OPERATOR_KEY_PREFIX: &str = "fok_";
/// The JOSE `typ` of a customer token.
pub const CUSTOMER_TOKEN_TYP: &str = "fount-customer+jwt";
/// Longest customer-token lifetime a store may ask for, seconds.
pub const MAX_TOKEN_TTL: i64 = 24 * 3600;

/// A freshly made API key: the full key (shown once) and what is stored.
pub struct NewApiKey {
    /// The key to hand to the store, `fsk_<id>_<secret>`.
    pub key: String,
    /// Its public id.
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_hash: Vec<u8>,
}

/// Makes a new random API key.
pub fn generate_api_key() -> Result<NewApiKey, ApiError> {
    generate_key(API_KEY_PREFIX)
}

/// Makes a new random operator key (`fok_<id>_<secret>`, the same shape).
pub fn generate_operator_key() -> Result<NewApiKey, ApiError> {
    generate_key(OPERATOR_KEY_PREFIX)
}

fn generate_key(prefix: &str) -> Result<NewApiKey, ApiError> {
    let rng = SystemRandom::new();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill(&mut id).map_err(|_| ApiError::internal("rng"))?;
    rng.fill(&mut secret).map_err(|_| ApiError::internal("rng"))?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret = b64(secret);
    Ok(NewApiKey { key: format!("{prefix}{id}_{secret}"), secret_hash: Sha256::digest(secret.as_bytes()).to_vec(), id })
}

/// The id of an API key given either whole (`fsk_<id>_<secret>`) or as its id alone.
pub fn api_key_id(text: &str) -> Option<String> {
    key_id(API_KEY_PREFIX, text)
}

/// The id of an operator key given either whole or as its id alone.
pub fn operator_key_id(text: &str) -> Option<String> {
    key_id(OPERATOR_KEY_PREFIX, text)
}

fn key_id(prefix: &str, text: &str) -> Option<String> {
    let text = text.trim();
    let id = parse_key(prefix, text).map(|(id, _)| id).unwrap_or(text);
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// Splits `fsk_<id>_<secret>` into id and secret.
fn parse_api_key(key: &str) -> Option<(&str, &str)> {
    parse_key(API_KEY_PREFIX, key)
}

/// Splits `<prefix><id>_<secret>` into id and secret.
fn parse_key<'k>(prefix: &str, key: &'k str) -> Option<(&'k str, &'k str)> {
    let rest = key.strip_prefix(prefix)?;
    let (id, secret) = (rest.get(..16)?, rest.get(16..)?.strip_prefix('_')?);
    (id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43).then_some((id, secret))
}

pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::internal("app state missing"))
}

/// A request authenticated by a store's API key.
pub struct StoreAuth {
    /// The store the key belongs to.
    pub store: std::sync::Arc<Store>,
    /// The key's public id.
    pub key_id: String,
}

impl StoreAuth {
    /// Who made a change with this key, for its events: `api_key:<id>`.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }
}

impl FromRequest for StoreAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or_else(|| ApiError::unauthorized("send the store's API key as a bearer token"))?;
            let invalid = || ApiError::unauthorized("the API key is not valid");
            let (id, secret) = parse_api_key(&token).ok_or_else(invalid)?;
            let row = state.repo.api_key(id).await?.ok_or_else(invalid)?;
            let presented = Sha256::digest(secret.as_bytes());
            if !bool::from(presented[..].ct_eq(&row.secret_hash)) || row.revoked_at.is_some() {
                return Err(invalid());
            }
            let store = state.store_cached(&row.store_id).await?.ok_or_else(invalid)?;
            Ok(StoreAuth { store, key_id: row.id })
        })
    }
}

/// A request authenticated by an operator key: the queue's health, dead jobs (keys are made
/// with `fount-server operator-key create`).
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// The key's public id.
    pub key_id: String,
}

impl FromRequest for OperatorAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or_else(|| ApiError::unauthorized("send an operator key as a bearer token"))?;
            let invalid = || ApiError::unauthorized("the operator key is not valid");
            let (id, secret) = parse_key(OPERATOR_KEY_PREFIX, &token).ok_or_else(invalid)?;
            let row = state.repo.operator_key(id).await?.ok_or_else(invalid)?;
            let presented = Sha256::digest(secret.as_bytes());
            if !bool::from(presented[..].ct_eq(&row.secret_hash)) || row.revoked_at.is_some() {
                return Err(invalid());
            }
            Ok(OperatorAuth { key_id: row.id })
        })
    }
}

/// The claims of a customer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerClaims {
    /// The issuing server.
    pub iss: String,
    /// The store.
    pub aud: String,
    /// Fount's customer id.
    pub sub: String,
    /// The store's id for its customer, so requests need not look it up.
    #[serde(rename = "ref")]
    pub customer_ref: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

/// Mints a customer token.
pub fn mint_customer_token(state: &AppState, customer: &CustomerRow, ttl: i64) -> Result<(String, i64), ApiError> {
    let iat = now();
    let claims = CustomerClaims {
        iss: state.settings.public_url.clone(),
        aud: customer.store_id.clone(),
        sub: customer.id.clone(),
        customer_ref: customer.external_id.clone(),
        iat,
        exp: iat.saturating_add(ttl),
    };
    let token = state.keys.current().signer().sign(CUSTOMER_TOKEN_TYP, &claims).map_err(ApiError::internal)?;
    Ok((token, claims.exp))
}

/// Customer tokens whose signature was checked, by their SHA-256, with their expiry. Bounded;
/// an evicted token is only verified again.
pub type VerifiedTokens = quick_cache::sync::Cache<[u8; 32], (CustomerAuth, i64)>;

/// A request authenticated by a customer token.
#[derive(Debug, Clone)]
pub struct CustomerAuth {
    /// The store.
    pub store_id: String,
    /// Fount's customer id.
    pub customer_id: String,
    /// The store's id for its customer.
    pub customer_ref: String,
}

impl CustomerAuth {
    /// Who made a change with this token, for its events: `customer:<the store's id>`.
    pub fn actor(&self) -> String {
        format!("customer:{}", self.customer_ref)
    }

    /// Verifies a token: signature by one of our keys, `typ`, issuer, and lifetime.
    ///
    /// A token verified once is remembered by its SHA-256 until it expires ([`VerifiedTokens`]):
    /// an app sends the same token with every call, and checking its Ed25519 signature again
    /// each time was a tenth of the issuing path's CPU. The lifetime is checked on every use.
    pub fn verify(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::unauthorized("the customer token is not valid");
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let t = now();
        let (auth, exp) = match state.tokens.get(&digest) {
            Some(known) => known,
            None => {
                let verified: jws::Verified<CustomerClaims> =
                    jws::verify(token, state.keys.current().jwks(), CUSTOMER_TOKEN_TYP).map_err(|_| invalid())?;
                let claims = verified.claims;
                if claims.iss != state.settings.public_url || claims.iat > t.saturating_add(300) {
                    return Err(invalid());
                }
                let auth =
                    CustomerAuth { store_id: claims.aud, customer_id: claims.sub, customer_ref: claims.customer_ref };
                if claims.exp > t {
                    state.tokens.insert(digest, (auth.clone(), claims.exp));
                }
                (auth, claims.exp)
            }
        };
        if exp <= t {
            return Err(ApiError::unauthorized("the customer token has expired; mint a new one"));
        }
        Ok(auth)
    }
}

impl FromRequest for CustomerAuth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state(req)?;
            let token = bearer(req).ok_or_else(|| ApiError::unauthorized("send a customer token as a bearer token"))?;
            Self::verify(&state, token)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_format() {
        let k = generate_api_key().unwrap();
        let (id, secret) = parse_api_key(&k.key).unwrap();
        assert_eq!(id, k.id);
        assert_eq!(Sha256::digest(secret.as_bytes()).to_vec(), k.secret_hash);
        for bad in [
            "",
            "fsk_",
            "fsk_0123456789abcdef",
            "xyz_0123456789abcdef_aaaa",
            &k.key[..k.key.len() - 1],
            "fsk_0123456789abcdeg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(parse_api_key(bad).is_none(), "{bad}");
        }
    }
}
