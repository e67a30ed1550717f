//! Typed configuration, from flags and `FOUNT_*` environment variables (see `cli`).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Limits on what clients may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body, bytes.
    pub json_bytes: usize,
    /// Largest audio upload, bytes.
    pub upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { json_bytes: 64 * 1024, upload_bytes: 1024 * 1024 * 1024 }
    }
}

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
    /// The URL clients reach this server at: the `iss` of licenses, the base of status URLs.
    pub public_url: String,
    /// Request limits.
    pub limits: Limits,
    /// Lifetime of customer tokens when the store does not ask for one, seconds.
    pub token_ttl: i64,
    /// How often running servers reload signing keys (to pick up a rotation).
    pub key_reload: std::time::Duration,
}

impl Settings {
    /// Settings with defaults for everything but the address and folder.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Settings {
            listen,
            public_url: default_public_url(listen),
            data_dir,
            database_url: None,
            master_key: None,
            limits: Limits::default(),
            token_ttl: 3600,
            key_reload: std::time::Duration::from_secs(60),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("fount.db").display()))
    }

    /// Where sealed assets are kept.
    pub fn asset_dir(&self) -> PathBuf {
        self.data_dir.join("assets")
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
