//! The widget: the loader script host pages include, the player page their iframes show, its
//! scripts and service worker, and the demo store's visitor sessions and test checkout.
//!
//! The player page is framed by other sites, so its headers do the protecting: a
//! Content-Security-Policy whose `frame-ancestors` is the store's allowed origins (no origin
//! configured, no framing), scripts only from this origin (and WebAssembly), connections only
//! to this origin. Decrypted audio is never served by the server: the player's service worker
//! makes it inside the browser, for the player page alone.

use actix_web::http::header::{self, AcceptEncoding, Encoding, Header as _};
use std::sync::OnceLock;

use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template as _;
use serde::Deserialize;

use super::entitlements::grant_entitlement;
use super::validate;
use super::views::{Grant, TokenView};
use crate::auth::mint_customer_token;
use crate::db::{Store, TitleRow};
use crate::edge::{Json, at};
use crate::error::{ApiError, problem};
use crate::pages::{CheckoutPage, DemoPage, PlayerPage};
use crate::state::{AppState, now};

const JS: &str = "text/javascript; charset=utf-8";

/// A file built into the server, with its Brotli and gzip forms compressed ahead of time at
/// the highest levels (build.rs). Each form has its own strong ETag: a digest of the file
/// with the coding's name.
struct Asset {
    body: &'static [u8],
    br: &'static [u8],
    gzip: &'static [u8],
    content_type: &'static str,
    max_age: u32,
    digest: OnceLock<String>,
}

/// An asset prepared by build.rs: `$file` is its place in `OUT_DIR` (`widget/loader.js`).
macro_rules! asset {
    ($file:literal, $content_type:expr, $max_age:expr) => {
        Asset::new(
            include_bytes!(concat!(env!("OUT_DIR"), "/", $file)),
            include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".br")),
            include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".gz")),
            $content_type,
            $max_age,
        )
    };
}

impl Asset {
    const fn new(
        body: &'static [u8],
        br: &'static [u8],
        gzip: &'static [u8],
        content_type: &'static str,
        max_age: u32,
    ) -> Self {
        Asset { body, br, gzip, content_type, max_age, digest: OnceLock::new() }
    }

    fn digest(&self) -> &str {
        self.digest.get_or_init(|| {
            let digest = ring::digest::digest(&ring::digest::SHA256, self.body);
            fount_sdk::encoding::b64(&digest.as_ref()[..12])
        })
    }

    /// The file in the coding the client prefers among Brotli, gzip and none (RFC 9110
    /// section 12.5.3), or 304 when the client has this version of it.
    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let supported = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
        // A header that does not parse counts as none: any coding is then acceptable, and
        // the plain file is the safe choice.
        let chosen = AcceptEncoding::parse(req)
            .ok()
            .and_then(|accepted| accepted.negotiate(supported.iter()))
            .unwrap_or_else(Encoding::identity);
        let (body, coding) = if chosen == Encoding::brotli() {
            (self.br, Some("br"))
        } else if chosen == Encoding::gzip() {
            (self.gzip, Some("gzip"))
        } else {
            (self.body, None)
        };
        let etag = match coding {
            Some(coding) => format!("\"{}-{coding}\"", self.digest()),
            None => format!("\"{}\"", self.digest()),
        };
        let mut response = HttpResponse::Ok();
        response
            .insert_header((header::VARY, "accept-encoding"))
            .insert_header((header::CACHE_CONTROL, format!("public, max-age={}", self.max_age)))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header(("cross-origin-resource-policy", "cross-origin"));
        let fresh = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag == etag
            })
        });
        response.insert_header((header::ETAG, etag));
        if fresh {
            return response.status(actix_web::http::StatusCode::NOT_MODIFIED).finish();
        }
        if let Some(coding) = coding {
            response.insert_header((header::CONTENT_ENCODING, coding));
        }
        response.content_type(self.content_type).body(body)
    }
}

// The loader may be cached for 5 minutes; the rest is revalidated on each use.
static LOADER: Asset = asset!("widget/loader.js", JS, 300);
static PLAYER_JS: Asset = asset!("widget/player.js", JS, 0);
static PLAYER_CSS: Asset = asset!("widget/player.css", "text/css; charset=utf-8", 0);
static CHECKOUT_JS: Asset = asset!("widget/checkout.js", JS, 0);
static DEMO_PAGE_JS: Asset = asset!("widget/demo-page.js", JS, 0);
static DEMO_COVER: Asset = asset!("widget/demo-cover.svg", "image/svg+xml", 0);
static SERVICE_WORKER: Asset = asset!("widget/sw.js", JS, 0);
// With the player's package built, index.js holds the SDK's other modules and the wasm's glue
// (see build.rs); without it, it is the source, and its imports fail at the glue.
static SDK_INDEX: Asset = asset!("sdk/index.js", JS, 0);
static SDK_STREAM: Asset = asset!("sdk/stream.js", JS, 0);
#[cfg(fount_widget_wasm)]
static WASM: Option<Asset> = Some(asset!("pkg/fount_wasm_bg.wasm", "application/wasm", 0));
#[cfg(not(fount_widget_wasm))]
static WASM: Option<Asset> = None;

