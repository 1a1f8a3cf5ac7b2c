//! `event-engine run`: start the engine of an `app.toml`, launch its plugins' processes, restart
//! the ones that fail (per their policy), and shut everything down cleanly at the end or on
//! Ctrl-C / SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_engine::plugins::{ExternalPluginSpec, Plugin};
use event_engine::{App, Outcome, RunReport, RunningApp};
use event_engine_client::{Client, ClientOptions, LaunchEnv, Token};

use crate::builtins::{self, Tally};
use crate::config::{self, Restart};
use crate::launch;

type Error = Box<dyn std::error::Error>;

/// The bound endpoints, as written to `--ready-file`.
#[derive(serde::Serialize)]
struct Ready<'a> {
    pid: u32,
    publish: &'a str,
    publish_port: u16,
    subscribe: &'a str,
    subscribe_port: u16,
    plugins: std::collections::BTreeMap<&'a str, ReadyPlugin<'a>>,
    /// Where `event-engine stats` reads the internal plugins' counters (the bridges').
    stats: &'a str,
}

#[derive(serde::Serialize)]
struct ReadyPlugin<'a> {
    port: u16,
    endpoint: &'a str,
    /// For `event-engine stats --ready` (the file is made readable by its owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

fn write_ready(
    path: &Path,
    app: &RunningApp,
    tokens: &[Option<String>],
    stats: &str,
) -> Result<(), Error> {
    let ready = Ready {
        pid: std::process::id(),
        publish: app.publish_endpoint(),
        publish_port: app.publish_port(),
        subscribe: app.subscribe_endpoint(),
        subscribe_port: app.subscribe_port(),
        plugins: app
            .external_plugins()
            .iter()
            .zip(tokens)
            .map(|(e, token)| {
                (
                    e.name.as_str(),
                    ReadyPlugin {
                        port: e.port,
                        endpoint: &e.endpoint,
                        token: token.as_deref(),
                    },
                )
            })
            .collect(),
        stats,
    };
    // Written whole (readable by its owner only: it holds the tokens), then renamed, so a reader
    // never sees half a file.
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&ready)?)?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

