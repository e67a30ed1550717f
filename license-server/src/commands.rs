//! What each `fount-server` command does (their options are in [`crate::cli`]).
//!
//! Every command but `serve`, `demo` and `init` opens the data with
//! [`Create::Nothing`](crate::state::Create): it works on an existing installation or refuses,
//! naming the folder. The servers bind their address before they touch the data, so a port
//! in use fails at once and a second `demo` on a running one's port changes nothing.

use std::net::{SocketAddr, TcpListener};

use serde_json::json;

use crate::cli::{
    ApiKeyCommand, Command, ConsoleCommand, ConsoleUserCommand, KeysCommand, OperatorKeyCommand, Output, PackageArgs,
    QueueCommand, StoreCommand, TitleCommand, TrackCommand,
};
use crate::db::page::all;
use crate::db::{StorePatch, TitleDeletion, TitleFields};
use crate::state::{AppState, Create, now};
use crate::{api::validate, auth, crypto, demo, media, operations, server};

/// The actor of the changes the command line makes, in their events.
const CLI: &str = "cli";

/// A command's failure, as the message the operator reads.
pub type CommandResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a command.
pub async fn run(command: Command) -> CommandResult {
    match command {
        Command::Serve(args) => {
            let settings = args.settings();
            settings.origin_folder()?;
            let listener = bind(settings.listen)?;
            let state = AppState::open_with(settings, Create::Missing).await?;
            ensure_writable(&state).await?;
            tracing::info!(url = %state.settings.public_url, database = state.repo.backend(), "fount-server listening");
            let workers = start_workers(&state, crate::queue::Priority::Background)?;
            let served = server::serve_on(state, listener)?.await;
            stop_workers(workers).await;
            served?;
        }
        Command::Worker(args) => {
            let state = AppState::open_with(args.settings(), Create::Nothing).await?;
            if state.settings.queue.workers == 0 {
                return Err("--workers 0: a worker process needs at least one".into());
            }
            tracing::info!(
                database = state.repo.backend(),
                workers = state.settings.queue.workers,
                "fount-server worker running"
            );
            let metrics = match args.metrics_listen {
                Some(addr) => Some(metrics_listener(&state, addr)?),
                None => None,
            };
            let workers = start_workers(&state, crate::queue::Priority::Normal)?;
            shutdown_signal().await;
            if let Some(m) = metrics {
                m.stop(true).await;
            }
            tracing::info!("stopping: running jobs get the grace period, then are handed back");
            stop_workers(workers).await;
        }
        Command::Queue(c) => queue(c).await?,
        Command::OperatorKey(c) => operator_key(c).await?,
        Command::Console(ConsoleCommand::User(c)) => console_user(c).await?,
        Command::Demo(args) => {
            let settings = args.settings();
            settings.origin_folder()?;
            let listener = bind(settings.listen)?;
            let state = AppState::open_with(settings, Create::Missing).await?;
            ensure_writable(&state).await?;
            let facts = demo::prepare(&state, &args.allow_origins).await.map_err(|e| e.to_string())?;
            println!("Fount demo is running at {}/", facts.base_url);
            println!("  widget     {} (open it in a browser)", facts.widget_url);
            println!("  embeddable from {}", facts.allowed_origins.join(", "));
            println!("  store      {}", facts.store_id);
            println!("  title      {} ({})", facts.title_id, facts.manifest_url);
            println!("  customer   {}", facts.customer_id);
            println!("  api key    in {}", state.settings.data_dir.join("demo.json").display());
            let workers = start_workers(&state, crate::queue::Priority::Background)?;
            let served = server::serve_on(state, listener)?.await;
            stop_workers(workers).await;
            served?;
        }
        Command::Init(data) => {
            let state = AppState::open_with(data.settings(), Create::Missing).await?;
            ensure_writable(&state).await?;
            println!("Fount data ready in {} ({})", state.settings.data_dir.display(), state.repo.backend());
        }
        Command::Store(c) => store(c).await?,
        Command::Apikey(c) => api_key(c).await?,
        Command::Title(c) => title(c).await?,
        Command::Track(c) => track(c).await?,
        Command::Package(args) => package(args).await?,
        Command::Keys(KeysCommand::Rotate { data }) => {
            let state = AppState::open_with(data.settings(), Create::Nothing).await?;
            let kid = crypto::signing::create(state.repo.as_ref(), &state.kek, now()).await?;
            state.changed(crate::db::changes::Change::Keys).await;
            println!(
                "new signing key {kid}; running servers use it at once on PostgreSQL, within {} s on SQLite",
                state.settings.key_reload.as_secs()
            );
        }
    }
    Ok(())
}

