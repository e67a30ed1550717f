//! Signing in and out.
//!
//! **Rate limits.** Two, so that guessing is slow both for one account and from one address:
//!
//! * per account, in the database (so every replica sees it): from the fifth failure in a
//!   row, each failure locks the account for 30 seconds, doubling with every further failure
//!   up to 15 minutes ([`lock_after`]); a success, or `console user passwd`, clears it. A
//!   locked account is refused before its password is checked.
//! * per address, in each process ([`AddressLimiter`]): at most [`PER_ADDRESS`] failures in
//!   [`WINDOW`] seconds, whatever the accounts, so one client cannot lock many accounts
//!   quickly or probe emails. Successes do not count: a team signing in from one office (or
//!   through one proxy) is not held back. Behind a reverse proxy, the address is the one the
//!   proxy put last in `X-Forwarded-For` when the operator says so
//!   (`FOUNT_TRUST_FORWARDED_FOR`); otherwise every client would share the proxy's.
//!
//! An unknown email is checked against a decoy hash: it is refused as slowly, and in the same
//! words, as a wrong password.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::session::{self, COOKIE, LIFETIME, SIGN_IN_COOKIE, Session};
use super::{ConsoleError, TokenForm, page, password};
use crate::db::ConsoleSessionRow;
use crate::state::{AppState, now};

/// Failures allowed per address in a [`WINDOW`].
pub const PER_ADDRESS: u32 = 20;
/// The address limit's window, seconds.
pub const WINDOW: i64 = 600;
/// Failures in a row before an account locks.
pub const FREE_FAILURES: i64 = 5;

/// How long to lock an account after its `failures`-th failure in a row, seconds, if at all.
pub fn lock_after(failures: i64) -> Option<i64> {
    if failures < FREE_FAILURES {
        return None;
    }
    // 0 to 5 doublings: 30 s to 960 s, capped at 900.
    let doublings = u32::try_from(failures.saturating_sub(FREE_FAILURES).min(5)).unwrap_or(5);
    Some(30i64.saturating_mul(1 << doublings).min(900))
}

/// Sign-in attempts per client address in this process.
#[derive(Debug, Default)]
pub struct AddressLimiter(Mutex<HashMap<IpAddr, (i64, u32)>>);