/// Registers the widget's routes. Its files go out as compressed ahead of time; its pages
/// are compressed on the way out. The API's responses are not, as sealed ranges gain nothing
/// from it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(at("/widget.js").get(loader).finish())
        .service(at("/widget/player").get(player).finish().wrap(Compress::default()))
        .service(at("/widget/sw.js").get(service_worker).finish())
        .service(at("/widget/assets/{file}").get(assets).finish())
        .service(at("/widget/sdk/{dir}/{file}").get(sdk).finish())
        .service(at("/demo").get(demo_page).finish().wrap(Compress::default()))
        .service(at("/widget/embed").get(embed).finish().wrap(super::cors()))
        .service(at("/widget/demo/session").post(demo_session).finish())
        .service(
            at("/widget/demo/checkout").get(demo_checkout_page).post(demo_checkout).finish().wrap(Compress::default()),
        );
}

/// Query of [`embed`].
#[derive(Debug, Deserialize)]
pub struct EmbedQuery {
    title: String,
    origin: String,
}

/// `GET /widget/embed?title=…&origin=…`: whether a page on `origin` can show the title's
/// player, asked by the loader while the frame loads. The browser enforces the answer anyway
/// (the player's `frame-ancestors`); this is so the page can say why instead of showing a
/// broken frame. `reason` is a stable code: `title-not-found` or `origin-not-allowed`.
pub async fn embed(state: web::Data<AppState>, query: web::Query<EmbedQuery>) -> Result<HttpResponse, ApiError> {
    let reason = match state.title_cached(&query.title).await? {
        None => Some("title-not-found"),
        Some(title) => {
            let store = state.store_cached(&title.store_id).await?.ok_or_else(|| ApiError::not_found("title"))?;
            let allowed = validate::origin(&query.origin).is_ok_and(|o| store.origins().contains(&o));
            if state.published_tracks(&title.id).await?.is_empty() {
                Some("title-not-found")
            } else if allowed {
                None
            } else {
                Some("origin-not-allowed")
            }
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"playable": reason.is_none(), "reason": reason})))
}

/// `/widget.js`: the loader.
pub async fn loader(req: HttpRequest) -> HttpResponse {
    LOADER.respond(&req)
}

/// `/widget/assets/{file}`: the player's script and styles, the checkout's script.
pub async fn assets(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = match path.as_str() {
        "player.js" => &PLAYER_JS,
        "player.css" => &PLAYER_CSS,
        "checkout.js" => &CHECKOUT_JS,
        "demo-page.js" => &DEMO_PAGE_JS,
        "demo-cover.svg" => &DEMO_COVER,
        _ => return Err(ApiError::not_found("widget asset")),
    };
    Ok(asset.respond(&req))
}

/// `/widget/sdk/{dir}/{file}`: the JavaScript SDK, laid out as in its package so its relative
/// URLs hold.
pub async fn sdk(req: HttpRequest, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (dir, file) = path.into_inner();
    let missing = || {
        ApiError::new(
            problem::UNAVAILABLE,
            "this server was built without the player's decryption module; run scripts/build-wasm.sh, then rebuild fount-server",
        )
    };
    let asset = match (dir.as_str(), file.as_str()) {
        ("src", "index.js") => &SDK_INDEX,
        ("src", "stream.js") => &SDK_STREAM,
        ("pkg", "fount_wasm_bg.wasm") => WASM.as_ref().ok_or_else(missing)?,
        ("pkg", "fount_wasm.js") if WASM.is_none() => return Err(missing()),
        _ => return Err(ApiError::not_found("SDK file")),
    };
    Ok(asset.respond(&req))
}

/// `/widget/sw.js`: the player's service worker (scope `/widget/`).
pub async fn service_worker(req: HttpRequest) -> HttpResponse {
    let mut response = SERVICE_WORKER.respond(&req);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"),
    );
    response
}

/// Query of the player page.
#[derive(Debug, Deserialize)]
pub struct PlayerQuery {
    title: String,
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    accent: Option<String>,
}

fn frame_ancestors(origins: &[String]) -> String {
    if origins.is_empty() { "'none'".to_owned() } else { origins.join(" ") }
}

fn price_text(title: &TitleRow) -> String {
    match (&title.price, &title.currency) {
        (Some(p), Some(c)) => format!("{p} {c}"),
        _ => String::new(),
    }
}

