//! privateca-issuer binary: parses the command line and runs it with the system clock.

use std::process::ExitCode;

use clap::Parser;
use privateca_issuer::cli::{self, Cli};
use privateca_issuer::pki::SystemClock;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result =
        cli::execute(cli.command, &SystemClock).and_then(|output| cli::write_stdout(&output));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}
