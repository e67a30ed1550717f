//! The `fount-server` binary: the command line in [`fount_server::cli`], each command in
//! [`fount_server::commands`].

use std::process::ExitCode;

use clap::Parser as _;
use fount_server::cli::Cli;

// jemalloc rather than glibc's malloc, for Rust's allocations and (as `malloc` itself)
// SQLite's: under sustained load glibc's per-thread arenas kept what requests had freed, and
// the server's resident memory rose 12% in five minutes while the memory in use stayed level
// (docs/benchmarks.md, "The soak"). jemalloc returns freed pages to the system after a delay.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
