//! Running the HTTP server.

use actix_web::http::KeepAlive;
use actix_web::{App, HttpServer, middleware};

use crate::api;
use crate::edge::body::BodyGuard;
use crate::edge::input::InputGuard;
use crate::state::AppState;

/// Binds `state.settings.listen` and serves until stopped. Reloads signing keys periodically
/// (every minute by default) so that a `keys rotate` elsewhere takes effect without a restart.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(state.settings.listen)?;
    serve_on(state, listener)?.await
}

/// Builds the server on an already bound listener (tests bind port 0 and read the port).
pub fn serve_on(state: AppState, listener: std::net::TcpListener) -> std::io::Result<actix_web::dev::Server> {
    let reload = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(reload.settings.key_reload);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = reload.keys.reload(reload.repo.as_ref(), &reload.kek).await {
                tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
            }
        }
    });
    let limits = state.settings.limits;
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let max_connections = limits.max_connections.unwrap_or_else(crate::config::connection_budget);
    let server = HttpServer::new(move || {
        let state = state.clone();
        // The last wrap runs first: the log sees every answer, the body guard every body.
        App::new()
            .configure(move |cfg| api::configure(cfg, state))
            .wrap(InputGuard)
            .wrap(BodyGuard::new(limits.body_idle))
            .wrap(middleware::Logger::new(r#"%a "%r" %s %b %Dms"#).log_target("fount::http"))
    })
    .workers(workers)
    // actix counts per worker.
    .max_connections(max_connections.div_ceil(workers).max(1))
    .client_request_timeout(limits.head_timeout)
    .keep_alive(if limits.keep_alive.is_zero() { KeepAlive::Disabled } else { KeepAlive::Timeout(limits.keep_alive) })
    .listen(listener)?
    .run();
    Ok(server)
}
