//! Typed configuration, from flags and `FOUNT_*` environment variables (see `cli`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::assets::Location;

/// Limits on what clients may send, and on how long and how many of them the server waits
/// for. docs/operations.md explains each.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body, bytes.
    pub json_bytes: usize,
    /// Largest audio upload, bytes.
    pub upload_bytes: u64,
    /// Longest pause between two parts of a request body before it is refused (408).
    pub body_idle: Duration,
    /// Longest a client may take to send a request's head once it has begun.
    pub head_timeout: Duration,
    /// How long an idle kept-alive connection stays open.
    pub keep_alive: Duration,
    /// Most connections served at once, across the server's workers; more wait in the
    /// listen queue. `None`: derived from the open-file limit (see
    /// [`connection_budget`]).
    pub max_connections: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_bytes: 64 * 1024,
            upload_bytes: 1024 * 1024 * 1024,
            body_idle: Duration::from_secs(20),
            head_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(5),
            max_connections: None,
        }
    }
}

/// File descriptors kept back from client connections: database connections, sealed files
/// being served or written, logs.
pub const RESERVED_FILES: u64 = 128;

/// How many connections the server can take at once without running out of file
/// descriptors: the open-file limit (raised to its hard maximum first) less
/// [`RESERVED_FILES`], and at least 16. Past this, a server that kept accepting would fail
/// to open anything, its own health checks included; with it, new connections wait in the
/// listen queue until one is free.
pub fn connection_budget() -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    usize::try_from(files.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX)
}

/// The queue's workers in one process (docs/events.md, "The queue").
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Jobs this process runs at once; 0 runs no worker (`serve --workers 0`).
    pub workers: usize,
    /// How long a claim holds a job; the worker extends it every third of this while it works,
    /// and another worker takes the job once it ends.
    pub lease: Duration,
    /// At shutdown, how long running jobs may take to finish before they are released.
    pub grace: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings { workers: 4, lease: Duration::from_secs(30), grace: Duration::from_secs(30) }
    }
}

/// The documented webhook retry schedule: the waits before the 2nd to 10th attempts.
pub const WEBHOOK_SCHEDULE: [u64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// Webhook delivery (docs/events.md, "Webhooks").
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The waits between attempts (±20% each): its length plus one is the number of attempts.
    pub schedule: Vec<Duration>,
    /// How long an attempt may take, connection included.
    pub timeout: Duration,
    /// An endpoint failing every attempt for this long is disabled.
    pub disable_after: Duration,
    /// How long the previous secret keeps signing after a rotation.
    pub rotation_overlap: Duration,
    /// Whether tenants' URLs may reach private, loopback and link-local addresses (for
    /// receivers on the operator's own network; never on a shared installation).
    pub allow_private_urls: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            schedule: WEBHOOK_SCHEDULE.iter().map(|s| Duration::from_secs(*s)).collect(),
            timeout: Duration::from_secs(15),
            disable_after: Duration::from_secs(5 * 86_400),
            rotation_overlap: Duration::from_secs(86_400),
            allow_private_urls: false,
        }
    }
}

/// Reading feeds (docs/feeds.md, "Limits").
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// The longest an enclosure's download may take.
    pub download_timeout: Duration,
    /// The longest a download may go without receiving a byte.
    pub download_stall: Duration,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings { download_timeout: Duration::from_secs(30 * 60), download_stall: Duration::from_secs(30) }
    }
}

