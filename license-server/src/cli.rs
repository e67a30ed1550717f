//! The `fount-server` command line: `serve`, `demo`, `init`, and what operators do by hand.
//! What each command does is in [`crate::commands`]; this module only describes them.
//!
//! Every option can also be set through a `FOUNT_*` environment variable. Only `serve`, `demo`
//! and `init` create a data folder; every other command refuses a folder that holds no Fount
//! data and names it, so a missing or mistyped `--data` never quietly makes a second, empty
//! installation with a master key of its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    FeedSettings, Limits, Location, QueueSettings, Settings, WEBHOOK_SCHEDULE, WebhookSettings, default_public_url,
};

/// Fount's license server.
#[derive(Debug, Parser)]
#[command(name = "fount-server", version, about = "Sell protected audio and play it anywhere: the license server.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the database, open its keys and find its files.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `postgres://…` to use PostgreSQL instead of the SQLite file in the data folder.
    #[arg(long, env = "FOUNT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The key-encryption key (32 bytes, base64url). Default: `master.key` in the data folder,
    /// created by the first `serve`, `demo` or `init`.
    #[arg(long, env = "FOUNT_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// How long a request waits for a database connection before it is answered 503, seconds.
    #[arg(long, env = "FOUNT_DATABASE_TIMEOUT_SECONDS", default_value_t = crate::db::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=120))]
    pub database_timeout_seconds: u64,
    /// Where sealed tracks, covers and transcripts are kept: a folder, or
    /// `s3://bucket/prefix` on any S3-compatible store (credentials and endpoint from the
    /// usual `AWS_*` variables). Default: `assets` in the data folder.
    #[arg(long, env = "FOUNT_ASSETS", value_parser = Location::parse)]
    pub assets: Option<Location>,
    /// Where uploads wait for a worker: a folder or `s3://bucket/prefix`, never inside the
    /// assets' (uploads are plain audio). Default: `uploads` in the data folder; use a bucket
    /// when workers run on other machines.
    #[arg(long, env = "FOUNT_UPLOADS", value_parser = Location::parse)]
    pub uploads: Option<Location>,
    /// The URL that serves the assets' files by name (a CDN in front of the bucket);
    /// manifests then link tracks there instead of to this server.
    #[arg(long, env = "FOUNT_ASSETS_PUBLIC_URL", value_parser = public_base_url)]
    pub assets_public_url: Option<String>,
}

/// An `http(s)://` URL without query or fragment, its trailing '/' removed.
fn public_base_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{value}: give an http(s) URL without query or fragment"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Where the server keeps its data.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data folder: SQLite database, master key file, sealed assets.
    #[arg(long = "data", env = "FOUNT_DATA", default_value = "fount-data")]
    pub data: PathBuf,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Where the demo keeps its data: the same, in its own folder by default.
