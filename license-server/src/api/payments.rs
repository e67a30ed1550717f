//! Payments as the store sees them (store API): every payment a provider reported, and the
//! unmatched ones assigned to a customer (see [`super::stripe`] for how they arrive).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::entitlements::grant_entitlement;
use super::paging;
use super::stripe::grant_reference;
use super::titles::own_title;
use super::views::{AssignPayment, Grant, List, PaymentView};
use crate::auth::StoreAuth;
use crate::edge::Json;
use crate::error::{ApiError, problem};
use crate::state::{AppState, now};

/// `GET /v1/payments`: a status filter and the page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaymentFilter {
    /// Only payments in this state: `granted`, `unmatched` or `refunded`.
    #[serde(default)]
    pub status: Option<String>,
    /// Most items in the page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "super::paging::de_limit")]
    #[param(minimum = 1, maximum = 200, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[serde(default)]
    pub after: Option<String>,
}

/// Lists the store's payments, newest first. `?status=unmatched` lists the paid checkouts
/// that granted nothing yet: assign each to its customer.
#[utoipa::path(get, operation_id = "payments_list", path = "/v1/payments", tag = "store", security(("api_key" = [])), params(PaymentFilter),
    responses((status = 200, body = List<PaymentView>)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: StoreAuth,
    query: web::Query<PaymentFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Payments, query.limit, query.after.as_deref())?;
    if let Some(s) = query.status.as_deref()
        && !matches!(s, "granted" | "unmatched" | "refunded")
    {
        return Err(ApiError::new(problem::INVALID_PARAMETER, "`status` must be granted, unmatched or refunded"));
    }
    let rows = state.repo.payments(&auth.store.id, query.status.as_deref(), &page).await?;
    let next = paging::next(paging::List::Payments, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.into_iter().map(PaymentView::from).collect(), next }))
}

/// One payment.
#[utoipa::path(get, operation_id = "payments_get", path = "/v1/payments/{payment}", tag = "store", security(("api_key" = [])),
    params(("payment" = String, Path, description = "Payment id")),
    responses((status = 200, body = PaymentView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match state.repo.payment(&path).await? {
        Some(p) if p.store_id == auth.store.id => Ok(HttpResponse::Ok().json(PaymentView::from(p))),
        _ => Err(ApiError::not_found("payment")),
    }
}

/// Assigns an unmatched payment to a customer: grants them its title (or `title`, when the
/// payment names none), exactly as a matched payment would have. Assigning the same payment
/// again reports it as it is.
#[utoipa::path(post, operation_id = "payments_assign", path = "/v1/payments/{payment}/assign", tag = "store", security(("api_key" = [])),
    params(("payment" = String, Path, description = "Payment id")),
    request_body = AssignPayment,
    responses((status = 200, body = PaymentView), (status = 404, body = crate::error::Problem),
              (status = 409, description = "The payment is refunded, or granted to someone else", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn assign(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
    body: Json<AssignPayment>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let audit = state.audit(auth.actor());
    let row = assign_payment(&state, &auth.store.id, &path, &b.customer, b.title.as_deref(), &audit).await?;
    Ok(HttpResponse::Ok().json(PaymentView::from(row)))
}

/// Assigns the store's payment `id` to `customer` (the API's and the console's): its title is
/// granted as a matched payment's would have been.
pub async fn assign_payment(
    state: &AppState,
    store_id: &str,
    id: &str,
    customer: &str,
    title: Option<&str>,
    audit: &crate::events::Audit,
) -> Result<crate::db::PaymentRow, ApiError> {
    let payment = match state.repo.payment(id).await? {
        Some(p) if p.store_id == store_id => p,
        _ => return Err(ApiError::not_found("payment")),
    };
    let customer = super::validate::ident("customer", customer)?;
    match payment.status.as_str() {
        "refunded" => return Err(ApiError::new(problem::CONFLICT, "the payment was refunded; it grants nothing")),
        "granted" if payment.customer_ref.as_deref() == Some(customer.as_str()) => return Ok(payment),
        "granted" => {
            return Err(ApiError::new(problem::CONFLICT, "the payment already granted its title to another customer"));
        }
        _ => {}
    }
    let title_id = match (&payment.title_id, title) {
        (Some(paid), Some(given)) if paid != given => {
            return Err(ApiError::validation("the payment was for another title; leave `title` out"));
        }
        (Some(paid), _) => paid.clone(),
        (None, Some(given)) => own_title(state, store_id, given).await?.id,
        (None, None) => return Err(ApiError::validation("the payment names no title: give `title`")),
    };
    let grant = Grant::purchase(customer.clone(), title_id.clone(), grant_reference(&payment.reference));
    let (entitlement, _) = grant_entitlement(state, store_id, grant, &payment.provider, audit).await?;
    match state.repo.assign_payment(&payment.id, &customer, &title_id, &entitlement.id, audit, now()).await? {
        Some(row) => Ok(row),
        // Assigned (or refunded) meanwhile: report it as it is now.
        None => state.repo.payment(&payment.id).await?.ok_or_else(|| ApiError::not_found("payment")),
    }
}
