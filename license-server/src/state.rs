//! Application state shared by every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::assets::Assets;
use crate::config::Settings;
use crate::crypto::kek::Kek;
use crate::crypto::signing::{KeyError, Keys};
use crate::db::changes::{Change, Heard};
use crate::db::{DbError, Repository, Store, TitleRow};

/// Why the server could not start (or a command could not open its data).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Master key.
    #[error(transparent)]
    Kek(#[from] crate::crypto::kek::KekError),
    /// Signing keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Files.
    #[error("data folder: {0}")]
    Io(#[from] std::io::Error),
    /// Where assets or uploads are kept.
    #[error("assets: {0}")]
    Assets(#[from] crate::assets::AssetError),
    /// The outbound HTTP client (for webhooks).
    #[error("outbound HTTP: {0}")]
    Outbound(#[from] crate::outbound::ClientError),
    /// The data folder holds no Fount data, and this command may not create it.
    #[error(
        "{path} holds no Fount data ({missing}). Give --data (or FOUNT_DATA) the folder `fount-server serve` uses, \
         or create one with `fount-server init --data {path}`"
    )]
    NoData {
        /// The folder.
        path: String,
        /// What is not there.
        missing: &'static str,
    },
    /// The database has keys, but no master key was given to open them.
    #[error(
        "the database already holds keys sealed under a master key, but there is none here: set FOUNT_MASTER_KEY, \
         or put the master.key it was created with in {path}"
    )]
    NoMasterKey {
        /// The data folder searched.
        path: String,
    },
    /// The master key given does not open the database's keys.
    #[error(
        "the master key does not open this database's signing keys: it is not the key this database was created with"
    )]
    WrongMasterKey,
}

/// What opening the data may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// `serve`, `demo` and `init`: the data folder, the SQLite database and the master key,
    /// when they do not exist yet.
    Missing,
    /// Every other command: nothing. A folder without Fount's data is refused, naming the
    /// path, rather than quietly made anew (with a new master key and no stores).
    Nothing,
}

/// What handlers share: the repository, the keys, the settings.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub repo: Arc<dyn Repository>,
    /// The key-encryption key.
    pub kek: Arc<Kek>,
    /// License-signing keys.
    pub keys: Keys,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Requests to URLs tenants chose (webhooks), kept off private addresses.
    pub outbound: crate::outbound::Outbound,
    /// The same policy for long transfers (feeds' enclosures).
    pub downloads: crate::outbound::Outbound,
    /// The requests being served, which this process's queue workers give way to.
    pub load: Arc<crate::load::Load>,
    /// Console sign-ins per address, this process's share of the console's rate limit.
    pub sign_ins: Arc<crate::console::sign_in::AddressLimiter>,
    /// Sealed tracks, covers and transcripts.
    pub assets: Arc<Assets>,
    /// Uploads waiting for a worker.
    pub uploads: Arc<Assets>,
    /// Customer tokens already verified (see [`crate::auth::CustomerAuth::verify`]).
    pub tokens: Arc<crate::auth::VerifiedTokens>,
    stores: Arc<TtlCache<Store>>,
    titles: Arc<TtlCache<TitleRow>>,
    sealed: Arc<TtlCache<SealedFile>>,
    following: Arc<AtomicBool>,
}

/// What serving a published sealed file needs from its track's row. File names are never
/// reused, so this never changes while the track exists; a deleted track's entry goes with
/// its title's [`Change`].
#[derive(Debug)]
pub struct SealedFile {
    /// Bytes.
    pub length: u64,
    /// SHA-256, hex: the strong ETag.
    pub sha256: String,
}

/// How long a cached store or title may be used. Rows the issuing path reads on every
/// license (a store's device limit and offline window, a title's content key) change rarely
/// or never, so a short cache spares the database. A change is forgotten at once by the
/// process that made it and, on PostgreSQL, by every other process within a round trip
/// ([`crate::db::changes`]); this expiry is the backstop for a notification that never came.
/// Devices, entitlements and licenses are never cached: a revocation is effective at once.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A bounded cache whose entries expire after [`CACHE_TTL`].
///
/// Its generation counts evictions, so a row read from the database before a change was
/// heard is not cached after it ([`TtlCache::insert_unless_changed`]): otherwise a read that
/// began before a commit and ended after its notification would cache the old row for the
/// whole expiry.
struct TtlCache<V> {
    entries: quick_cache::sync::Cache<String, (Instant, Arc<V>)>,
    generation: AtomicU64,
}