/// The SQLite database's file name in the data folder.
pub const SQLITE_FILE: &str = "fount.db";

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data folder: the SQLite file, the master key file, sealed assets.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; `None` for the SQLite file in the data folder.
    pub database_url: Option<String>,
    /// The KEK, base64url; `None` to use (or create) the key file in the data folder.
    pub master_key: Option<String>,
    /// How long a request waits for a database connection before it is answered 503.
    pub database_timeout: Duration,
    /// The URL clients reach this server at: the `iss` of licenses, the base of status URLs.
    pub public_url: String,
    /// Request limits.
    pub limits: Limits,
    /// Lifetime of customer tokens when the store does not ask for one, seconds.
    pub token_ttl: i64,
    /// How often running servers reload signing keys (to pick up a rotation).
    pub key_reload: std::time::Duration,
    /// The queue's workers.
    pub queue: QueueSettings,
    /// Webhook delivery.
    pub webhooks: WebhookSettings,
    /// Reading feeds.
    pub feeds: FeedSettings,
    /// Days events are kept.
    pub event_retention_days: i64,
    /// The bearer token `/metrics` asks for; `None`: open.
    pub metrics_token: Option<String>,
    /// Whether a client's address is the last entry of `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// Where sealed assets, covers and transcripts are kept; `None`: `assets` in the data
    /// folder (see [`crate::assets`]).
    pub assets: Option<Location>,
    /// Where uploads wait for a worker; `None`: `uploads` in the data folder.
    pub uploads: Option<Location>,
    /// The URL of a CDN (or the bucket's own address) that serves the assets' files under
    /// their names; manifests then link tracks there. `None`: this server serves them.
    pub assets_public_url: Option<String>,
    /// Where the origin listens (`FOUNT_ORIGIN_LISTEN`, see [`crate::origin`]): sealed
    /// files of the asset folder sent with `sendfile`. `None`: no origin.
    pub origin_listen: Option<SocketAddr>,
}

impl Settings {
    /// Settings with defaults for everything but the address and folder.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Settings {
            listen,
            public_url: default_public_url(listen),
            data_dir,
            database_url: None,
            database_timeout: crate::db::DEFAULT_TIMEOUT,
            master_key: None,
            limits: Limits::default(),
            token_ttl: 3600,
            key_reload: std::time::Duration::from_secs(60),
            queue: QueueSettings::default(),
            webhooks: WebhookSettings::default(),
            feeds: FeedSettings::default(),
            event_retention_days: crate::events::DEFAULT_RETENTION_DAYS,
            trust_forwarded_for: false,
            metrics_token: None,
            assets: None,
            uploads: None,
            assets_public_url: None,
            origin_listen: None,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join(SQLITE_FILE).display()))
    }

    /// Where sealed assets, covers and transcripts are kept.
    pub fn assets_location(&self) -> Location {
        self.assets.clone().unwrap_or_else(|| Location::Folder(self.data_dir.join("assets")))
    }

    /// The folder the origin serves, when there is an origin (`FOUNT_ORIGIN_LISTEN`); an
    /// error when the assets are not in a folder, for the operator.
    pub fn origin_folder(&self) -> Result<Option<PathBuf>, String> {
        if self.origin_listen.is_none() {
            return Ok(None);
        }
        match self.assets_location() {
            Location::Folder(dir) => Ok(Some(dir)),
            Location::Bucket { .. } => Err("FOUNT_ORIGIN_LISTEN serves an asset folder; with the assets in a bucket, \
                 point FOUNT_ASSETS_PUBLIC_URL at the bucket or a CDN in front of it instead"
                .into()),
        }
    }

    /// Where uploads wait for a worker.
    pub fn uploads_location(&self) -> Location {
        self.uploads.clone().unwrap_or_else(|| Location::Folder(self.data_dir.join("uploads")))
    }

    /// A local folder for files on their way to or from a bucket.
    pub fn scratch_dir(&self) -> PathBuf {
        self.data_dir.join("scratch")
    }
}

/// `http://<listen>`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
pub fn default_public_url(listen: SocketAddr) -> String {
    let host = if listen.ip().is_unspecified() {
        match listen {
            SocketAddr::V4(_) => "127.0.0.1".to_owned(),
            SocketAddr::V6(_) => "[::1]".to_owned(),
        }
    } else {
        match listen {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("http://{host}:{}", listen.port())
}
