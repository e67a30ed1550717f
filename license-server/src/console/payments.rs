//! A store's payments: what its payment provider reported, and the unmatched ones (a paid
//! checkout that named no customer or no title) assigned to a customer.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::pages::{PaymentLine, PaymentsPage, TitleChoice, when};
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, html, page, see_other};
use crate::api::payments::assign_payment;
use crate::db::PageQuery;
use crate::db::page::all;
use crate::state::AppState;

/// How many payments the page lists.
const SHOWN: u32 = 100;

/// `?status=` and what was just done.
#[derive(Debug, Deserialize)]
pub struct Filter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// `/console/stores/{store}/payments`: the unmatched first, then the rest.
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    query: web::Query<Filter>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let status = match query.status.as_deref() {
        Some("all") => None,
        Some(s @ ("granted" | "refunded")) => Some(s),
        _ => Some("unmatched"),
    };
    let rows = state.repo.payments(&store.id, status, &PageQuery::first(SHOWN)).await?;
    let (sid, repo) = (&store.id, state.repo.as_ref());
    let titles = all(|p| async move { repo.titles(sid, &p).await }).await?;
    let name_of = |id: &str| titles.iter().find(|t| t.id == id).map_or_else(|| id.to_owned(), |t| t.name.clone());
    let lines = rows
        .items
        .iter()
        .map(|p| PaymentLine {
            id: p.id.clone(),
            provider: p.provider.clone(),
            reference: p.reference.clone(),
            title: p.title_id.as_deref().map(name_of),
            customer: p.customer_ref.clone(),
            email: p.email.clone().unwrap_or_default(),
            amount: match (p.amount, &p.currency) {
                (Some(a), Some(c)) => {
                    format!("{}.{:02} {}", a.div_euclid(100), a.rem_euclid(100), c.to_ascii_uppercase())
                }
                _ => String::new(),
            },
            status: p.status.clone(),
            reason: p.reason.clone().unwrap_or_default(),
            received: when(p.created_at),
        })
        .collect();
    let notice = match query.done.as_deref() {
        Some("assigned") => Some("Assigned: the customer has the title now."),
        _ => None,
    };
    let body = page(&PaymentsPage {
        nav: nav(&session, Some(&store), "payments"),
        store: &store,
        showing: status.unwrap_or("all"),
        payments: lines,
        titles: titles.iter().map(|t| TitleChoice { id: t.id.clone(), name: t.name.clone() }).collect(),
        notice,
    })?;
    Ok(html(body))
}

/// The assign form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    csrf: String,
    customer: String,
    #[serde(default)]
    title: Option<String>,
}

/// Assigns an unmatched payment to a customer, granting its title.
pub async fn assign(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check(&form.csrf)?;
    let (store_id, payment) = path.into_inner();
    let store = session.store(&store_id)?;
    let title = form.title.as_deref().filter(|t| !t.is_empty());
    let audit = state.audit(session.actor());
    assign_payment(&state, store, &payment, form.customer.trim(), title, &audit).await?;
    Ok(see_other(&format!("/console/stores/{store}/payments?done=assigned")))
}