/// A worker's `/metrics` listener, running until stopped.
fn metrics_listener(state: &AppState, addr: SocketAddr) -> Result<actix_web::dev::ServerHandle, String> {
    let listener = bind(addr)?;
    let state = state.clone();
    let server = actix_web::HttpServer::new(move || {
        let state = state.clone();
        actix_web::App::new().configure(move |cfg| crate::api::metrics::configure_worker(cfg, state))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| format!("metrics listener on {addr}: {e}"))?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    tracing::info!(%addr, "metrics at /metrics");
    Ok(handle)
}

/// Starts this process's queue workers, unless `--workers 0`.
fn start_workers(state: &AppState, priority: crate::queue::Priority) -> std::io::Result<Option<crate::queue::Workers>> {
    if state.settings.queue.workers == 0 {
        return Ok(None);
    }
    state.follow_changes();
    crate::queue::Workers::start(state.clone(), priority).map(Some)
}

async fn stop_workers(workers: Option<crate::queue::Workers>) {
    if let Some(w) = workers {
        w.stop().await;
    }
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Binds the server's address, or says why not.
fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (another program is using it: is a fount-server already running there? choose another with --listen)"
        } else {
            ""
        };
        format!("cannot listen on {addr}: {e}{hint}")
    })
}

/// Refuses to serve a database that does not take writes: every purchase and license would
/// fail.
async fn ensure_writable(state: &AppState) -> Result<(), String> {
    state.repo.check_writes(now()).await.map_err(|e| {
        let why = match e.failure() {
            crate::db::Failure::Unavailable(why) => why.to_owned(),
            _ => e.to_string(),
        };
        format!("the database does not take writes: {why} ({e})")
    })
}

fn print(output: Output, headers: &[&str], rows: Vec<(serde_json::Value, Vec<String>)>) {
    if output.json {
        let values: Vec<_> = rows.into_iter().map(|(v, _)| v).collect();
        println!("{}", serde_json::Value::Array(values));
        return;
    }
    let cells: Vec<Vec<String>> = rows.into_iter().map(|(_, r)| r).collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| cells.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).fold(h.len(), usize::max))
        .collect();
    let line = |row: &[String]| {
        let padded: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for row in &cells {
        line(row);
    }
}

fn when(unix: i64) -> String {
    crate::media::publication::rfc3339(unix)
}

async fn open(data: &crate::cli::DataArgs) -> Result<AppState, crate::state::StartError> {
    AppState::open_with(data.settings(), Create::Nothing).await
}

async fn store(command: StoreCommand) -> CommandResult {
    match command {
        StoreCommand::Create { name, device_limit, demo, data } => {
            let state = open(&data).await?;
            let name = validate::text("name", &name, 200).map_err(|e| e.to_string())?;
            let mut store =
                state.repo.create_store(&uuid::Uuid::new_v4().to_string(), &name, device_limit, now()).await?;
            if demo {
                let patch = StorePatch { demo: Some(true), ..Default::default() };
                store = state
                    .repo
                    .update_store(&store.id, &patch, &state.audit(CLI), now())
                    .await?
                    .ok_or("the new store vanished")?;
            }
            println!("{}", serde_json::to_string_pretty(&store)?);
        }
        StoreCommand::List { output, data } => {
            let state = open(&data).await?;
            let stores = all(|p| {
                let state = &state;
                async move { state.repo.stores(&p).await }
            })
            .await?;
            let rows = stores
                .into_iter()
                .map(|s| {
                    let value = serde_json::to_value(&s).unwrap_or_default();
                    let demo = if s.demo { "demo" } else { "" };
                    (value, vec![s.id, s.name, s.device_limit.to_string(), demo.to_owned(), when(s.created_at)])
                })
                .collect();
            print(output, &["ID", "NAME", "DEVICES", "", "CREATED"], rows);
        }
    }
    Ok(())
}