impl AddressLimiter {
    /// The seconds `ip` must wait at `t`, if it failed too often.
    pub fn blocked(&self, ip: IpAddr, t: i64) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, failures) = *map.get(&ip)?;
        (t.saturating_sub(start) < WINDOW && failures >= PER_ADDRESS)
            .then(|| start.saturating_add(WINDOW).saturating_sub(t).max(1))
    }

    /// Counts a failure from `ip` at `t`.
    pub fn failed(&self, ip: IpAddr, t: i64) {
        // A poisoned lock only means another thread panicked mid-update: the counts are
        // still counts.
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| t.saturating_sub(*start) < WINDOW);
        }
        let entry = map.entry(ip).or_insert((t, 0));
        if t.saturating_sub(entry.0) >= WINDOW {
            *entry = (t, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// The client's address: the connection's peer, or, behind a trusted proxy, the last address
/// of `X-Forwarded-For` (the proxy appends the address it saw; earlier entries are the
/// client's word).
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> IpAddr {
    let peer = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !trust_forwarded_for {
        return peer;
    }
    req.headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
}

/// The sign-in page, with a fresh form token.
pub async fn form(state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    sign_in_page(&state, None, "", actix_web::http::StatusCode::OK)
}

fn sign_in_page(
    state: &AppState,
    error: Option<String>,
    email: &str,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let token = session::random_token()?;
    let html = page(&super::pages::SignInPage { csrf: &token, error: error.as_deref(), email })?;
    Ok(HttpResponse::build(status)
        .cookie(session::cookie(state, SIGN_IN_COOKIE, token, 1800))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Signs in: the form token, the address limit, the account lock, then the password.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !session::same(&form.csrf, &expected) {
        return Err(ConsoleError::Forgery);
    }
    let t = now();
    let email = form.email.trim().to_lowercase();
    let ip = client_ip(&req, state.settings.trust_forwarded_for);
    if let Some(wait) = state.sign_ins.blocked(ip, t) {
        return Err(ConsoleError::TooMany(wait));
    }
    let user = state.repo.console_user_by_email(&email).await?;
    if let Some(until) = user.as_ref().and_then(|u| u.locked_until).filter(|until| *until > t) {
        return Err(ConsoleError::TooMany(until.saturating_sub(t)));
    }
    let stored = user.as_ref().filter(|u| u.disabled_at.is_none()).map(|u| u.password_hash.clone());
    let given = form.password;
    // Argon2 takes tens of milliseconds of CPU: off the request threads.
    let ok = web::block(move || password::verify(&given, stored.as_deref().unwrap_or(password::decoy()))).await?
        && user.as_ref().is_some_and(|u| u.disabled_at.is_none());
    let Some(user) = user.filter(|_| ok) else {
        // Read again after the slow check: guesses made in parallel each count from the
        // latest failures, so the lock they earn is not computed from a stale count.
        if let Some(u) = state.repo.console_user_by_email(&email).await? {
            let failures = u.failed_sign_ins.saturating_add(1);
            let lock = lock_after(failures).map(|s| t.saturating_add(s));
            state.repo.record_sign_in_failure(&u.id, lock).await?;
        }
        state.sign_ins.failed(ip, t);
        tracing::info!(target: "fount::console", "a sign-in failed");
        let error = "That email and password do not match an account.".to_owned();
        return sign_in_page(&state, Some(error), &email, actix_web::http::StatusCode::UNAUTHORIZED);
    };
    let secret = session::random_token()?;
    let row = ConsoleSessionRow {
        id_hash: session::id_hash(&secret),
        user_id: user.id.clone(),
        csrf: session::random_token()?,
        created_at: t,
        expires_at: t.saturating_add(LIFETIME),
    };
    state.repo.record_sign_in(&row).await?;
    tracing::info!(target: "fount::console", user = %user.id, "signed in");
    let mut gone = session::cookie(&state, SIGN_IN_COOKIE, String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&state, COOKIE, secret, LIFETIME))
        .cookie(gone)
        .insert_header((header::LOCATION, "/console"))
        .finish())
}

/// Signs out: the session ends in the database, and the cookie is dropped.
pub async fn sign_out(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    state.repo.end_console_session(&session.id_hash, now()).await?;
    let mut gone = session::cookie(&state, COOKIE, String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::SeeOther().cookie(gone).insert_header((header::LOCATION, "/console/sign-in")).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_fifth_failure_and_double_to_a_cap() {
        assert_eq!((1..=4).map(lock_after).collect::<Vec<_>>(), [None; 4]);
        assert_eq!(lock_after(5), Some(30));
        assert_eq!(lock_after(6), Some(60));
        assert_eq!(lock_after(9), Some(480));
        assert_eq!(lock_after(10), Some(900));
        assert_eq!(lock_after(1_000), Some(900));
    }

    #[test]
    fn an_address_gets_its_window_of_failures() {
        let limiter = AddressLimiter::default();
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..PER_ADDRESS {
            assert_eq!(limiter.blocked(ip, 1_000), None);
            limiter.failed(ip, 1_000);
        }
        assert_eq!(limiter.blocked(ip, 1_100), Some(500));
        assert_eq!(limiter.blocked(IpAddr::from([192, 0, 2, 2]), 1_100), None, "another address");
        assert_eq!(limiter.blocked(ip, 1_000 + WINDOW), None, "a new window");
        limiter.failed(ip, 1_000 + WINDOW);
        assert_eq!(limiter.blocked(ip, 1_000 + WINDOW), None, "counted from one again");
    }

    #[test]
    fn the_proxy_s_entry_is_the_client_only_when_trusted() {
        let req = actix_web::test::TestRequest::default()
            .peer_addr("10.0.0.5:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 198.51.100.7"))
            .to_http_request();
        assert_eq!(client_ip(&req, false), IpAddr::from([10, 0, 0, 5]));
        assert_eq!(client_ip(&req, true), IpAddr::from([198, 51, 100, 7]), "the last entry, the proxy's");
        let junk = actix_web::test::TestRequest::default()
            .peer_addr("10.0.0.5:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "not an address"))
            .to_http_request();
        assert_eq!(client_ip(&junk, true), IpAddr::from([10, 0, 0, 5]));
    }
}
