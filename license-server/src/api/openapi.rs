//! The OpenAPI 3.1 description served at `/openapi.json`, generated from the handlers'
//! annotations so that it cannot drift from the code.
//!
//! The annotations name each operation's own answers; [`document`] then adds the problems any
//! operation of its kind can answer, from the same facts the server acts on (it needs
//! credentials: 401; it has a path parameter: 404; it takes a body: 400, 408, 413, 415, 422;
//! everything touches the database: 500 and 503 with `Retry-After`), and gives every problem
//! its real media type, `application/problem+json`.

use std::sync::OnceLock;

use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    assets, bookmarks, customers, devices, entitlements, events, feeds, health, jobs, library, licenses, operator,
    payments, positions, public, store, stripe, titles, webhooks, websub,
};
use crate::events::Kind;

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
        payments::list, payments::get, payments::assign,
        events::list, events::get, jobs::get,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete, webhooks::rotate_secret,
        webhooks::deliveries, webhooks::attempts, webhooks::redeliver, webhooks::replay,
        feeds::create, feeds::list, feeds::get, feeds::update, feeds::delete, feeds::sync,
        operator::queue, operator::jobs, operator::job, operator::retry,
        devices::register, devices::list, devices::rename, devices::remove, licenses::acquire, licenses::renew, licenses::give_back, positions::get, positions::save, bookmarks::list, bookmarks::save, library::title, library::list,
        stripe::webhook,
        licenses::status, public::jwks, public::manifest, assets::track, assets::cover, assets::transcript, websub::verify, websub::push, health::live, health::ready, crate::api::metrics::metrics,
    ),
    components(schemas(
        crate::error::Problem, crate::events::EventView,
        crate::events::schemas::TitleEventData, crate::events::schemas::TrackEventData,
        crate::events::schemas::EntitlementEventData, crate::events::schemas::DeviceEventData,
        crate::events::schemas::LicenseEventData, crate::events::schemas::PaymentEventData,
        crate::events::schemas::StoreEventData, crate::events::schemas::WebhookEndpointEventData,
        crate::events::schemas::ApiKeyEventData,
        crate::events::schemas::FeedEventData, crate::events::schemas::FeedItemEventData,
    )),
    modifiers(&Security),
    tags(
        (name = "store", description = "For a store's backend, with its API key."),
        (name = "customer", description = "For apps, with a customer token."),
        (name = "public", description = "No credentials."),
        (name = "operator", description = "For the operator of the installation, with an operator key."),
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
        components.add_security_scheme(
            "operator_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An operator key, `fok_…`, from `fount-server operator-key create`"))
                    .build(),
            ),
        );
    }
}

/// The document as served: generated once, then completed (see the module's notes).
pub fn document() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        complete(&mut doc);
        add_webhooks(&mut doc);
        serde_json::to_vec(&doc).unwrap_or_default()
    })
}

const PROBLEM_REF: &str = "#/components/schemas/Problem";

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}})
}

/// OpenAPI links: where the id a response carries goes next (for readers of the document, and
/// for tools that chain operations). `(operation, status, name, target operation, parameter,
/// value)`.
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("titles_create", "201", "GetTitle", "titles_get", "title", "$response.body#/id"),
    ("titles_create", "201", "UpdateTitle", "titles_update", "title", "$response.body#/id"),
    ("titles_create", "201", "UploadTrack", "titles_upload", "title", "$response.body#/id"),
    ("entitlements_grant", "201", "RevokeEntitlement", "entitlements_revoke", "entitlement", "$response.body#/id"),
    ("customers_mint_token", "201", "ListDevices", "customers_devices", "customer", "$response.body#/customer"),
    ("licenses_acquire", "201", "RenewLicense", "licenses_renew", "license", "$response.body#/id"),
    ("licenses_acquire", "201", "ReturnLicense", "licenses_give_back", "license", "$response.body#/id"),
    ("licenses_acquire", "201", "LicenseStatus", "licenses_status", "license", "$response.body#/id"),
];