async fn api_key(command: ApiKeyCommand) -> CommandResult {
    match command {
        ApiKeyCommand::Create { store, label, data } => {
            let state = open(&data).await?;
            if state.repo.store(&store).await?.is_none() {
                return Err(format!("no store {store}").into());
            }
            let key = auth::generate_api_key().map_err(|e| e.to_string())?;
            state.repo.insert_api_key(&key.id, &store, &key.secret_hash, &label, &state.audit(CLI), now()).await?;
            eprintln!("This key is shown once. Keep it secret.");
            println!("{}", key.key);
        }
        ApiKeyCommand::List { store, output, data } => {
            let state = open(&data).await?;
            if state.repo.store(&store).await?.is_none() {
                return Err(format!("no store {store}").into());
            }
            let keys = all(|p| {
                let (state, store) = (&state, &store);
                async move { state.repo.api_keys(store, &p).await }
            })
            .await?;
            let rows = keys
                .into_iter()
                .map(|k| {
                    let value =
                        json!({"id": k.id, "label": k.label, "created_at": k.created_at, "revoked_at": k.revoked_at});
                    let status = k.revoked_at.map_or_else(|| "active".to_owned(), |t| format!("revoked {}", when(t)));
                    (value, vec![k.id, k.label, when(k.created_at), status])
                })
                .collect();
            print(output, &["ID", "LABEL", "CREATED", "STATUS"], rows);
        }
        ApiKeyCommand::Revoke { id, data } => {
            let state = open(&data).await?;
            let id = auth::api_key_id(&id).ok_or("give the key's id: the 16 hex digits after fsk_")?;
            match state.repo.revoke_api_key(&id, &state.audit(CLI), now()).await? {
                Some(key) => println!("revoked API key {} of store {}", key.id, key.store_id),
                None => match state.repo.api_key(&id).await? {
                    Some(_) => println!("API key {id} was already revoked"),
                    None => return Err(format!("no API key {id}").into()),
                },
            }
        }
    }
    Ok(())
}

async fn title(command: TitleCommand) -> CommandResult {
    match command {
        TitleCommand::List { store, output, data } => {
            let state = open(&data).await?;
            if state.repo.store(&store).await?.is_none() {
                return Err(format!("no store {store}").into());
            }
            let titles = all(|p| {
                let (state, store) = (&state, &store);
                async move { state.repo.titles(store, &p).await }
            })
            .await?;
            let mut rows = Vec::new();
            for t in titles {
                let tracks = state.repo.tracks(&t.id).await?;
                let duration: f64 = tracks.iter().map(|t| t.duration).sum();
                let price = t
                    .price
                    .as_ref()
                    .map(|p| format!("{p} {}", t.currency.as_deref().unwrap_or("")))
                    .unwrap_or_default();
                let value = json!({"id": t.id, "title": t.name, "author": t.author, "tracks": tracks.len(), "duration": duration, "price": t.price, "currency": t.currency, "created_at": t.created_at});
                rows.push((value, vec![t.id, t.name, tracks.len().to_string(), format!("{duration:.0} s"), price]));
            }
            print(output, &["ID", "TITLE", "TRACKS", "DURATION", "PRICE"], rows);
        }
        TitleCommand::Delete { title, data } => {
            let state = open(&data).await?;
            match state.repo.delete_title(&title, &state.audit(CLI), now()).await? {
                TitleDeletion::Missing => return Err(format!("no title {title}").into()),
                TitleDeletion::Held { entitlements } => {
                    return Err(format!(
                        "title {title} is held by {entitlements} entitlement(s): deleting it would break their licenses"
                    )
                    .into());
                }
                TitleDeletion::Deleted { files } => {
                    for file in &files {
                        remove_asset(&state, file).await;
                    }
                    state.changed(crate::db::changes::Change::Title(title.clone())).await;
                    println!("deleted title {title} and {} sealed file(s)", files.len());
                }
            }
        }
    }
    Ok(())
}

