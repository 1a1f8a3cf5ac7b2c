//! `event-engine`: run an application declared in a TOML file, and watch or feed a running bus.

mod config;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "event-engine",
    version,
    about = "Run and inspect event-engine applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the engine declared in APP (a TOML file), launch its plugins, and run until every
    /// plugin has quit (or Ctrl-C).
    Run {
        /// The application file.
        app: PathBuf,
        /// Write the bound endpoints to this JSON file once the engine listens.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Print only errors.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp_millis()
        .init();
    let result = match cli.command {
        Command::Run {
            app,
            ready_file,
            quiet,
        } => run::run(&app, ready_file.as_deref(), quiet),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("event-engine: {e}");
            ExitCode::from(2)
        }
    }
}
