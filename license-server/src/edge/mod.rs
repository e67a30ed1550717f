//! The edge: what every request passes through before its handler sees it, and what every
//! handler uses to read its input. Rules that hold for the whole API live here once, rather
//! than in each handler:
//!
//! * [`body`]: request bodies time out when they stall, and a body left unread closes its
//!   connection after the answer (the middleware [`body::BodyGuard`]); bodies are read whole
//!   within a limit;
//! * [`input`]: the request line and headers are checked before routing (length, and no NUL,
//!   which PostgreSQL cannot store), in the middleware [`input::InputGuard`];
//! * [`json`]: the JSON extractor every handler uses: a JSON object, within the size limit,
//!   without NUL, each failure a problem naming it;
//! * [`routes`]: resources built by method, so that a 405 names what is allowed;
//! * [`wire`]: the few answers actix-http gives by itself (a request it cannot parse) in
//!   problem+json too.
//!
//! Limits are set in [`Limits`](crate::config::Limits) and documented in docs/operations.md.

pub mod body;
pub mod input;
pub mod json;
pub mod routes;
pub mod wire;

pub use json::{Json, MaybeJson};
pub use routes::{Routes, at};