/// Adds the problems each operation can answer, gives problems their media type, and adds
/// the links.
fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut().filter_map(Value::as_object_mut) {
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_params = op.get("parameters").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
            let has_body = op.contains_key("requestBody");
            // A body that is a file (an upload) is bytes, not the array of numbers a
            // `Vec<u8>` would otherwise describe.
            if let Some(content) =
                op.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut)
            {
                for (media, c) in content.iter_mut() {
                    if !media.ends_with("json") {
                        c["schema"] = json!({"type": "string", "format": "binary"});
                    }
                }
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                // OpenAPI requires a description; the reason phrase stands in where the
                // annotation gave none.
                if response.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                    let reason = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response");
                    response["description"] = json!(reason);
                }
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else { continue };
                let is_problem = content
                    .get("application/json")
                    .is_some_and(|c| c.pointer("/schema/$ref").and_then(Value::as_str) == Some(PROBLEM_REF));
                if is_problem && let Some(c) = content.remove("application/json") {
                    content.insert("application/problem+json".into(), c);
                }
            }
            let mut add = |status: &str, description: &str| {
                responses.entry(status).or_insert_with(|| problem_response(description));
            };
            if has_params || has_body {
                add("400", "A parameter is malformed, or the body is not JSON or ended early.");
            }
            if secured {
                add("401", "No credentials, or credentials not valid here.");
            }
            if path.contains('{') {
                add("404", "Nothing here, or nothing this caller may see.");
            }
            if has_body {
                add("408", "The body stopped arriving.");
                add("413", "The body is over its size limit.");
                add("415", "The body is not of a type this operation takes.");
                add("422", "The body does not fit the schema, or a value is not acceptable.");
            }
            add("500", "The server failed; the request can be retried.");
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
            for (_, status, name, to, parameter, value) in LINKS.iter().filter(|l| l.0 == id) {
                if let Some(response) = op.get_mut("responses").and_then(|r| r.get_mut(*status)) {
                    response["links"][*name] = json!({"operationId": to, "parameters": {*parameter: value}});
                }
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            responses.entry("503").or_insert_with(|| {
                let mut r =
                    problem_response("The database is unavailable or read-only; retry after `Retry-After` seconds.");
                r["headers"] =
                    json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}});
                r
            });
        }
    }
}

/// The schema name of events of `kind`: `entitlement.granted` → `EntitlementGrantedEvent`.
pub fn event_schema_name(kind: Kind) -> String {
    let mut name: String = kind
        .as_str()
        .split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    name.push_str("Event");
    name
}

/// Describes every kind of event: a schema each (the envelope with its `type` and its
/// `data`), and the OpenAPI 3.1 `webhooks` a store's endpoint receives them through, with the
/// Standard Webhooks headers.
fn add_webhooks(doc: &mut Value) {
    for kind in Kind::ALL {
        let name = event_schema_name(*kind);
        doc["components"]["schemas"][&name] = json!({
            "description": kind.description(),
            "allOf": [
                {"$ref": "#/components/schemas/EventView"},
                {"type": "object", "required": ["type", "data"], "properties": {
                    "type": {"const": kind.as_str()},
                    "data": {"$ref": format!("#/components/schemas/{}", kind.data_schema())}
                }}
            ]
        });
        doc["webhooks"][kind.as_str()] = json!({"post": {
            "operationId": format!("webhook_{}", kind.as_str().replace('.', "_")),
            "summary": kind.description(),
            "description": "Delivered to each enabled webhook endpoint subscribed to this type, at least once: deduplicate by `webhook-id`. Verify the signature with a Standard Webhooks library (docs/events.md).",
            "parameters": [
                {"in": "header", "name": "webhook-id", "required": true, "description": "The event's id: the same on every attempt.", "schema": {"type": "string"}},
                {"in": "header", "name": "webhook-timestamp", "required": true, "description": "Seconds since the epoch, when signed.", "schema": {"type": "string"}},
                {"in": "header", "name": "webhook-signature", "required": true, "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`; two, space-separated, while a secret is being rotated.", "schema": {"type": "string"}},
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}},
            "responses": {
                "2XX": {"description": "Received. Any other answer, or none within 15 seconds, is retried on the documented schedule; 410 disables the endpoint."}
            }
        }});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_lands_and_every_operation_is_complete() {
        let doc: Value = serde_json::from_slice(document()).unwrap();
        let ops: Vec<&Value> =
            doc["paths"].as_object().unwrap().values().flat_map(|item| item.as_object().unwrap().values()).collect();
        let by_id = |id: &str| ops.iter().find(|o| o["operationId"] == id).copied();
        for (from, status, name, to, parameter, _) in LINKS {
            let op = by_id(from).unwrap_or_else(|| panic!("no operation {from}"));
            assert!(op["responses"][status]["links"][name].is_object(), "{from} {status} has no link {name}");
            let target = by_id(to).unwrap_or_else(|| panic!("no operation {to}"));
            let params = target["parameters"].as_array().unwrap();
            assert!(params.iter().any(|p| p["name"] == *parameter), "{to} has no parameter {parameter}");
        }
        for kind in Kind::ALL {
            let data = kind.data_schema();
            assert!(doc["components"]["schemas"][data].is_object(), "{} names no schema {data}", kind.as_str());
            assert!(doc["webhooks"][kind.as_str()]["post"].is_object(), "{}", kind.as_str());
            assert!(doc["components"]["schemas"][event_schema_name(*kind)].is_object());
        }
        assert_eq!(event_schema_name(Kind::WebhookEndpointDisabled), "WebhookEndpointDisabledEvent");
        for op in ops {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500") && responses.contains_key("503"), "{}", op["operationId"]);
            for (status, r) in responses {
                assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{} {status}", op["operationId"]);
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(r["content"].get("application/problem+json").is_some(), "{} {status}", op["operationId"]);
                }
            }
        }
    }
}
