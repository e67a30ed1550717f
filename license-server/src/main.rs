//! The `fount-server` binary.

use std::process::ExitCode;

use clap::Parser as _;
use fount_server::cli::{ApiKeyCommand, Cli, Command, KeysCommand, PackageArgs, StoreCommand};
use fount_server::db::StorePatch;
use fount_server::state::{AppState, now};
use fount_server::{auth, crypto, demo, media, operations, server};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FOUNT_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = actix_web::rt::System::new().block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fount-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(args) => {
            let state = AppState::open(args.settings()).await?;
            tracing::info!(url = %state.settings.public_url, database = state.repo.backend(), "fount-server listening");
            server::serve(state).await?;
        }
        Command::Demo(mut args) => {
            if args.serve.data.data.as_os_str() == "fount-data" {
                args.serve.data.data = "fount-demo".into();
            }
            let state = AppState::open(args.serve.settings()).await?;
            let facts = demo::prepare(&state, &args.allow_origins).await.map_err(|e| e.to_string())?;
            println!("Fount demo is running at {}/", facts.base_url);
            println!("  widget     {} (open it in a browser)", facts.widget_url);
            println!("  embeddable from {}", facts.allowed_origins.join(", "));
            println!("  store      {}", facts.store_id);
            println!("  title      {} ({})", facts.title_id, facts.manifest_url);
            println!("  customer   {}", facts.customer_id);
            println!("  api key    in {}", state.settings.data_dir.join("demo.json").display());
            server::serve(state).await?;
        }
        Command::Store(StoreCommand::Create { name, device_limit, demo, data }) => {
            if device_limit < 1 {
                return Err("--device-limit must be at least 1".into());
            }
            let state = AppState::open(data.settings()).await?;
            let mut store =
                state.repo.create_store(&uuid::Uuid::new_v4().to_string(), &name, device_limit, now()).await?;
            if demo {
                let patch = StorePatch { demo: Some(true), ..Default::default() };
                store = state.repo.update_store(&store.id, &patch).await?.ok_or("the new store vanished")?;
            }
            println!("{}", serde_json::to_string_pretty(&store)?);
        }
        Command::Apikey(ApiKeyCommand::Create { store, label, data }) => {
            let state = AppState::open(data.settings()).await?;
            if state.repo.store(&store).await?.is_none() {
                return Err(format!("no store {store}").into());
            }
            let key = auth::generate_api_key().map_err(|e| e.to_string())?;
            state.repo.insert_api_key(&key.id, &store, &key.secret_hash, &label, now()).await?;
            eprintln!("This key is shown once. Keep it secret.");
            println!("{}", key.key);
        }
        Command::Package(args) => package(args).await?,
        Command::Keys(KeysCommand::Rotate { data }) => {
            let state = AppState::open(data.settings()).await?;
            let kid = crypto::signing::create(state.repo.as_ref(), &state.kek, now()).await?;
            println!("new signing key {kid}; running servers use it within a minute");
        }
    }
    Ok(())
}

async fn package(args: PackageArgs) -> Result<(), Box<dyn std::error::Error>> {
    let state = AppState::open(args.data.settings()).await?;
    if state.repo.store(&args.store).await?.is_none() {
        return Err(format!("no store {}", args.store).into());
    }
    let title = match (&args.title, &args.new_title) {
        (Some(id), _) => match state.repo.title(id).await? {
            Some(t) if t.store_id == args.store => t,
            _ => return Err(format!("no title {id} in store {}", args.store).into()),
        },
        (None, Some(name)) => operations::create_title(&state, &args.store, name, args.author.as_deref(), None)
            .await
            .map_err(|e| e.to_string())?,
        (None, None) => return Err("give --title ID or --new-title NAME".into()),
    };
    for file in &args.files {
        let tmp = state.settings.data_dir.join(format!("package-{}", uuid::Uuid::new_v4()));
        std::fs::copy(file, &tmp).map_err(|e| format!("{}: {e}", file.display()))?;
        let hint = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let result = media::package::add_track(&state, &title, tmp.clone(), None, hint).await;
        let _ = std::fs::remove_file(&tmp);
        let track = result.map_err(|e| format!("{}: {e}", file.display()))?;
        eprintln!("sealed {} as track {} ({:.1} s)", file.display(), track.position, track.duration);
    }
    println!("{}", title.id);
    Ok(())
}
