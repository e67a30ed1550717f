//! API v1 and the public endpoints: one [`configure`] used by `main` and by the tests.

use actix_cors::Cors;
use actix_web::web;

use crate::edge::at;
use crate::error::{self, ApiError};
use crate::state::AppState;

pub mod assets;
pub mod bookmarks;
pub mod customers;
pub mod devices;
pub mod entitlements;
pub mod events;
pub mod feeds;
pub mod health;
pub mod jobs;
pub mod library;
pub mod licenses;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod paging;
pub mod payments;
pub mod positions;
pub mod public;
pub mod store;
pub mod stripe;
pub mod titles;
pub mod validate;
pub mod views;
pub mod webhooks;
pub mod websub;
pub mod widget;

/// CORS for what browsers on any origin may call: public resources and the customer API.
/// Credentials are bearer tokens in a header, never cookies, so `*` grants nothing ambient.
/// The store API gets no CORS: API keys belong on servers, not in pages.
pub(crate) fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "DELETE"])
        .allowed_headers(["authorization", "content-type", "range", "if-none-match", "if-range"])
        .expose_headers(["content-range", "content-length", "etag", "accept-ranges"])
        .max_age(3600)
}

/// Registers every route, the extractor error handlers, and the state.
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        // Store API (API key).
        .service(at("/v1/titles").get(titles::list).post(titles::create).finish())
        .service(at("/v1/titles/{title}").get(titles::get).patch(titles::update).finish())
        .service(at("/v1/store").get(store::get).patch(store::update).finish())
        .service(at("/v1/titles/{title}/tracks").post(titles::upload).finish())
        .service(at("/v1/entitlements").get(entitlements::list).post(entitlements::grant).finish())
        .service(at("/v1/entitlements/{entitlement}/revoke").post(entitlements::revoke).finish())
        .service(at("/v1/customers/{customer}/tokens").post(customers::mint_token).finish())
        .service(at("/v1/customers/{customer}/devices").get(customers::devices).finish())
        .service(at("/v1/customers/{customer}/devices/{device}/revoke").post(customers::revoke_device).finish())
        .service(at("/v1/licenses").get(licenses::list).finish())
        .service(at("/v1/licenses/{license}/revoke").post(licenses::revoke).finish())
        .service(at("/v1/payments").get(payments::list).finish())
        .service(at("/v1/payments/{payment}").get(payments::get).finish())
        .service(at("/v1/payments/{payment}/assign").post(payments::assign).finish())
        .service(at("/v1/events").get(events::list).finish())
        .service(at("/v1/events/{event}").get(events::get).finish())
        .service(at("/v1/jobs/{job}").get(jobs::get).finish())
        .service(at("/v1/feeds").get(feeds::list).post(feeds::create).finish())
        .service(at("/v1/feeds/{feed}").get(feeds::get).patch(feeds::update).delete(feeds::delete).finish())
        .service(at("/v1/feeds/{feed}/sync").post(feeds::sync).finish())
        .service(at("/v1/webhooks").get(webhooks::list).post(webhooks::create).finish())
        .service(
            at("/v1/webhooks/{webhook}").get(webhooks::get).patch(webhooks::update).delete(webhooks::delete).finish(),
        )
        .service(at("/v1/webhooks/{webhook}/rotate-secret").post(webhooks::rotate_secret).finish())
        .service(at("/v1/webhooks/{webhook}/deliveries").get(webhooks::deliveries).finish())
        .service(at("/v1/webhooks/{webhook}/attempts").get(webhooks::attempts).finish())
        .service(at("/v1/webhooks/{webhook}/redeliver").post(webhooks::redeliver).finish())
        .service(at("/v1/webhooks/{webhook}/replay").post(webhooks::replay).finish())
        // Operator API (operator key).
        .service(at("/v1/operator/queue").get(operator::queue).finish())
        .service(at("/v1/operator/jobs").get(operator::jobs).finish())
        .service(at("/v1/operator/jobs/{job}").get(operator::job).finish())
        .service(at("/v1/operator/jobs/{job}/retry").post(operator::retry).finish())
        // Customer API (customer token).
        .service(at("/v1/me/devices").get(devices::list).post(devices::register).finish().wrap(cors()))
        .service(at("/v1/me/devices/{device}").delete(devices::remove).finish().wrap(cors()))
        .service(at("/v1/me/devices/{device}/name").put(devices::rename).finish().wrap(cors()))
        .service(at("/v1/me/titles").get(library::list).finish().wrap(cors()))
        .service(at("/v1/me/licenses").post(licenses::acquire).finish().wrap(cors()))
        .service(at("/v1/me/licenses/{license}/renew").post(licenses::renew).finish().wrap(cors()))
        .service(at("/v1/me/licenses/{license}/return").post(licenses::give_back).finish().wrap(cors()))
        .service(at("/v1/me/titles/{title}").get(library::title).finish().wrap(cors()))
        .service(at("/v1/me/positions/{title}").get(positions::get).put(positions::save).finish().wrap(cors()))
        .service(at("/v1/me/bookmarks/{title}").get(bookmarks::list).finish().wrap(cors()))
        .service(at("/v1/me/bookmarks/{title}/{bookmark}").put(bookmarks::save).finish().wrap(cors()))
        // Payment webhooks (signed by the payment provider).
        .service(at("/v1/stores/{store}/webhooks/stripe").post(stripe::webhook).finish())
        // WebSub callbacks (the hub's verification, then its signed pushes).
        .service(at("/websub/{callback}").get(websub::verify).post(websub::push).finish())
        // Public.
        .service(at("/v1/licenses/{license}/status").get(licenses::status).finish().wrap(cors()))
        .service(at("/.well-known/jwks.json").get(public::jwks).finish().wrap(cors()))
        .service(at("/pub/{title}/manifest.json").get(public::manifest).finish().wrap(cors()))
        .service(at("/pub/{title}/tracks/{file}").get(assets::track).finish().wrap(cors()))
        .service(at("/pub/{title}/covers/{file}").get(assets::cover).finish().wrap(cors()))
        .service(at("/pub/{title}/transcripts/{file}").get(assets::transcript).finish().wrap(cors()))
        // The widget.
        .configure(widget::configure)
        // The console (its own errors: pages, not problem details).
        .configure(crate::console::configure)
        .service(at("/health/live").get(health::live).finish())
        .service(at("/health/ready").get(health::ready).finish())
        .service(at("/health").get(health::ready).finish())
        .service(at("/metrics").get(metrics::metrics).finish())
        .service(at("/openapi.json").get(public::openapi).finish().wrap(cors()))
        .service(at("/problems/{slug}").get(public::problem_page).finish())
        .service(at("/").get(public::index).finish())
        .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::not_found("resource")) }));
}
