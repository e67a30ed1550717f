//! The `fount-server` binary: the command line in [`fount_server::cli`], each command in
//! [`fount_server::commands`].

use std::process::ExitCode;

use clap::Parser as _;
use fount_server::cli::Cli;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FOUNT_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(fount_server::commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fount-server: {e}");
            ExitCode::FAILURE
        }
    }
}
