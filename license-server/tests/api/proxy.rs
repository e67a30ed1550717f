//! A proxy in front of a test server that counts the range requests for sealed files and can
//! alter what it forwards: a block served damaged once, answers of 503, a pause per request.
//! The SDK's downloads are tested through it, as an app's would meet a real network.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// What the proxy saw and what it is told to do.
#[derive(Default)]
pub struct Faults {
    /// Range requests for sealed files, by the range's first byte.
    pub ranges: BTreeMap<u64, u32>,
    /// Range requests for blocks, by the app's `x-test-app` tag.
    pub by_app: BTreeMap<String, u32>,
    /// Flip a byte in the answer to the next request for a range starting here.
    pub corrupt_once: Option<u64>,
    /// Answer this many of the next range requests with 503.
    pub unavailable: u32,
    /// Hold every range request this long before forwarding it.
    pub delay: Duration,
}

impl Faults {
    /// Range requests in all.
    pub fn requests(&self) -> u32 {
        self.ranges.values().sum()
    }

    /// Range requests for blocks (not for a 68-byte header) in all.
    pub fn block_requests(&self) -> u32 {
        self.ranges.iter().filter(|(start, _)| **start > 0).map(|(_, n)| n).sum()
    }
}

pub struct Proxy {
    pub base: String,
    pub faults: Arc<Mutex<Faults>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn range_start(req: &HttpRequest) -> Option<u64> {
    let value = req.headers().get("range")?.to_str().ok()?;
    value.strip_prefix("bytes=")?.split('-').next()?.parse().ok()
}

async fn forward(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<(String, reqwest::Client, Arc<Mutex<Faults>>)>,
) -> HttpResponse {
    let (upstream, http, faults) = state.get_ref();
    let range = range_start(&req).filter(|_| req.path().starts_with("/pub/"));
    let (corrupt, unavailable, delay) = match range {
        None => (false, false, Duration::ZERO),
        Some(start) => {
            let mut f = faults.lock().unwrap();
            *f.ranges.entry(start).or_default() += 1;
            if start > 0 {
                let app = req.headers().get("x-test-app").and_then(|v| v.to_str().ok()).unwrap_or("");
                *f.by_app.entry(app.to_owned()).or_default() += 1;
            }
            let corrupt = f.corrupt_once == Some(start);
            if corrupt {
                f.corrupt_once = None;
            }
            let unavailable = f.unavailable > 0;
            f.unavailable = f.unavailable.saturating_sub(1);
            (corrupt, unavailable, f.delay)
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if unavailable {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let url = format!("{upstream}{}", req.uri().path_and_query().map_or("/", |p| p.as_str()));
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = http.request(method, url).body(body.to_vec());
    for (name, value) in req.headers() {
        if !matches!(name.as_str(), "host" | "connection" | "content-length") {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let Ok(resp) = out.send().await else { return HttpResponse::BadGateway().finish() };
    let mut answer = HttpResponse::build(actix_web::http::StatusCode::from_u16(resp.status().as_u16()).unwrap());
    for (name, value) in resp.headers() {
        if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding") {
            answer.insert_header((name.as_str(), value.as_bytes()));
        }
    }
    let mut bytes = resp.bytes().await.unwrap_or_default().to_vec();
    if corrupt && let Some(b) = bytes.get_mut(100) {
        *b ^= 0x40;
    }
    answer.body(bytes)
}

impl Proxy {
    /// A proxy to `upstream` on a port of its own.
    pub async fn start(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let state = web::Data::new((upstream.to_owned(), crate::support::http_client(), faults.clone()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    HttpServer::new(move || App::new().app_data(state.clone()).default_service(web::to(forward)))
                        .workers(2)
                        .listen(listener)
                        .expect("listen")
                        .run();
                let _ = tx.send(server.handle());
                let _ = server.await;
            })
        });
        let handle = rx.await.expect("the proxy's thread started");
        Proxy { base, faults, handle }
    }
}