#[derive(Debug, Clone, Args)]
pub struct DemoDataArgs {
    /// Data folder: SQLite database, master key file, sealed assets, demo.json.
    #[arg(long = "data", env = "FOUNT_DATA", default_value = "fount-demo")]
    pub data: PathBuf,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Options of a running server.
#[derive(Debug, Clone, Args)]
pub struct ServerOptions {
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
    /// A bearer token Prometheus must send to read `/metrics` (unset: `/metrics` is open;
    /// it holds counts by route and status, never tenants' data).
    #[arg(long, env = "FOUNT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Also serve the asset folder's sealed files by name on this address, sent straight from
    /// the page cache (`sendfile`); point `FOUNT_ASSETS_PUBLIC_URL` at it (docs/operations.md).
    #[arg(long, env = "FOUNT_ORIGIN_LISTEN")]
    pub origin_listen: Option<SocketAddr>,
    /// Behind a reverse proxy: take a client's address from the last entry of
    /// `X-Forwarded-For` (the one the proxy added), for the console's sign-in limit. Only
    /// with a proxy in front that sets it: otherwise a client could name any address.
    #[arg(long, env = "FOUNT_TRUST_FORWARDED_FOR", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_for: bool,
}

impl ServerOptions {
    /// The settings of a server with these options and this data.
    pub fn settings(&self, data: PathBuf, db: &DatabaseArgs) -> Settings {
        let mut s = db.settings(self.listen, data);
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
        s.key_reload = Duration::from_secs(self.key_reload_seconds);
        s.metrics_token = self.metrics_token.clone().filter(|t| !t.is_empty());
        s.trust_forwarded_for = self.trust_forwarded_for;
        s.origin_listen = self.origin_listen;
        s
    }
}

impl DatabaseArgs {
    fn settings(&self, listen: SocketAddr, data: PathBuf) -> Settings {
        let mut s = Settings::new(listen, data);
        s.database_url = self.database_url.clone();
        s.database_timeout = Duration::from_secs(self.database_timeout_seconds);
        s.master_key = self.master_key.clone();
        s.assets = self.assets.clone();
        s.uploads = self.uploads.clone();
        s.assets_public_url = self.assets_public_url.clone();
        s
    }
}

impl DataArgs {
    /// Settings for a one-off command (no listener).
    pub fn settings(&self) -> Settings {
        self.db.settings(SocketAddr::from(([127, 0, 0, 1], 0)), self.data.clone())
    }
}

/// The queue's workers in this process, webhook delivery and the event log's retention (docs/events.md).
#[derive(Debug, Clone, Args)]
pub struct EventOptions {
    /// Jobs this process runs at once (packaging uploads, delivering webhooks); 0 for none,
    /// when `fount-server worker` processes do the work.
    #[arg(long, env = "FOUNT_WORKERS", default_value_t = QueueSettings::default().workers as u64, value_parser = clap::value_parser!(u64).range(0..=256))]
    pub workers: u64,
    /// How long a worker's claim on a job lasts without renewal, seconds: a job whose worker
    /// died is taken by another after this.
    #[arg(long, env = "FOUNT_JOB_LEASE_SECONDS", default_value_t = QueueSettings::default().lease.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub job_lease_seconds: u64,
    /// At shutdown, how long running jobs may take to finish before they are handed back,
    /// seconds.
    #[arg(long, env = "FOUNT_SHUTDOWN_GRACE_SECONDS", default_value_t = QueueSettings::default().grace.as_secs(), value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_seconds: u64,
    /// The waits between webhook attempts, seconds, comma-separated (one more attempt than
    /// waits).
    #[arg(long, env = "FOUNT_WEBHOOK_RETRY_SCHEDULE", value_delimiter = ',', default_values_t = WEBHOOK_SCHEDULE)]
    pub webhook_retry_schedule: Vec<u64>,
    /// How long a webhook attempt may take, seconds.
    #[arg(long, env = "FOUNT_WEBHOOK_TIMEOUT_SECONDS", default_value_t = WebhookSettings::default().timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=60))]
    pub webhook_timeout_seconds: u64,
    /// An endpoint whose every delivery failed for this long is disabled, seconds.
    #[arg(long, env = "FOUNT_WEBHOOK_DISABLE_AFTER_SECONDS", default_value_t = WebhookSettings::default().disable_after.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_disable_after_seconds: u64,
    /// Let webhook URLs reach private, loopback and link-local addresses (receivers on your own
    /// network). Never on an installation whose stores you do not trust.
    #[arg(long, env = "FOUNT_ALLOW_PRIVATE_URLS", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_private_urls: bool,
    /// The longest a feed's enclosure may take to download, seconds.
    #[arg(long, env = "FOUNT_FEED_DOWNLOAD_TIMEOUT_SECONDS", default_value_t = FeedSettings::default().download_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub feed_download_timeout_seconds: u64,
    /// The longest a feed's download (feed, enclosure, chapters, transcript) may go without
    /// receiving a byte, seconds.
    #[arg(long, env = "FOUNT_FEED_DOWNLOAD_STALL_SECONDS", default_value_t = FeedSettings::default().download_stall.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub feed_download_stall_seconds: u64,
    /// Days events, webhook deliveries and dead jobs are kept.
    #[arg(long, env = "FOUNT_EVENT_RETENTION_DAYS", default_value_t = crate::events::DEFAULT_RETENTION_DAYS as u64, value_parser = clap::value_parser!(u64).range(1..=36_500))]
    pub event_retention_days: u64,
}

impl EventOptions {
    /// Sets what these options describe.
    pub fn apply(&self, s: &mut Settings) {
        s.queue = QueueSettings {
            workers: usize::try_from(self.workers).unwrap_or(usize::MAX),
            lease: Duration::from_secs(self.job_lease_seconds),
            grace: Duration::from_secs(self.shutdown_grace_seconds),
        };
        s.webhooks = WebhookSettings {
            schedule: self.webhook_retry_schedule.iter().map(|w| Duration::from_secs(*w)).collect(),
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
            disable_after: Duration::from_secs(self.webhook_disable_after_seconds),
            allow_private_urls: self.allow_private_urls,
            ..WebhookSettings::default()
        };
        s.feeds = FeedSettings {
            download_timeout: Duration::from_secs(self.feed_download_timeout_seconds),
            download_stall: Duration::from_secs(self.feed_download_stall_seconds),
        };
        s.event_retention_days = i64::try_from(self.event_retention_days).unwrap_or(i64::MAX);
    }
}

/// `serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerOptions,
    /// The workers in the same process, and webhooks.
    #[command(flatten)]
    pub events: EventOptions,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
}