async fn remove_asset(state: &AppState, file: &str) {
    if let Err(e) = state.assets.remove(file).await {
        eprintln!("could not remove {file}: {e}");
    }
}

async fn track(command: TrackCommand) -> CommandResult {
    match command {
        TrackCommand::List { title, output, data } => {
            let state = open(&data).await?;
            if state.repo.title(&title).await?.is_none() {
                return Err(format!("no title {title}").into());
            }
            let rows = state
                .repo
                .tracks(&title)
                .await?
                .into_iter()
                .map(|t| {
                    let chapters: Vec<serde_json::Value> = serde_json::from_str(&t.chapters).unwrap_or_default();
                    let value = json!({"position": t.position, "name": t.name, "media_type": t.media_type, "duration": t.duration, "chapters": chapters.len(), "file": t.file, "sealed_length": t.sealed_length});
                    (value, vec![t.position.to_string(), t.name, t.media_type, format!("{:.1} s", t.duration), chapters.len().to_string(), t.file])
                })
                .collect();
            print(output, &["POSITION", "NAME", "TYPE", "DURATION", "CHAPTERS", "FILE"], rows);
        }
        TrackCommand::Delete { title, position, data } => {
            let state = open(&data).await?;
            let removed = state
                .repo
                .delete_track(&title, position, &state.audit(CLI), now())
                .await?
                .ok_or_else(|| format!("title {title} has no track at position {position}"))?;
            remove_asset(&state, &removed.file).await;
            state.changed(crate::db::changes::Change::Title(title.clone())).await;
            println!("removed track {position} ({}) of title {title}", removed.name);
        }
    }
    Ok(())
}

async fn package(args: PackageArgs) -> CommandResult {
    let state = open(&args.data).await?;
    if state.repo.store(&args.store).await?.is_none() {
        return Err(format!("no store {}", args.store).into());
    }
    let title = match (&args.title, &args.new_title) {
        (Some(id), _) => match state.repo.title(id).await? {
            Some(t) if t.store_id == args.store => t,
            _ => return Err(format!("no title {id} in store {}", args.store).into()),
        },
        (None, Some(name)) => {
            let checked = |r: Result<Option<String>, crate::error::ApiError>| r.map_err(|e| e.to_string());
            let fields = TitleFields {
                store_id: args.store.clone(),
                name: validate::text("new-title", name, 500).map_err(|e| e.to_string())?,
                author: checked(validate::opt_text("author", args.author.as_deref(), 500))?,
                language: checked(validate::language(args.language.as_deref()))?,
                price: checked(validate::price(args.price.as_deref()))?,
                currency: checked(validate::currency(args.currency.as_deref()))?,
                cover_url: checked(validate::url("cover", args.cover.as_deref()))?,
                ..Default::default()
            };
            operations::create_title_with(&state, fields, &state.audit(CLI)).await.map_err(|e| e.to_string())?
        }
        (None, None) => return Err("give --title ID or --new-title NAME".into()),
    };
    for file in &args.files {
        let tmp = state.settings.data_dir.join(format!("package-{}", uuid::Uuid::new_v4()));
        std::fs::copy(file, &tmp).map_err(|e| format!("{}: {e}", file.display()))?;
        let hint = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let result = media::package::add_track(&state, &title, tmp.clone(), None, hint, &state.audit(CLI)).await;
        let _ = std::fs::remove_file(&tmp);
        let packaged = result.map_err(|e| format!("{}: {}", file.display(), e.for_operator()))?;
        let track = packaged.track;
        eprintln!(
            "sealed {} as track {} ({:.1} s, {} chapters)",
            file.display(),
            track.position,
            track.duration,
            serde_json::from_str::<Vec<serde_json::Value>>(&track.chapters).map_or(0, |c| c.len())
        );
        for warning in packaged.warnings {
            eprintln!("  warning: {warning}");
        }
    }
    println!("{}", title.id);
    Ok(())
}

