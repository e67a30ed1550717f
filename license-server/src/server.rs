//! Running the HTTP server.

use actix_web::{App, HttpServer, middleware};

use crate::api;
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
    let server = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            .wrap(middleware::Logger::new(r#"%a "%r" %s %b %Dms"#).log_target("fount::http"))
            .configure(move |cfg| api::configure(cfg, state))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
