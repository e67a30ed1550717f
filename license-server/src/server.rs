//! Running the HTTP server.

use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{IntoServiceFactory as _, Service as _, ServiceFactoryExt as _, fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;

use crate::api;
use crate::edge::body::BodyGuard;
use crate::edge::input::InputGuard;
use crate::edge::wire::ProblemWire;
use crate::observe::Observe;
use crate::origin::Origin;
use crate::state::AppState;

/// Binds `state.settings.listen` and serves until stopped. Reloads signing keys periodically
/// (every minute by default) so that a `keys rotate` elsewhere takes effect without a restart.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(state.settings.listen)?;
    serve_on(state, listener)?.await
}

/// Builds the server on an already bound listener (tests bind port 0 and read the port).
pub fn serve_on(state: AppState, listener: std::net::TcpListener) -> std::io::Result<actix_web::dev::Server> {
    crate::observe::metrics::install();
    state.follow_changes();
    let reload = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(reload.settings.key_reload);
        tick.tick().await;
        loop {
            tick.tick().await;
            reload.reload_keys().await;
        }
    });
    let limits = state.settings.limits;
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut max_connections = limits.max_connections.unwrap_or_else(crate::config::connection_budget);
    if state.settings.origin_listen.is_some() && limits.max_connections.is_none() {
        // The origin's workers keep files open: those descriptors come out of the budget.
        max_connections = max_connections.saturating_sub(crate::origin::OPEN_FILES.saturating_mul(workers)).max(16);
    }
    let addr = listener.local_addr()?;
    // What actix-web's HttpServer assembles, but for one thing: each connection passes through
    // `ProblemWire`, so that even actix-http's own parser errors are problem+json.
    let builder = actix_server::Server::build()
        .workers(workers)
        // actix counts per worker.
        .max_concurrent_connections(max_connections.div_ceil(workers).max(1));
    let shutdown = builder.graceful_shutdown_signal();
    let builder = match origin_of(&state, max_connections)? {
        Some((listener, origin)) => {
            tracing::info!(address = %listener.local_addr()?, "the origin serves sealed files");
            let signal = builder.graceful_shutdown_signal();
            builder.listen("fount-origin", listener, move || {
                let origin = origin.worker();
                let signal = signal.clone();
                fn_service(move |io: TcpStream| {
                    let origin = origin.clone();
                    let signal = signal.clone();
                    async move {
                        origin.serve(io, signal).await;
                        Ok::<_, std::convert::Infallible>(())
                    }
                })
            })?
        }
        None => builder,
    };
    let server = builder
        .listen("fount", listener, move || {
            let state = state.clone();
            let shutdown = shutdown.clone();
            let app = move || {
                let state = state.clone();
                let load = state.load.clone();
                // The last wrap runs first: `Observe` sees every answer, the body guard every body.
                App::new()
                    .configure(move |cfg| api::configure(cfg, state))
                    .wrap_fn(move |req, srv| {
                        // Counted until the answer's head is ready (see `state::Load`).
                        let serving = load.enter();
                        let answer = srv.call(req);
                        async move {
                            let answer = answer.await;
                            drop(serving);
                            answer
                        }
                    })
                    .wrap(InputGuard)
                    .wrap(BodyGuard::new(limits.body_idle))
                    .wrap(Observe)
            };
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(if limits.keep_alive.is_zero() {
                    KeepAlive::Disabled
                } else {
                    KeepAlive::Timeout(limits.keep_alive)
                })
                .client_request_timeout(limits.head_timeout)
                .client_disconnect_timeout(LINGER)
                .local_addr(addr)
                // The app reads no host or address from its config: requests carry their own.
                .finish(map_config(app().into_factory().map_err(|e| e.error_response()), move |_| {
                    AppConfig::default()
                }));
            fn_service(|io: TcpStream| async move {
                // Small answers go out at once rather than waiting on Nagle's algorithm.
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((ProblemWire::new(io), Protocol::Http1, peer))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}

/// The origin's listener and the origin, when `FOUNT_ORIGIN_LISTEN` asks for one.
fn origin_of(state: &AppState, max_connections: usize) -> std::io::Result<Option<(std::net::TcpListener, Origin)>> {
    let (Some(addr), Some(dir)) =
        (state.settings.origin_listen, state.settings.origin_folder().map_err(std::io::Error::other)?)
    else {
        return Ok(None);
    };
    let limits = state.settings.limits;
    let origin = Origin::new(dir, limits.head_timeout, limits.keep_alive, limits.body_idle, max_connections);
    Ok(Some((std::net::TcpListener::bind(addr)?, origin)))
}

/// How long a connection closed with an unread request body keeps discarding what the client
/// still sends (see `edge::body`).
pub const LINGER: Duration = Duration::from_secs(1);