enum Msg {
    Exited(launch::Exited),
    Restart {
        index: usize,
        generation: u32,
    },
    /// SIGINT, SIGTERM or SIGHUP (its number).
    Signal(i32),
    /// The grace period after the engine finished is over.
    Linger,
    GraceOver,
    Engine(Result<RunReport, event_engine::errors::EngineError>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Proc {
    /// Not launched by us.
    External,
    Running {
        pid: u32,
    },
    WaitingToRestart,
    Exited(String),
    Failed(String),
}

struct Launched {
    name: String,
    endpoint: String,
    /// The token its port admits (to quit on its behalf).
    token: Option<String>,
    /// The CURVE keys it was given instead (the same purpose).
    curve: Option<event_engine_client::Curve>,
    launch: Option<config::Launch>,
    env: Vec<(String, String)>,
    generation: u32,
    restarts: u32,
    state: Proc,
}

impl Launched {
    fn is_alive(&self) -> bool {
        matches!(self.state, Proc::Running { .. } | Proc::WaitingToRestart)
    }
}

/// Tells the engine a plugin is done on behalf of a process that can no longer say so.
fn quit_on_behalf(endpoint: &str, token: Option<&str>, curve: Option<&event_engine_client::Curve>) {
    let options = ClientOptions {
        reply_timeout: Duration::from_millis(500),
        retries: 0,
        token: token.and_then(|t| Token::new(t).ok()),
        curve: curve.cloned(),
        ..ClientOptions::default()
    };
    if let Ok(mut c) = Client::connect_with(endpoint, options) {
        let _ = c.quit();
    }
}

struct Runner {
    procs: Vec<Launched>,
    tx: mpsc::Sender<Msg>,
    exited_tx: mpsc::Sender<launch::Exited>,
    shutting_down: bool,
    signalled: bool,
    /// The first stopping signal received.
    signal: Option<i32>,
    failed_processes: bool,
    stop_on_failure: bool,
    stop: event_engine::StopHandle,
    quiet: bool,
}

impl Runner {
    fn say(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("event-engine: {text}");
        }
    }

    fn start_process(&mut self, index: usize) {
        let p = &mut self.procs[index];
        let Some(l) = p.launch.clone() else { return };
        p.generation += 1;
        match launch::spawn(
            index,
            p.generation,
            &p.name,
            &l,
            &p.env,
            self.exited_tx.clone(),
        ) {
            Ok(pid) => p.state = Proc::Running { pid },
            Err(e) => {
                p.state = Proc::Failed(e.to_string());
                let name = p.name.clone();
                self.say(format!("{name}: {e}"));
                self.process_failed(index);
            }
        }
    }

    fn process_exited(&mut self, e: launch::Exited) {
        let Some(p) = self.procs.get_mut(e.index) else {
            return;
        };
        if e.generation != p.generation {
            return;
        }
        let how = match &e.status {
            Ok(s) => launch::describe(s),
            Err(err) => format!("unknown ({err})"),
        };
        let success = matches!(&e.status, Ok(s) if s.success());
        if success || self.shutting_down {
            p.state = Proc::Exited(how);
            // A process that ended without `quit` would leave its plugin waiting.
            quit_on_behalf(&p.endpoint, p.token.as_deref(), p.curve.as_ref());
            return;
        }
        let l = p.launch.clone();
        let (name, restarts) = (p.name.clone(), p.restarts);
        match l {
            Some(l) if l.restart == Restart::OnFailure && restarts < l.max_restarts => {
                p.restarts += 1;
                p.state = Proc::WaitingToRestart;
                let generation = p.generation;
                let index = e.index;
                let backoff = l.backoff * 2u32.saturating_pow(restarts).min(16);
                self.say(format!(
                    "{name} {how}; restarting in {backoff:?} ({} of {})",
                    restarts + 1,
                    l.max_restarts
                ));
                let tx = self.tx.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(backoff);
                    let _ = tx.send(Msg::Restart { index, generation });
                });
            }
            _ => {
                p.state = Proc::Failed(how.clone());
                self.say(format!("{name} failed ({how})"));
                self.process_failed(e.index);
            }
        }
    }

    fn process_failed(&mut self, index: usize) {
        self.failed_processes = true;
        let p = &self.procs[index];
        quit_on_behalf(&p.endpoint, p.token.as_deref(), p.curve.as_ref());
        if self.stop_on_failure {
            self.shutdown();
        }
    }

    fn longest_grace(&self) -> Duration {
        self.procs
            .iter()
            .filter(|p| p.is_alive())
            .filter_map(|p| p.launch.as_ref().map(|l| l.grace))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn after(&self, delay: Duration, msg: Msg) {
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = tx.send(msg);
        });
    }

    /// SIGTERM to every live process, SIGKILL after the longest grace period, engine stopped.
    fn shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let grace = self.longest_grace();
        for p in &mut self.procs {
            match p.state {
                Proc::Running { pid } => launch::signal_group(pid, libc::SIGTERM),
                Proc::WaitingToRestart => p.state = Proc::Exited("not restarted".into()),
                _ => {}
            }
        }
        self.stop.stop();
        self.after(grace, Msg::GraceOver);
    }

    /// The engine is done (every plugin quit): processes get their grace period to exit on their
    /// own, then the usual shutdown.
    fn engine_done(&mut self) {
        for p in &mut self.procs {
            if p.state == Proc::WaitingToRestart {
                p.state = Proc::Exited("not restarted".into());
            }
        }
        if self.procs.iter().any(Launched::is_alive) {
            self.after(self.longest_grace(), Msg::Linger);
        }
    }

    fn kill_all(&mut self) {
        for p in &self.procs {
            if let Proc::Running { pid } = p.state {
                launch::signal_group(pid, libc::SIGKILL);
            }
        }
    }
}

