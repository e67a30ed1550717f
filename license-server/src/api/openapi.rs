//! The OpenAPI 3.1 description served at `/openapi.json`, generated from the handlers'
//! annotations so that it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{assets, customers, devices, entitlements, health, licenses, positions, public, store, stripe, titles};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fount API",
        version = "1",
        description = "Sell protected audio and play it anywhere. Store backends use the `store` operations with an API key; apps use the `customer` operations with a customer token their store's backend mints; `public` needs no credentials. Errors are RFC 9457 problem details (`application/problem+json`) whose `type` is `/problems/<slug>`."
    ),
    paths(
        store::get, store::update,
        titles::create, titles::list, titles::get, titles::update, titles::upload,
        entitlements::grant, entitlements::list, entitlements::revoke,
        customers::mint_token, customers::devices, customers::revoke_device,
        licenses::list, licenses::revoke,
        devices::register, licenses::acquire, licenses::renew, licenses::give_back, positions::get, positions::save,
        stripe::webhook,
        licenses::status, public::jwks, public::manifest, assets::track, health::live, health::ready,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&Security),
    tags(
        (name = "store", description = "For a store's backend, with its API key."),
        (name = "customer", description = "For apps, with a customer token."),
        (name = "public", description = "No credentials."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A store API key, `fsk_…`")).build(),
            ),
        );
        components.add_security_scheme(
            "customer_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A customer token from POST /v1/customers/{customer}/tokens"))
                    .build(),
            ),
        );
    }
}