impl<V> TtlCache<V> {
    fn new() -> Self {
        TtlCache { entries: quick_cache::sync::Cache::new(10_000), generation: AtomicU64::new(0) }
    }

    fn get(&self, key: &str) -> Option<Arc<V>> {
        self.entries.get(key).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, v)| v)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `value` if nothing was evicted since `generation` was read; returns it either way.
    fn insert_unless_changed(&self, generation: u64, key: &str, value: V) -> Arc<V> {
        let value = Arc::new(value);
        if self.generation() == generation {
            self.entries.insert(key.to_owned(), (Instant::now(), value.clone()));
        }
        value
    }

    fn remove(&self, key: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(key);
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

impl AppState {
    /// Opens the data folder and database, loads (or creates) the master key and signing keys.
    pub async fn open(settings: Settings) -> Result<Self, StartError> {
        Self::open_with(settings, Create::Missing).await
    }

    /// Opens the data, creating only what `create` allows. The database is reached before any
    /// master key is written, so a mistyped URL or an unreachable database leaves no key
    /// behind.
    pub async fn open_with(settings: Settings, create: Create) -> Result<Self, StartError> {
        let url = settings.database_url();
        let backend = crate::db::Backend::of(&url)?;
        let dir = &settings.data_dir;
        let no_data = |missing| StartError::NoData { path: dir.display().to_string(), missing };
        match create {
            Create::Missing => {
                std::fs::create_dir_all(dir)?;
            }
            Create::Nothing => {
                if !dir.is_dir() {
                    return Err(no_data("no such folder"));
                }
                if backend == crate::db::Backend::Sqlite && !dir.join(crate::config::SQLITE_FILE).is_file() {
                    return Err(no_data("no fount.db"));
                }
                if settings.master_key.is_none() && !dir.join(crate::crypto::kek::KEY_FILE).is_file() {
                    return Err(no_data("no master.key, and FOUNT_MASTER_KEY is not set"));
                }
            }
        }
        let assets = Arc::new(Assets::open(&settings.assets_location(), &settings.scratch_dir())?);
        let uploads = Arc::new(Assets::open(&settings.uploads_location(), &settings.scratch_dir())?);
        let load = Arc::new(crate::load::Load::default());
        let repo = crate::db::open(&url, settings.database_timeout, load.clone()).await?;
        let kek = match Kek::find(settings.master_key.as_deref(), dir)? {
            Some(kek) => kek,
            None if create == Create::Missing && repo.signing_keys().await?.is_empty() => Kek::create(dir)?,
            None => return Err(StartError::NoMasterKey { path: dir.display().to_string() }),
        };
        let kek = Arc::new(kek);
        let keys = match Keys::load_or_create(repo.as_ref(), &kek, now()).await {
            Err(KeyError::Kek(crate::crypto::kek::KekError::Open)) => return Err(StartError::WrongMasterKey),
            other => other?,
        };
        let outbound = crate::outbound::Outbound::new(settings.webhooks.allow_private_urls, settings.webhooks.timeout)?;
        let downloads = crate::outbound::Outbound::for_downloads(
            settings.webhooks.allow_private_urls,
            settings.feeds.download_timeout,
            settings.feeds.download_stall,
        )?;
        Ok(AppState {
            repo,
            kek,
            keys,
            outbound,
            downloads,
            load,
            sign_ins: Arc::default(),
            assets,
            uploads,
            tokens: Arc::new(crate::auth::VerifiedTokens::new(100_000)),
            settings: Arc::new(settings),
            stores: Arc::new(TtlCache::new()),
            titles: Arc::new(TtlCache::new()),
            sealed: Arc::new(TtlCache::new()),
            following: Arc::default(),
        })
    }

    /// A title's published tracks in reading order: what its manifest, its sealed files and the
    /// widget show (tracks still processing, or failed, are not there).
    pub async fn published_tracks(&self, title_id: &str) -> Result<Vec<crate::db::TrackRow>, DbError> {
        Ok(self.repo.tracks(title_id).await?.into_iter().filter(crate::db::TrackRow::is_published).collect())
    }

    /// The record of a change made by `actor` (see [`crate::events::Audit`]).
    pub fn audit(&self, actor: impl Into<String>) -> crate::events::Audit {
        crate::events::Audit::new(actor, &self.settings.public_url)
    }

    /// A store, from the cache when it was read in the last [`CACHE_TTL`] and has not changed
    /// since.
    pub async fn store_cached(&self, id: &str) -> Result<Option<Arc<Store>>, DbError> {
        if let Some(store) = self.stores.get(id) {
            return Ok(Some(store));
        }
        let generation = self.stores.generation();
        Ok(self.repo.store(id).await?.map(|s| self.stores.insert_unless_changed(generation, id, s)))
    }

    /// After a change to a cached row was committed: forgets it here at once, and tells every
    /// other process (PostgreSQL `NOTIFY`). A failed announcement is logged; the other
    /// processes then see the change when their copy expires.
    pub async fn changed(&self, change: Change) {
        self.apply(&change).await;
        if let Err(e) = self.repo.announce(&change).await {
            tracing::warn!(error = %e, change = %change.encode(), "announcing a change failed; other processes see it within the cache's expiry");
        }
    }

    /// Reloads the signing keys from the database (after a rotation, and periodically as the
    /// backstop); a failure keeps the current ones. A key gone from the set takes the tokens
    /// it signed with it, cached or not.
    pub async fn reload_keys(&self) {
        let kids = || -> Vec<String> { self.keys.current().jwks().keys.iter().map(|k| k.kid.clone()).collect() };
        let before = kids();
        if let Err(e) = self.keys.reload(self.repo.as_ref(), &self.kek).await {
            tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
        }
        if kids() != before {
            self.tokens.clear();
        }
    }

    async fn apply(&self, change: &Change) {
        match change {
            Change::Keys => self.reload_keys().await,
            Change::Store(id) => self.stores.remove(id),
            Change::Title(id) => {
                self.titles.remove(id);
                // Keyed by title and file: a title's change (a track deleted) drops them all,
                // which is rare enough to be cheap.
                self.sealed.clear();
            }
        }
    }

    /// A published sealed file of a title, from the cache when it was read in the last
    /// [`CACHE_TTL`]; `None` if the title has no published track with this file.
    pub async fn sealed_file(&self, title_id: &str, file: &str) -> Result<Option<Arc<SealedFile>>, DbError> {
        let key = format!("{title_id}/{file}");
        if let Some(found) = self.sealed.get(&key) {
            return Ok(Some(found));
        }
        let generation = self.sealed.generation();
        let track = self.published_tracks(title_id).await?.into_iter().find(|t| t.file == file);
        Ok(track.map(|t| {
            let length = u64::try_from(t.sealed_length).unwrap_or(0);
            self.sealed.insert_unless_changed(generation, &key, SealedFile { length, sha256: t.sha256 })
        }))
    }

    /// Forgets the rows other processes announce as changed, for as long as the process runs
    /// (PostgreSQL; nothing to follow on SQLite). Started once per process, by `serve` and by
    /// `worker`; later calls do nothing.
    pub fn follow_changes(&self) {
        if self.following.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            let mut feed = loop {
                match state.repo.change_feed().await {
                    Ok(Some(feed)) => break feed,
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for changes yet; retrying in a second");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            loop {
                match feed.next().await {
                    Heard::Change(change) => state.apply(&change).await,
                    Heard::Lost => {
                        state.stores.clear();
                        state.titles.clear();
                        state.sealed.clear();
                    }
                }
            }
        });
    }

    /// A title, from the cache when it was read in the last [`CACHE_TTL`]. For the issuing
    /// path, which needs only what never changes (store, key); store API reads go to the
    /// database.
    pub async fn title_cached(&self, id: &str) -> Result<Option<Arc<TitleRow>>, DbError> {
        if let Some(title) = self.titles.get(id) {
            return Ok(Some(title));
        }
        let generation = self.titles.generation();
        Ok(self.repo.title(id).await?.map(|t| self.titles.insert_unless_changed(generation, id, t)))
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
