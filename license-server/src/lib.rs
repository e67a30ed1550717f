//! # fount-server
//!
//! Fount's license server: stores (tenants) and their API keys, titles made of sealed tracks,
//! entitlements, devices, and device-bound licenses, over HTTP API v1.
//!
//! The pieces, one module each:
//!
//! * [`api`]: the routes ([`api::configure`], shared by `main` and the tests), request and
//!   response bodies, and the OpenAPI description;
//! * [`edge`]: what every request passes through: body timeouts and unread bodies, input
//!   checks, the JSON extractor, resources that answer 405 with `Allow`;
//! * [`error`]: every error as RFC 9457 problem details, mapped in one place;
//! * [`auth`]: API keys for store backends, short-lived tokens for customers;
//! * [`db`]: one repository trait, SQLite and PostgreSQL behind it, with the event log, the
//!   job queue and webhooks' storage;
//! * [`events`]: every change as an event, polled (`GET /v1/events`) and delivered as signed
//!   webhooks ([`webhooks`]) through the job queue's workers ([`queue`]); outbound requests
//!   to tenants' URLs go through [`outbound`];
//! * [`feeds`]: content providers' RSS feeds, synced by the queue into titles;
//! * [`console`]: `/console`, the operators' and stores' pages, with its accounts and sessions;
//! * [`observe`]: `/metrics` for Prometheus, request ids, text or JSON logs;
//! * [`crypto`]: the key-encryption key and the license-signing keys;
//! * [`media`]: probing, sealing and the Readium manifest;
//! * [`assets`]: where sealed files and uploads live, a folder or an S3-compatible bucket;
//! * [`origin`]: the asset folder's sealed files sent with `sendfile`, on a listener of their own;
//! * [`cli`], [`commands`], [`demo`], [`server`]: the `fount-server` binary.
//!
//! The formats themselves (licenses, sealed assets, manifests) live in `fount-sdk`, which the
//! server and every player share.
//!
//! ## Example: a server on a free port
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use fount_server::{config::Settings, server, state::AppState};
//! let settings = Settings::new("127.0.0.1:0".parse()?, std::env::temp_dir().join("fount-example"));
//! let state = AppState::open(settings).await?;
//! let listener = std::net::TcpListener::bind(state.settings.listen)?;
//! println!("listening on {}", listener.local_addr()?);
//! server::serve_on(state, listener)?.await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod edge;
pub mod error;
pub mod events;
pub mod feeds;
pub mod load;
pub mod media;
pub mod observe;
pub mod operations;
pub mod origin;
pub mod outbound;
pub mod pages;
pub mod queue;
pub mod server;
pub mod state;
pub mod webhooks;
