//! `event-engine`: run an application declared in a TOML file, and watch or feed a running bus.

mod builtins;
mod config;
mod keys;
mod launch;
mod publish;
mod run;
mod stats;
mod tap;
mod target;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// plugin has quit (Ctrl-C or SIGTERM stops it).
    #[command(after_help = "Examples:\n  \
        event-engine run app.toml\n  \
        event-engine run app.toml --ready-file ports.json   # for tap, pub and stats --ready")]
    Run {
        /// The application file.
        app: PathBuf,
        /// Write the bound endpoints to this JSON file once the engine listens.
        #[arg(long, value_name = "FILE")]
        ready_file: Option<PathBuf>,
        /// Print only errors and the plugins' own output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a CURVE key pair: PREFIX.key (the secret key, mode 0600) and PREFIX.pub (the public
    /// key); never overwrites. Needs the CURVE build (docs/security.md).
    #[command(
        after_help = "Example:\n  event-engine keygen keys/scorer   # keys/scorer.key, keys/scorer.pub"
    )]
    Keygen {
        /// Where to write: PREFIX.key and PREFIX.pub.
        prefix: PathBuf,
    },
    /// Check APP (a TOML file) as `run` would, without starting anything: every key, value and
    /// command; prints what it declares.
    #[command(after_help = "Example:\n  event-engine check app.toml && event-engine run app.toml")]
    Check {
        /// The application file.
        app: PathBuf,
    },
    /// Print live events from a running engine.
    #[command(after_help = "Examples:\n  \
        event-engine tap --ready ports.json --filter TypeA\n  \
        event-engine tap --endpoint tcp://127.0.0.1:SUBSCRIBE_PORT --count 10\n\n\
        --endpoint is the bus's subscribe endpoint (\"subscribe\" in the ready file).")]
    Tap {
        #[command(flatten)]
        target: target::Target,
        /// Only events that start with this prefix (text, or hex:0100); repeatable.
        #[arg(long, short)]
        filter: Vec<String>,
        /// Stop after this many events.
        #[arg(long, short)]
        count: Option<u64>,
        /// Fail if the events have not arrived within this many milliseconds.
        #[arg(long)]
        timeout_ms: Option<u64>,
    },
    /// Publish an event (PREFIX followed by PAYLOAD) onto a running engine.
    #[command(after_help = "Examples:\n  \
        event-engine pub --ready ports.json TypeA 'hello'\n  \
        event-engine pub --endpoint tcp://127.0.0.1:PUBLISH_PORT --hex hex:0100 ff00\n\n\
        --endpoint is the bus's publish endpoint (\"publish\" in the ready file).")]
    Pub {
        #[command(flatten)]
        target: target::Target,
        /// The event type's prefix: text, or hex:0100.
        prefix: String,
        /// The rest of the event.
        #[arg(default_value = "")]
        payload: String,
        /// PAYLOAD is hex.
        #[arg(long)]
        hex: bool,
        /// Publish it this many times.
        #[arg(long, default_value_t = 1)]
        repeat: u64,
        /// How long to wait for the engine, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// Show the counters of a running engine's plugins (external ones, and bridges with --ready).
    #[command(after_help = "Examples:\n  \
        event-engine stats --ready ports.json\n  \
        event-engine stats --endpoint tcp://127.0.0.1:PLUGIN_PORT --json\n\n\
        --endpoint is one external plugin's endpoint (under \"plugins\" in the ready file).")]
    Stats {
        #[command(flatten)]
        target: target::Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
        Command::Check { app } => run::check(&app),
        Command::Keygen { prefix } => keys::keygen(&prefix),
        Command::Tap {
            target,
            filter,
            count,
            timeout_ms,
        } => tap::tap(
            &target,
            &filter,
            count,
            timeout_ms.map(Duration::from_millis),
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Pub {
            target,
            prefix,
            payload,
            hex,
            repeat,
            timeout_ms,
        } => publish::publish(
            &target,
            &prefix,
            &payload,
            hex,
            repeat,
            Duration::from_millis(timeout_ms),
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Stats { target, json } => stats::stats(&target, json).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("event-engine: {e}");
            ExitCode::from(2)
        }
    }
}
