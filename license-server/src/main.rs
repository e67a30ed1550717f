//! The `fount-server` binary: the command line in [`fount_server::cli`], each command in
//! [`fount_server::commands`].

use std::process::ExitCode;

use clap::Parser as _;
use fount_server::cli::Cli;

fn main() -> ExitCode {
    fount_server::observe::logs::init();
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(fount_server::commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fount-server: {e}");
            ExitCode::FAILURE
        }
    }
}
