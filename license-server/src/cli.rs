//! The `fount-server` command line: `serve`, `demo`, and what operators do by hand.
//!
//! Every option can also be set through a `FOUNT_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Limits, Settings, default_public_url};

/// Fount's license server.
#[derive(Debug, Parser)]
#[command(name = "fount-server", version, about = "Sell protected audio and play it anywhere: the license server.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the server keeps its data.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data folder: SQLite database, master key file, sealed assets.
    #[arg(long = "data", env = "FOUNT_DATA", default_value = "fount-data")]
    pub data: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the SQLite file in the data folder.
    #[arg(long, env = "FOUNT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The key-encryption key (32 bytes, base64url). Default: `master.key` in the data folder,
    /// created on first start.
    #[arg(long, env = "FOUNT_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

/// Options of a running server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FOUNT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL clients reach this server at (default `http://<listen>`); it goes into licenses.
    #[arg(long, env = "FOUNT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest audio upload, bytes.
    #[arg(long, env = "FOUNT_MAX_UPLOAD_BYTES", default_value_t = Limits::default().upload_bytes)]
    pub max_upload_bytes: u64,
    /// Largest JSON body, bytes.
    #[arg(long, env = "FOUNT_MAX_JSON_BYTES", default_value_t = Limits::default().json_bytes)]
    pub max_json_bytes: usize,
    /// Longest pause between two parts of a request body, seconds; then it is refused (408).
    #[arg(long, env = "FOUNT_BODY_TIMEOUT_SECONDS", default_value_t = Limits::default().body_idle.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_seconds: u64,
    /// Longest a client may take to send a request's head, seconds.
    #[arg(long, env = "FOUNT_HEAD_TIMEOUT_SECONDS", default_value_t = Limits::default().head_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300))]
    pub head_timeout_seconds: u64,
    /// How long an idle kept-alive connection stays open, seconds (0: no keep-alive).
    #[arg(long, env = "FOUNT_KEEP_ALIVE_SECONDS", default_value_t = Limits::default().keep_alive.as_secs(), value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub keep_alive_seconds: u64,
    /// Most connections served at once (default: what the open-file limit allows).
    #[arg(long, env = "FOUNT_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// How often to reload signing keys, seconds (picks up `keys rotate`).
    #[arg(long, env = "FOUNT_KEY_RELOAD_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub key_reload_seconds: u64,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
}

impl ServeArgs {
    /// The settings these options describe.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(self.listen, self.data.data.clone());
        s.database_url = self.data.database_url.clone();
        s.master_key = self.data.master_key.clone();
        s.public_url = self
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| default_public_url(self.listen));
        s.limits = Limits {
            json_bytes: self.max_json_bytes,
            upload_bytes: self.max_upload_bytes,
            body_idle: Duration::from_secs(self.body_timeout_seconds),
            head_timeout: Duration::from_secs(self.head_timeout_seconds),
            keep_alive: Duration::from_secs(self.keep_alive_seconds),
            max_connections: self.max_connections.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        s.key_reload = std::time::Duration::from_secs(self.key_reload_seconds);
        s
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run a ready demo: a store, an API key, a customer and a sample title, on SQLite. Prints
    /// the URL to open and writes the facts to demo.json in the data folder.
    Demo(DemoArgs),
    /// Stores (tenants).
    #[command(subcommand)]
    Store(StoreCommand),
    /// API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Seal local audio files into a title.
    Package(PackageArgs),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Server options (the data folder defaults to `fount-demo`).
    #[command(flatten)]
    pub serve: ServeArgs,
    /// A web origin allowed to embed the demo's widget (repeatable). The server's own origin
    /// is always allowed, for its `/demo` page.
    #[arg(long = "allow-origin", default_values_t = ["http://localhost:8000".to_owned(), "http://127.0.0.1:8000".to_owned()])]
    pub allow_origins: Vec<String>,
}

/// `store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create a store; prints it as JSON.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Devices each customer may register.
        #[arg(long, default_value_t = 5)]
        device_limit: i64,
        /// A demo store: its widget mints tokens for anonymous visitors and sells through a
        /// built-in test checkout that charges nothing. For trying Fount out, never for sales.
        #[arg(long)]
        demo: bool,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `apikey …`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a store; prints the key once.
    Create {
        /// Store id.
        #[arg(long)]
        store: String,
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        label: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `package` options.
#[derive(Debug, Clone, Args)]
pub struct PackageArgs {
    /// Store id.
    #[arg(long)]
    pub store: String,
    /// Add to this existing title …
    #[arg(long, conflicts_with = "new_title")]
    pub title: Option<String>,
    /// … or create a title with this name.
    #[arg(long)]
    pub new_title: Option<String>,
    /// Author of a new title.
    #[arg(long, requires = "new_title")]
    pub author: Option<String>,
    /// Audio files, in reading order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; it signs from now on, and the old public keys stay published so
    /// issued licenses stay valid. Running servers pick it up within a minute.
    Rotate {
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

impl DataArgs {
    /// Settings for a one-off command (no listener).
    pub fn settings(&self) -> Settings {
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut s = Settings::new(listen, self.data.clone());
        s.database_url = self.database_url.clone();
        s.master_key = self.master_key.clone();
        s
    }
}
