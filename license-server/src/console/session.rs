//! Console sessions: who is signed in, and the token every form must carry.
//!
//! **The cookie** `fount_console` holds 32 random bytes (base64url); the database keeps only
//! their SHA-256, so a copy of the database opens no session. It is `HttpOnly` (no script
//! reads it), `SameSite=Strict` (no other site's page sends it), `Path=/console`, `Secure`
//! whenever the server's public URL is `https`, and lasts [`LIFETIME`].
//!
//! **Forms** carry the session's anti-forgery token (`csrf`), compared in constant time
//! before any change. The sign-in form, before there is a session, carries the token of a
//! short cookie of its own (`fount_console_signin`): the double-submit pattern, against a
//! page that would sign a visitor in as someone else.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use fount_sdk::encoding::b64;
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::ConsoleError;
use crate::db::ConsoleUserRow;
use crate::state::{AppState, now};

/// The session cookie.
pub const COOKIE: &str = "fount_console";
/// The sign-in form's own token cookie.
pub const SIGN_IN_COOKIE: &str = "fount_console_signin";
/// How long a session lasts, seconds: a working day.
pub const LIFETIME: i64 = 12 * 3600;

/// 32 random bytes, base64url.
pub fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| ConsoleError::internal("no randomness"))?;
    Ok(b64(bytes))
}

/// What the database keeps of a session's secret.
pub fn id_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `given` is `expected`, in constant time.
pub fn same(given: &str, expected: &str) -> bool {
    let (g, e) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected.as_bytes()));
    bool::from(g.ct_eq(&e)) && !expected.is_empty()
}

/// A cookie of the console's, with the attributes above.
pub fn cookie(state: &AppState, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_url.starts_with("https://"))
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// A signed-in person, from the session cookie (a handler that takes one is signed-in only).
pub struct Session {
    /// Who.
    pub user: ConsoleUserRow,
    /// The token forms must carry.
    pub csrf: String,
    /// The session's id hash (to end it).
    pub id_hash: Vec<u8>,
}

impl Session {
    /// The actor of this person's changes, in events: `console:<email>`.
    pub fn actor(&self) -> String {
        format!("console:{}", self.user.email)
    }

    /// Refuses a form whose token is not this session's.
    pub fn check(&self, given: &str) -> Result<(), ConsoleError> {
        if same(given, &self.csrf) { Ok(()) } else { Err(ConsoleError::Forgery) }
    }

    /// Refuses a store this person may not see, as if it did not exist.
    pub fn store<'a>(&self, store_id: &'a str) -> Result<&'a str, ConsoleError> {
        if self.user.may_see(store_id) { Ok(store_id) } else { Err(ConsoleError::NotFound) }
    }

    /// The store `store_id`, if this person may see it; 404 otherwise, as for no store at all.
    pub async fn store_row(&self, state: &AppState, store_id: &str) -> Result<crate::db::Store, ConsoleError> {
        state.repo.store(self.store(store_id)?).await?.ok_or(ConsoleError::NotFound)
    }

    /// Refuses what only an operator may do.
    pub fn operator(&self) -> Result<(), ConsoleError> {
        if self.user.is_operator() { Ok(()) } else { Err(ConsoleError::NotFound) }
    }
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = req.cookie(COOKIE).map(|c| c.value().to_owned());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ConsoleError::internal("app state missing"))?;
            let secret = secret.ok_or(ConsoleError::SignIn)?;
            let hash = id_hash(&secret);
            match state.repo.console_session(&hash, now()).await? {
                Some((session, user)) => Ok(Session { user, csrf: session.csrf, id_hash: hash }),
                None => Err(ConsoleError::SignIn),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let t = random_token().unwrap();
        assert_eq!(t.len(), 43);
        assert!(same(&t, &t));
        assert!(!same(&t[..42], &t));
        assert!(!same("", ""), "an empty expected token matches nothing");
        assert_eq!(id_hash(&t).len(), 32);
    }
}