pub fn run(path: &Path, ready_file: Option<&Path>, quiet: bool) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let config = config::load(path)?;
    let mut app = App::with_config(config.engine.clone());
    let mut tallies: Vec<(String, Arc<Tally>)> = Vec::new();
    for g in &config.generators {
        app = app.with_plugin(builtins::generator(g));
    }
    let mut internal: Vec<(String, Arc<Box<dyn Plugin>>)> = Vec::new();
    for c in &config.collectors {
        let (plugin, tally) = builtins::collector(c);
        tallies.push((c.name.clone(), tally));
        let plugin: Arc<Box<dyn Plugin>> = Arc::new(Box::new(plugin));
        internal.push((c.name.clone(), Arc::clone(&plugin)));
        app = app.register_plugin(plugin);
    }
    for b in &config.bridges {
        let bridge: Arc<Box<dyn Plugin>> =
            Arc::new(Box::new(event_engine_nats::NatsBridge::new(b.clone())?));
        internal.push((b.name.clone(), Arc::clone(&bridge)));
        app = app.register_plugin(bridge);
    }
    let keys = crate::keys::plan(&config)?;
    if let Some(engine) = &keys.engine {
        app.config_mut().curve_keys = Some(engine.clone());
    }
    let mut tokens = Vec::new();
    let mut curves = Vec::new();
    for p in &config.plugins {
        let mut spec = ExternalPluginSpec::new(p.name.clone(), p.port);
        // A launched plugin gets a key pair instead of a token where CURVE is used.
        let launched_keys = match (&p.auth, &keys.engine) {
            (config::Auth::Launched, Some(engine)) if keys.launched => {
                let plugin = event_engine::auth::CurveKeys::generate()
                    .map_err(|e| format!("plugin {}: {e}", p.name))?;
                spec = spec.with_curve_public_key(plugin.public_key());
                Some((engine.public_key().to_string(), plugin))
            }
            _ => None,
        };
        if let config::Auth::Curve(key) = &p.auth {
            spec = spec.with_curve_public_key(key.clone());
        }
        let token = if launched_keys.is_some() {
            None
        } else {
            crate::tokens::for_plugin(p).map_err(|e| format!("plugin {}: {e}", p.name))?
        };
        if let Some(t) = &token {
            spec = spec.with_token(t.clone());
        }
        tokens.push(token);
        curves.push(launched_keys);
        for f in &p.filters {
            spec = spec.subscribe(f.clone());
        }
        if let Some(id) = p.id {
            spec = spec.with_id(id);
        }
        app = app.register_external_plugin(Arc::new(Box::new(spec)));
    }
    let running = app.start()?;
    if !quiet {
        eprintln!(
            "event-engine: {} — bus: publish {}, subscribe {}",
            path.display(),
            running.publish_endpoint(),
            running.subscribe_endpoint()
        );
        for g in &config.generators {
            eprintln!(
                "event-engine:   {:<14} generator, {} event(s)",
                g.name, g.count
            );
        }
        for c in &config.collectors {
            eprintln!(
                "event-engine:   {:<14} collector, {} event(s)",
                c.name, c.count
            );
        }
        for b in &config.bridges {
            let js = match &b.delivery {
                event_engine_nats::Delivery::JetStream(js) => {
                    format!(", JetStream stream {}", js.stream)
                }
                event_engine_nats::Delivery::Core => ", core NATS".to_string(),
            };
            eprintln!(
                "event-engine:   {:<14} NATS bridge to {}{js}; {} export(s), {} import(s)",
                b.name,
                if b.servers.is_empty() {
                    "nats://127.0.0.1:4222".to_string()
                } else {
                    b.servers.join(",")
                },
                b.exports.len(),
                b.imports.len()
            );
        }
        for (e, p) in running.external_plugins().iter().zip(&config.plugins) {
            let cmd = p
                .launch
                .as_ref()
                .map(|l| {
                    let words: Vec<&str> = std::iter::once(l.program.as_str())
                        .chain(l.args.iter().map(String::as_str))
                        .collect();
                    format!("  $ {}", words.join(" "))
                })
                .unwrap_or_default();
            eprintln!("event-engine:   {:<14} {}{cmd}", e.name, e.endpoint);
        }
    }
    for (e, p) in running.external_plugins().iter().zip(&config.plugins) {
        match p.auth {
            config::Auth::None => log::warn!(
                "plugin {}: auth = \"none\": anyone who can reach {} can act as this plugin",
                e.name,
                e.endpoint
            ),
            config::Auth::Unset => log::warn!(
                "plugin {}: anyone who can reach {} can act as this plugin (it is not launched \
                 and has no token_file; set token_file = \"...\", or auth = \"none\" for a \
                 0.2 client)",
                e.name,
                e.endpoint
            ),
            config::Auth::Launched | config::Auth::TokenFile(_) | config::Auth::Curve(_) => {}
        }
    }
    let stats_server = crate::stats::serve(internal.clone())?;
    if let Some(f) = ready_file {
        write_ready(f, &running, &tokens, &stats_server.endpoint)?;
    }

    let (tx, rx) = mpsc::channel();
    let (exited_tx, exited_rx) = mpsc::channel::<launch::Exited>();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for e in exited_rx {
                if tx.send(Msg::Exited(e)).is_err() {
                    break;
                }
            }
        });
    }
    {
        // SIGINT (Ctrl-C), SIGTERM (docker stop, systemd, kill) and SIGHUP all stop the run; the
        // exit status says which (130, 143, 129: 128 + the signal number, as a shell reports).
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if tx.send(Msg::Signal(signal)).is_err() {
                        break;
                    }
                }
            })?;
    }
    let procs = running
        .external_plugins()
        .iter()
        .zip(&config.plugins)
        .zip(tokens.iter().zip(&curves))
        .map(|((e, p), (token, curve))| Launched {
            name: p.name.clone(),
            endpoint: e.endpoint.clone(),
            token: token.clone(),
            curve: curve.as_ref().and_then(|(engine, k)| {
                event_engine_client::Curve::new(engine, k.secret_key()).ok()
            }),
            launch: p.launch.clone(),
            env: LaunchEnv {
                name: Some(p.name.clone()),
                port: Some(e.port.to_string()),
                endpoint: Some(e.endpoint.clone()),
                publish_endpoint: Some(running.publish_endpoint().into()),
                subscribe_endpoint: Some(running.subscribe_endpoint().into()),
                token: token.clone(),
                engine_public_key: curve.as_ref().map(|(engine, _)| engine.clone()),
                secret_key: curve.as_ref().map(|(_, k)| k.secret_key().to_string()),
                ..LaunchEnv::default()
            }
            .vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            generation: 0,
            restarts: 0,
            state: if p.launch.is_some() {
                Proc::WaitingToRestart
            } else {
                Proc::External
            },
        })
        .collect();
    let mut runner = Runner {
        procs,
        tx: tx.clone(),
        exited_tx,
        shutting_down: false,
        signalled: false,
        signal: None,
        failed_processes: false,
        stop_on_failure: config.engine.stop_on_failure,
        stop: running.stop_handle(),
        quiet,
    };
    for i in 0..runner.procs.len() {
        runner.start_process(i);
    }
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Msg::Engine(running.wait()));
        });
    }
    drop(tx);

    let mut engine_result = None;
    let mut killed = false;
    while engine_result.is_none() || runner.procs.iter().any(Launched::is_alive) {
        let Ok(msg) = rx.recv() else { break };
        match msg {
            Msg::Exited(e) => runner.process_exited(e),
            Msg::Restart { index, generation } => {
                if !runner.shutting_down && runner.procs[index].generation == generation {
                    runner.start_process(index);
                }
            }
            Msg::Signal(signal) => {
                if runner.signalled && !killed {
                    runner.say("second interrupt: killing every plugin process");
                    runner.kill_all();
                    killed = true;
                }
                if runner.signal.is_none() {
                    runner.signal = Some(signal);
                }
                runner.signalled = true;
                runner.say(match signal {
                    libc::SIGTERM => "terminated (SIGTERM): stopping",
                    libc::SIGHUP => "hung up (SIGHUP): stopping",
                    _ => "interrupted: stopping",
                });
                runner.shutdown();
            }
            Msg::GraceOver => {
                if runner.procs.iter().any(Launched::is_alive) {
                    runner.say("grace period over: killing the remaining plugin processes");
                    runner.kill_all();
                    killed = true;
                }
            }
            Msg::Engine(r) => {
                engine_result = Some(r);
                runner.engine_done();
            }
            Msg::Linger => {
                if runner.procs.iter().any(Launched::is_alive) {
                    runner.say(
                        "plugin processes still running after the engine finished: stopping them",
                    );
                    runner.shutdown();
                }
            }
        }
    }
    drop(stats_server);
    if let Some(f) = ready_file {
        // The endpoints are closed now; a stale file would point at them.
        let _ = std::fs::remove_file(f);
    }
    let report = match engine_result {
        Some(r) => r?,
        None => return Err("the engine thread ended without a report".into()),
    };
    let failed = runner.failed_processes
        || report
            .plugins
            .iter()
            .any(|p| matches!(p.outcome, Outcome::Failed(_)));
    if !quiet {
        print_summary(&report, &runner.procs, &tallies, started.elapsed());
        for (name, p) in internal
            .iter()
            .filter(|(n, _)| config.bridges.iter().any(|b| &b.name == n))
        {
            if let Some(s) = p.stats() {
                let counters: Vec<String> = s
                    .counters
                    .iter()
                    .filter(|(_, v)| *v > 0)
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                eprintln!("event-engine:   {name:<14} {}", counters.join(", "));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if let Some(signal) = runner.signal {
        // 128 + the first signal: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.
        ExitCode::from(u8::try_from(128 + signal).unwrap_or(130))
    } else {
        ExitCode::SUCCESS
    })
}

/// `event-engine check APP`: the file is read and checked as `run` reads it (every key and
/// value, and the engine's settings), and what it declares is printed; exit 0 if it is valid, 2 (with the file, the key and the reason) if
/// not.
pub fn check(path: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config = config::load(path)?;
    config
        .engine
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{}: ok: {} external plugin(s) ({} launched), {} generator(s), {} collector(s), {} bridge(s)",
        path.display(),
        config.plugins.len(),
        config.plugins.iter().filter(|p| p.launch.is_some()).count(),
        config.generators.len(),
        config.collectors.len(),
        config.bridges.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    report: &RunReport,
    procs: &[Launched],
    tallies: &[(String, Arc<Tally>)],
    elapsed: Duration,
) {
    eprintln!(
        "event-engine: done in {:.1?}; {} event(s) forwarded{}",
        elapsed,
        report.events_forwarded,
        if report.tcp_dropped > 0 {
            format!(", {} skipped for slow TCP subscribers", report.tcp_dropped)
        } else {
            String::new()
        }
    );
    for p in &report.plugins {
        // A plugin whose process could not start, or kept failing, failed: the engine side of
        // it may have finished cleanly (nothing was connected), but the user's plugin did not.
        let process_failed = procs
            .iter()
            .any(|l| l.name == p.name && matches!(l.state, Proc::Failed(_)));
        let outcome = match &p.outcome {
            Outcome::Finished if process_failed => "FAILED".to_string(),
            Outcome::Finished => "finished".to_string(),
            Outcome::Failed(f) => format!("FAILED: {}", f.details),
            Outcome::Stopped(_) => "stopped".to_string(),
            Outcome::NotStarted => "not started".to_string(),
        };
        let process = procs
            .iter()
            .find(|l| l.name == p.name)
            .map(|l| match &l.state {
                Proc::External => String::new(),
                Proc::Exited(how) | Proc::Failed(how) => format!(
                    "; process {how}{}",
                    if l.restarts > 0 {
                        format!(" after {} restart(s)", l.restarts)
                    } else {
                        String::new()
                    }
                ),
                other => format!("; process {other:?}"),
            })
            .unwrap_or_default();
        let counters = p
            .stats
            .as_ref()
            .map(|s| {
                let waiting = if s.buffered > 0 {
                    format!(", {} never asked for", s.buffered)
                } else {
                    String::new()
                };
                let refused = if s.refused > 0 {
                    format!(
                        ", refused {} connection(s) without its credential",
                        s.refused
                    )
                } else {
                    String::new()
                };
                format!(
                    "; received {}, published {}{waiting}{refused}",
                    s.delivered, s.published
                )
            })
            .or_else(|| {
                tallies
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, t)| format!("; {}", t.summary()))
            })
            .unwrap_or_default();
        eprintln!(
            "event-engine:   {:<14} {outcome}{process}{counters}",
            p.name
        );
    }
}