impl ServeArgs {
    /// The settings these options describe.
    pub fn settings(&self) -> Settings {
        let mut s = self.server.settings(self.data.data.clone(), &self.data.db);
        self.events.apply(&mut s);
        s
    }
}

/// `worker` options.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The URL clients reach the servers at: the base of the URLs in the events workers
    /// write. Give it the value the servers have.
    #[arg(long, env = "FOUNT_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Serve this process's `/metrics` on this address (Prometheus scrapes each worker: its
    /// counters of deliveries and feed reads live here). Unset: no listener at all.
    #[arg(long, env = "FOUNT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token Prometheus must send to read `/metrics` (unset: `/metrics` is open;
    /// it holds counts by route and status, never tenants' data).
    #[arg(long, env = "FOUNT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The workers, and webhooks.
    #[command(flatten)]
    pub events: EventOptions,
    /// Data: the database, and the folder uploads and sealed files are kept in.
    #[command(flatten)]
    pub data: DataArgs,
}

impl WorkerArgs {
    /// The settings these options describe.
    pub fn settings(&self) -> Settings {
        let mut s = self.data.settings();
        s.public_url = self.public_url.trim_end_matches('/').to_owned();
        s.metrics_token = self.metrics_token.clone().filter(|t| !t.is_empty());
        self.events.apply(&mut s);
        s
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server, with queue workers in the same process (see --workers). Creates the data
    /// folder, database and master key on first start.
    Serve(ServeArgs),
    /// Run queue workers only, with no HTTP listener: they take background work (packaging
    /// uploads, delivering webhooks) from the database. Run as many as you like, anywhere the
    /// database and the data folder are reachable.
    Worker(WorkerArgs),
    /// The job queue: its state, a probe of it, dead jobs.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Operator keys, for the operator API (`/v1/operator/…`).
    #[command(subcommand)]
    OperatorKey(OperatorKeyCommand),
    /// The console's accounts (`/console`).
    #[command(subcommand)]
    Console(ConsoleCommand),
    /// Run a ready demo: a store, an API key, a customer and a sample title, on SQLite. Prints
    /// the URL to open and writes the facts to demo.json in the data folder.
    Demo(DemoArgs),
    /// Create a data folder (database and master key) without starting the server.
    Init(DataArgs),
    /// Stores (tenants).
    #[command(subcommand)]
    Store(StoreCommand),
    /// API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Titles.
    #[command(subcommand)]
    Title(TitleCommand),
    /// A title's tracks.
    #[command(subcommand)]
    Track(TrackCommand),
    /// Seal local audio files into a title.
    Package(PackageArgs),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Jobs waiting, running, retrying and dead, by kind.
    Status {
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Queue probe jobs, each of which records its key once when a worker completes it; then
    /// `queue probes` counts them. A test of the queue and its workers.
    Probe {
        /// How many.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        count: u64,
        /// The keys' prefix (default: a fresh one); printed.
        #[arg(long)]
        prefix: Option<String>,
        /// How long each probe works, milliseconds.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=600_000))]
        work_ms: u64,
        /// How many of each probe's attempts fail (to see retries, and past its last attempt,
        /// a dead job).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
        fail_times: u64,
        /// After a failed attempt, retry after this many milliseconds instead of the backoff.
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
        retry_ms: Option<u64>,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// How many probes with this prefix were done: distinct keys, executions (the same when
    /// each was done once), and executions by worker. JSON.
    Probes {
        /// The prefix `queue probe` printed.
        #[arg(long)]
        prefix: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Queue a dead job again.
    Retry {
        /// Job id.
        #[arg(long)]
        job: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `operator-key …`.
#[derive(Debug, Subcommand)]
pub enum OperatorKeyCommand {
    /// Create an operator key; prints it once.
    Create {
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        label: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// List operator keys (ids and labels).
    List {
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke an operator key.
    Revoke {
        /// The key's id (the 16 hex digits after `fok_`), or the whole key.
        #[arg(long)]
        id: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `console …`.
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// People who sign in to the console.
    #[command(subcommand)]
    User(ConsoleUserCommand),
}

/// `console user …`.
#[derive(Debug, Subcommand)]
pub enum ConsoleUserCommand {
    /// Add a person: an operator (every store) or a store's staff (`--store`). The password is
    /// read from standard input when `--password-stdin` is given; otherwise one is made and
    /// printed once.
    Add {
        /// Their email: the name they sign in with.
        #[arg(long)]
        email: String,
        /// `operator` or `staff`.
        #[arg(long, value_parser = ["operator", "staff"])]
        role: String,
        /// The store a staff member works for.
        #[arg(long, required_if_eq("role", "staff"))]
        store: Option<String>,
        /// Read the password (12 to 256 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the people.
    List {
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a person's password (and lift a sign-in lock), as `add` does.
    Passwd {
        /// Their email.
        #[arg(long)]
        email: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Disable a person: no more sign-ins, and their sessions end now.
    Disable {
        /// Their email.
        #[arg(long)]
        email: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerOptions,
    /// The workers in the same process, and webhooks.
    #[command(flatten)]
    pub events: EventOptions,
    /// Data.
    #[command(flatten)]
    pub data: DemoDataArgs,
    /// A web origin allowed to embed the demo's widget (repeatable). The server's own origin
    /// is always allowed, for its `/demo` page. Added to the origins the store already
    /// allows, never replacing them.
    #[arg(long = "allow-origin", default_values_t = ["http://localhost:8000".to_owned(), "http://127.0.0.1:8000".to_owned()])]
    pub allow_origins: Vec<String>,
}

impl DemoArgs {
    /// The settings these options describe.
    pub fn settings(&self) -> Settings {
        let mut s = self.server.settings(self.data.data.clone(), &self.data.db);
        self.events.apply(&mut s);
        s
    }
}

/// How lists are printed.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
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
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=100))]
        device_limit: i64,
        /// A demo store: its widget mints tokens for anonymous visitors and sells through a
        /// built-in test checkout that charges nothing. For trying Fount out, never for sales.
        #[arg(long)]
        demo: bool,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the stores.
    List {
        /// Format.
        #[command(flatten)]
        output: Output,
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
    /// List a store's API keys (their ids and labels; the secrets are never stored).
    List {
        /// Store id.
        #[arg(long)]
        store: String,
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke an API key: it stops working at once.
    Revoke {
        /// The key's id (the 16 hex digits after `fsk_`), or the whole key.
        #[arg(long)]
        id: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `title …`.
#[derive(Debug, Subcommand)]
pub enum TitleCommand {
    /// List a store's titles.
    List {
        /// Store id.
        #[arg(long)]
        store: String,
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete a title and its sealed files. Refused while any customer has an entitlement
    /// to it: their licenses must keep working.
    Delete {
        /// Title id.
        #[arg(long)]
        title: String,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `track …`.
#[derive(Debug, Subcommand)]
pub enum TrackCommand {
    /// List a title's tracks in reading order.
    List {
        /// Title id.
        #[arg(long)]
        title: String,
        /// Format.
        #[command(flatten)]
        output: Output,
        /// Data.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Remove a track from a title (the tracks after it move up) and delete its sealed file.
    Delete {
        /// Title id.
        #[arg(long)]
        title: String,
        /// The track's place in the reading order, from 0 (see `track list`).
        #[arg(long)]
        position: i64,
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
    /// Language of a new title (BCP 47, such as `en`).
    #[arg(long, requires = "new_title")]
    pub language: Option<String>,
    /// Price of a new title, such as 9.99 (with --currency).
    #[arg(long, requires_all = ["new_title", "currency"])]
    pub price: Option<String>,
    /// Currency of the price (ISO 4217, such as EUR).
    #[arg(long, requires = "price")]
    pub currency: Option<String>,
    /// Cover image of a new title (an http or https URL).
    #[arg(long, requires = "new_title")]
    pub cover: Option<String>,
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
