//! A store's customers: found by the store's own id for them, with their entitlements (grant,
//! revoke), devices (remove) and licenses.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::pages::{CustomerPage, DeviceLine, GrantLine, LicenseLine, TitleChoice, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, TokenForm, html, page, see_other};
use crate::api::entitlements::grant_entitlement;
use crate::api::views::{EntitlementKind, Grant};
use crate::db::page::all;
use crate::db::{Removal, Remover};
use crate::state::{AppState, now};

/// `?customer=` and what was just done.
#[derive(Debug, Deserialize)]
pub struct Find {
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// The customers page: a search by the store's id for the customer, then what they have.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    query: web::Query<Find>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let wanted = query.customer.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let customer = match wanted {
        Some(c) => state.repo.customer(&store.id, c).await?,
        None => None,
    };
    let (sid, repo) = (&store.id, state.repo.as_ref());
    let titles = all(|p| async move { repo.titles(sid, &p).await }).await?;
    let name_of = |id: &str| titles.iter().find(|t| t.id == id).map_or_else(|| id.to_owned(), |t| t.name.clone());
    let t = now();
    let (mut grants, mut devices, mut licenses) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(c) = &customer {
        let cid = Some(c.id.as_str());
        let rows = all(|p| async move { repo.entitlements(sid, cid, None, &p).await }).await?;
        grants = rows
            .iter()
            .map(|e| GrantLine {
                id: e.id.clone(),
                title: name_of(&e.title_id),
                kind: e.kind.clone(),
                ends: e.ends_at.map(when),
                granted: when(e.created_at),
                revoked: e.revoked_at.map(when),
            })
            .collect();
        let cid = c.id.as_str();
        let rows = all(|p| async move { repo.devices(cid, &p).await }).await?;
        devices = rows
            .iter()
            .map(|d| DeviceLine {
                id: d.jkt.clone(),
                name: if d.name.is_empty() { "Unnamed device".into() } else { d.name.clone() },
                added: when(d.created_at),
                revoked: d.revoked_at.map(when),
            })
            .collect();
        let cid = Some(c.id.as_str());
        let rows = all(|p| async move { repo.licenses(sid, cid, None, &p).await }).await?;
        licenses = rows
            .iter()
            .map(|l| LicenseLine {
                title: name_of(&l.title_id),
                device: l.device_jkt.chars().take(12).collect(),
                status: crate::api::views::LicenseView::new(l.clone(), t).status,
                issued: when(l.issued_at),
            })
            .collect();
    }
    let notice = match query.done.as_deref() {
        Some("granted") => Some("Granted: the customer can listen now."),
        Some("revoked") => Some("Revoked, with the licenses issued under it."),
        Some("removed") => Some("The device is removed, with its licenses; a place is free under the limit."),
        _ => None,
    };
    let choices = titles.iter().map(|t| TitleChoice { id: t.id.clone(), name: t.name.clone() }).collect();
    let body = page(&CustomerPage {
        nav: nav(&session, Some(&store), "customers"),
        store: &store,
        query: wanted.unwrap_or_default(),
        found: customer.as_ref().map(|c| c.external_id.as_str()),
        searched: wanted.is_some(),
        grants,
        devices,
        licenses,
        titles: choices,
        notice,
    })?;
    Ok(html(body))
}

fn customer_url(store: &str, customer: &str, done: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("customer", customer)
        .append_pair("done", done)
        .finish();
    format!("/console/stores/{store}/customers?{q}")
}

/// The grant form.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    csrf: String,
    customer: String,
    title: String,
    kind: String,
    #[serde(default)]
    rental_days: Option<String>,
}

/// Grants a title to the customer (a purchase, or a rental of some days), as the API does.
pub async fn grant(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store(&path)?;
    let f = form.into_inner();
    let customer = f.customer.clone();
    let (kind, ends_at) = match f.kind.as_str() {
        "purchase" => (EntitlementKind::Purchase, None),
        "rental" => {
            let days: i64 = f
                .rental_days
                .as_deref()
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| ConsoleError::Invalid("A rental needs its length in days.".into()))?;
            if !(1..=3650).contains(&days) {
                return Err(ConsoleError::Invalid("A rental lasts 1 to 3650 days.".into()));
            }
            (EntitlementKind::Rental, Some(now().saturating_add(days.saturating_mul(86_400))))
        }
        _ => return Err(ConsoleError::Invalid("Choose a purchase or a rental.".into())),
    };
    let g = Grant { customer: customer.clone(), title: f.title, kind, starts_at: None, ends_at, reference: None };
    grant_entitlement(&state, store, g, "console", &state.audit(session.actor())).await?;
    Ok(see_other(&customer_url(store, &customer, "granted")))
}

/// Revokes one of the store's entitlements.
pub async fn revoke(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store, id) = path.into_inner();
    let store = session.store(&store)?;
    let e = match state.repo.entitlement(&id).await? {
        Some(e) if e.store_id == store => e,
        _ => return Err(ConsoleError::NotFound),
    };
    state.repo.revoke_entitlement(&e.id, &state.audit(session.actor()), now()).await?;
    Ok(see_other(&customer_url(store, &e.customer_ref, "revoked")))
}

/// The device-removal form (the customer travels in the form: a store's id for its customer
/// may hold any printable character, `/` included, which a path segment could not carry).
#[derive(Debug, Deserialize)]
pub struct RemoveDevice {
    csrf: String,
    customer: String,
    device: String,
}

/// Removes one of a customer's devices, as the store (no wait).
pub async fn remove_device(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<RemoveDevice>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let store = session.store(&path)?;
    let RemoveDevice { customer, device, .. } = form.into_inner();
    let c = state.repo.customer(store, &customer).await?.ok_or(ConsoleError::NotFound)?;
    match state
        .repo
        .revoke_device(Remover::Store, &c.id, &c.external_id, &device, &state.audit(session.actor()), now())
        .await?
    {
        Removal::Removed(_) => Ok(see_other(&customer_url(store, &customer, "removed"))),
        Removal::NotFound | Removal::TooSoon { .. } => Err(ConsoleError::NotFound),
    }
}
