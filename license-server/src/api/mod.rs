//! API v1 and the public endpoints: one [`configure`] used by `main` and by the tests.

use actix_cors::Cors;
use actix_web::web;

use crate::error::{self, ApiError, problem};
use crate::state::AppState;

pub mod assets;
pub mod customers;
pub mod devices;
pub mod entitlements;
pub mod licenses;
pub mod openapi;
pub mod positions;
pub mod public;
pub mod store;
pub mod stripe;
pub mod titles;
pub mod validate;
pub mod views;
pub mod widget;

/// CORS for what browsers on any origin may call: public resources and the customer API.
/// Credentials are bearer tokens in a header, never cookies, so `*` grants nothing ambient.
/// The store API gets no CORS: API keys belong on servers, not in pages.
fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "HEAD", "POST", "PUT"])
        .allowed_headers(["authorization", "content-type", "range", "if-none-match", "if-range"])
        .expose_headers(["content-range", "content-length", "etag", "accept-ranges"])
        .max_age(3600)
}

/// A resource whose unknown methods get a problem+json 405.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::new(
            problem::METHOD_NOT_ALLOWED,
            "this resource does not accept this method",
        ))
    }))
}

/// Registers every route, the extractor limits and error handlers, and the state.
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    let limits = state.settings.limits;
    cfg.app_data(web::Data::new(state))
        .app_data(web::JsonConfig::default().limit(limits.json_bytes).error_handler(error::json_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        // Store API (API key).
        .service(resource("/v1/titles").route(web::get().to(titles::list)).route(web::post().to(titles::create)))
        .service(
            resource("/v1/titles/{title}").route(web::get().to(titles::get)).route(web::patch().to(titles::update)),
        )
        .service(resource("/v1/store").route(web::get().to(store::get)).route(web::patch().to(store::update)))
        .service(resource("/v1/titles/{title}/tracks").route(web::post().to(titles::upload)))
        .service(
            resource("/v1/entitlements")
                .route(web::get().to(entitlements::list))
                .route(web::post().to(entitlements::grant)),
        )
        .service(resource("/v1/entitlements/{entitlement}/revoke").route(web::post().to(entitlements::revoke)))
        .service(resource("/v1/customers/{customer}/tokens").route(web::post().to(customers::mint_token)))
        .service(resource("/v1/customers/{customer}/devices").route(web::get().to(customers::devices)))
        .service(
            resource("/v1/customers/{customer}/devices/{device}/revoke")
                .route(web::post().to(customers::revoke_device)),
        )
        .service(resource("/v1/licenses").route(web::get().to(licenses::list)))
        .service(resource("/v1/licenses/{license}/revoke").route(web::post().to(licenses::revoke)))
        // Customer API (customer token).
        .service(resource("/v1/me/devices").wrap(cors()).route(web::post().to(devices::register)))
        .service(resource("/v1/me/licenses").wrap(cors()).route(web::post().to(licenses::acquire)))
        .service(resource("/v1/me/licenses/{license}/renew").wrap(cors()).route(web::post().to(licenses::renew)))
        .service(resource("/v1/me/licenses/{license}/return").wrap(cors()).route(web::post().to(licenses::give_back)))
        .service(
            resource("/v1/me/positions/{title}")
                .wrap(cors())
                .route(web::get().to(positions::get))
                .route(web::put().to(positions::save)),
        )
        // Payment webhooks (signed by the payment provider).
        .service(resource("/v1/stores/{store}/webhooks/stripe").route(web::post().to(stripe::webhook)))
        // Public.
        .service(resource("/v1/licenses/{license}/status").wrap(cors()).route(web::get().to(licenses::status)))
        .service(resource("/.well-known/jwks.json").wrap(cors()).route(web::get().to(public::jwks)))
        .service(resource("/pub/{title}/manifest.json").wrap(cors()).route(web::get().to(public::manifest)))
        .service(
            resource("/pub/{title}/tracks/{file}")
                .wrap(cors())
                .route(web::get().to(assets::track))
                .route(web::head().to(assets::track)),
        )
        // The widget.
        .configure(widget::configure)
        .service(resource("/health").route(web::get().to(public::health)))
        .service(resource("/openapi.json").wrap(cors()).route(web::get().to(public::openapi)))
        .service(resource("/problems/{slug}").route(web::get().to(public::problem_page)))
        .service(resource("/").route(web::get().to(public::index)))
        .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::not_found("resource")) }));
}