async fn queue(command: QueueCommand) -> CommandResult {
    use crate::queue::{JobKind, now_ms, probe_payload};
    match command {
        QueueCommand::Status { output, data } => {
            let state = open(&data).await?;
            let stats = state.repo.queue_stats(now_ms()).await?;
            if output.json {
                println!("{}", serde_json::to_string(&stats)?);
                return Ok(());
            }
            println!(
                "queued {}  scheduled {}  running {}  retrying {}  dead {}  completed in the last hour {}  oldest due {:.1} s",
                stats.queued,
                stats.scheduled,
                stats.running,
                stats.retrying,
                stats.dead,
                stats.completed_last_hour,
                stats.oldest_due_seconds
            );
            let rows = stats
                .kinds
                .iter()
                .map(|k| {
                    (
                        json!(k),
                        vec![
                            k.kind.clone(),
                            k.queued.to_string(),
                            k.scheduled.to_string(),
                            k.running.to_string(),
                            k.dead.to_string(),
                        ],
                    )
                })
                .collect();
            print(output, &["KIND", "QUEUED", "SCHEDULED", "RUNNING", "DEAD"], rows);
        }
        QueueCommand::Probe { count, prefix, work_ms, fail_times, retry_ms, data } => {
            let state = open(&data).await?;
            let prefix =
                prefix.unwrap_or_else(|| format!("probe-{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]));
            let t = now_ms();
            let mut queued = 0u64;
            let mut n = 0u64;
            while n < count {
                let batch: Vec<_> = (n..count.min(n.saturating_add(1000)))
                    .map(|i| {
                        JobKind::QueueProbe.job(
                            probe_payload(&format!("{prefix}{i}"), work_ms, fail_times, retry_ms),
                            None,
                            t,
                        )
                    })
                    .collect();
                n = n.saturating_add(batch.len() as u64);
                queued = queued.saturating_add(state.repo.enqueue_batch(&batch, t).await?);
            }
            eprintln!("queued {queued} probe job(s)");
            println!("{prefix}");
        }
        QueueCommand::Probes { prefix, data } => {
            let state = open(&data).await?;
            let counts = state.repo.probe_counts(&prefix).await?;
            println!("{}", serde_json::to_string(&counts)?);
        }
        QueueCommand::Retry { job, data } => {
            let state = open(&data).await?;
            match state.repo.retry_dead(&job, now_ms()).await? {
                Some(row) => println!("job {} queued again ({})", row.id, row.kind),
                None => return Err(format!("no dead job {job}").into()),
            }
        }
    }
    Ok(())
}

async fn operator_key(command: OperatorKeyCommand) -> CommandResult {
    match command {
        OperatorKeyCommand::Create { label, data } => {
            let state = open(&data).await?;
            // No label is a key without one; a label given must be one.
            let label = Some(label.as_str()).filter(|l| !l.is_empty());
            let label = validate::opt_text("label", label, 100).map_err(|e| e.to_string())?.unwrap_or_default();
            let key = auth::generate_operator_key().map_err(|e| e.to_string())?;
            state.repo.insert_operator_key(&key.id, &key.secret_hash, &label, now()).await?;
            eprintln!("This key is shown once. Keep it secret.");
            println!("{}", key.key);
        }
        OperatorKeyCommand::List { output, data } => {
            let state = open(&data).await?;
            let rows = state
                .repo
                .operator_keys()
                .await?
                .into_iter()
                .map(|k| {
                    let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    let value =
                        json!({"id": k.id, "label": k.label, "created_at": k.created_at, "revoked_at": k.revoked_at});
                    (value, vec![k.id, k.label, when(k.created_at), status.to_owned()])
                })
                .collect();
            print(output, &["ID", "LABEL", "CREATED", "STATUS"], rows);
        }
        OperatorKeyCommand::Revoke { id, data } => {
            let state = open(&data).await?;
            let id = auth::operator_key_id(&id).ok_or("not an operator key or key id (fok_<16 hex digits>_…)")?;
            match state.repo.revoke_operator_key(&id, now()).await? {
                Some(_) => println!("revoked operator key {id}"),
                None => return Err(format!("no active operator key {id}").into()),
            }
        }
    }
    Ok(())
}

/// The password for `console user add` and `passwd`: from standard input, or a new random
/// one (then printed once).
fn console_password(from_stdin: bool) -> Result<(String, bool), Box<dyn std::error::Error>> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false));
    }
    let mut bytes = [0u8; 15];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| "no randomness")?;
    Ok((fount_sdk::encoding::b64(bytes), true))
}