/// JSON for a `<script type="application/json">` block: `<` escaped, so no `</script>` can end
/// it early.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// `/widget/player?title=…&theme=…&accent=…`: the player the loader frames.
pub async fn player(state: web::Data<AppState>, query: web::Query<PlayerQuery>) -> Result<HttpResponse, ApiError> {
    let title = state.repo.title(&query.title).await?.ok_or_else(|| ApiError::not_found("title"))?;
    let store = state.repo.store(&title.store_id).await?.ok_or_else(|| ApiError::not_found("title"))?;
    let tracks = state.published_tracks(&title.id).await?;
    if tracks.is_empty() {
        return Err(ApiError::not_found("published title (it has no tracks yet)"));
    }
    let theme = query.theme.as_deref().filter(|t| matches!(*t, "light" | "dark" | "auto")).unwrap_or("auto");
    let accent = query
        .accent
        .as_deref()
        .filter(|a| a.len() == 7 && a.starts_with('#') && a[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    let duration: f64 = tracks.iter().map(|t| t.duration).sum();
    let origins = store.origins();
    let cover = super::views::cover_url(&state.settings.public_url, &title);
    let config = serde_json::json!({
        "title": {
            "id": title.id, "name": title.name, "author": title.author, "cover": cover,
            "duration": duration, "price": title.price, "currency": title.currency, "checkoutUrl": title.checkout_url,
        },
        "demo": store.demo,
        "allowedOrigins": origins,
        "accent": accent,
    });
    let page = PlayerPage {
        theme,
        name: &title.name,
        author: title.author.as_deref(),
        cover: cover.as_deref(),
        price: price_text(&title),
        duration: format!("{duration:.1}"),
        config: script_json(&config),
    };
    let csp = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' https: data:; \
         media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors {}",
        frame_ancestors(&origins)
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.render().map_err(ApiError::internal)?))
}

async fn demo_title(state: &AppState, id: &str) -> Result<(TitleRow, std::sync::Arc<Store>), ApiError> {
    let title = state.repo.title(id).await?.ok_or_else(|| ApiError::not_found("title"))?;
    match state.store_cached(&title.store_id).await? {
        Some(store) if store.demo => Ok((title, store)),
        _ => Err(ApiError::not_found("demo store title")),
    }
}

/// A page of this server's own (not framed by other sites): scripts from here only.
fn own_page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(html)
}

/// `GET /demo`: the demo title in the widget, on the server's own origin.
pub async fn demo_page(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (title, store) = demo_title(&state, crate::demo::DEMO_TITLE).await?;
    let snippet = format!(
        "<script src=\"{}/widget.js\" async></script>\n<div data-fount-title=\"{}\"></div>",
        state.settings.public_url, title.id
    );
    let html = DemoPage { title: &title.id, name: &title.name, snippet, origins: store.origins() }
        .render()
        .map_err(ApiError::internal)?;
    Ok(own_page(html))
}

/// A demo visitor (a random id the player keeps in its storage).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoVisitor {
    title: String,
    visitor: String,
}

fn visitor_ref(visitor: &str) -> Result<String, ApiError> {
    if !(8..=64).contains(&visitor.len()) || !visitor.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::validation("`visitor` must be 8 to 64 hex digits"));
    }
    Ok(format!("visitor-{visitor}"))
}

/// `POST /widget/demo/session`: a customer token for a demo store's visitor, standing in for
/// the store backend a real store has.
pub async fn demo_session(state: web::Data<AppState>, body: Json<DemoVisitor>) -> Result<HttpResponse, ApiError> {
    let (_, store) = demo_title(&state, &body.title).await?;
    let customer_ref = visitor_ref(&body.visitor)?;
    let customer =
        state.repo.upsert_customer(&uuid::Uuid::new_v4().to_string(), &store.id, &customer_ref, now()).await?;
    let (token, expires_at) = mint_customer_token(&state, &customer, state.settings.token_ttl)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(TokenView {
        token,
        expires_at,
        customer: customer_ref,
    }))
}

/// Query of the test checkout page.
#[derive(Debug, Deserialize)]
pub struct CheckoutQuery {
    title: String,
}

/// `GET /widget/demo/checkout?title=…&visitor=…`: the demo store's test checkout page.
pub async fn demo_checkout_page(
    state: web::Data<AppState>,
    query: web::Query<CheckoutQuery>,
) -> Result<HttpResponse, ApiError> {
    let (title, _) = demo_title(&state, &query.title).await?;
    let html = CheckoutPage { name: &title.name, price: price_text(&title) }.render().map_err(ApiError::internal)?;
    Ok(own_page(html))
}

/// `POST /widget/demo/checkout`: the test payment; grants the title to the visitor, once.
pub async fn demo_checkout(state: web::Data<AppState>, body: Json<DemoVisitor>) -> Result<HttpResponse, ApiError> {
    let (title, store) = demo_title(&state, &body.title).await?;
    let customer = visitor_ref(&body.visitor)?;
    let reference = validate::ident("reference", &format!("demo-{}-{}", body.visitor, title.id))?;
    let audit = state.audit(format!("customer:{customer}"));
    let grant = Grant::purchase(customer, title.id, reference);
    let (entitlement, created) = grant_entitlement(&state, &store.id, grant, "demo", &audit).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"paid": true, "entitlement": entitlement.id, "new": created})))
}