async fn console_user(command: ConsoleUserCommand) -> CommandResult {
    use crate::console::password;
    match command {
        ConsoleUserCommand::Add { email, role, store, password_stdin, data } => {
            let state = open(&data).await?;
            let email = email.trim().to_lowercase();
            if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
                return Err(format!("{email:?} is not an email address").into());
            }
            let store = if role == "staff" {
                let id = store.ok_or("--store: a staff member works for one store")?;
                state.repo.store(&id).await?.ok_or_else(|| format!("no store {id}"))?;
                Some(id)
            } else if store.is_some() {
                return Err("--store is for staff: an operator sees every store".into());
            } else {
                None
            };
            let (pw, made) = console_password(password_stdin)?;
            let row = crate::db::ConsoleUserRow {
                id: format!("usr_{}", uuid::Uuid::new_v4().simple()),
                email: email.clone(),
                password_hash: password::hash(&pw)?,
                role,
                store_id: store,
                failed_sign_ins: 0,
                locked_until: None,
                created_at: now(),
                disabled_at: None,
            };
            match state.repo.create_console_user(&row).await {
                Err(e) if e.is_unique_violation() => return Err(format!("{email} already has an account").into()),
                other => other?,
            }
            eprintln!("{email} can sign in at {}/console", state.settings.public_url);
            if made {
                eprintln!("Their password, shown once:");
                println!("{pw}");
            }
        }
        ConsoleUserCommand::List { output, data } => {
            let state = open(&data).await?;
            let rows = state
                .repo
                .console_users()
                .await?
                .into_iter()
                .map(|u| {
                    let status = if u.disabled_at.is_some() { "disabled" } else { "active" };
                    let store = u.store_id.clone().unwrap_or_default();
                    let value = json!({"email": u.email, "role": u.role, "store": u.store_id, "created_at": u.created_at, "status": status});
                    (value, vec![u.email, u.role, store, when(u.created_at), status.to_owned()])
                })
                .collect();
            print(output, &["EMAIL", "ROLE", "STORE", "CREATED", "STATUS"], rows);
        }
        ConsoleUserCommand::Passwd { email, password_stdin, data } => {
            let state = open(&data).await?;
            let email = email.trim().to_lowercase();
            let (pw, made) = console_password(password_stdin)?;
            if !state.repo.set_console_password(&email, &password::hash(&pw)?).await? {
                return Err(format!("no account {email}").into());
            }
            if made {
                eprintln!("{email}'s new password, shown once:");
                println!("{pw}");
            }
        }
        ConsoleUserCommand::Disable { email, data } => {
            let state = open(&data).await?;
            let email = email.trim().to_lowercase();
            if !state.repo.disable_console_user(&email, now()).await? {
                return Err(format!("no account {email}").into());
            }
            println!("{email} is disabled; their sessions have ended");
        }
    }
    Ok(())
}
