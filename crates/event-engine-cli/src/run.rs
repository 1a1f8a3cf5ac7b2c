//! `event-engine run`: the engine of an `app.toml`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use event_engine::plugins::ExternalPluginSpec;
use event_engine::{App, Outcome, RunningApp};

use crate::config;

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
}

#[derive(serde::Serialize)]
struct ReadyPlugin<'a> {
    port: u16,
    endpoint: &'a str,
}

fn write_ready(path: &Path, app: &RunningApp) -> Result<(), Error> {
    let ready = Ready {
        pid: std::process::id(),
        publish: app.publish_endpoint(),
        publish_port: app.publish_port(),
        subscribe: app.subscribe_endpoint(),
        subscribe_port: app.subscribe_port(),
        plugins: app
            .external_plugins()
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    ReadyPlugin {
                        port: e.port,
                        endpoint: &e.endpoint,
                    },
                )
            })
            .collect(),
    };
    // Written whole, then renamed, so a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&ready)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub fn run(path: &Path, ready_file: Option<&Path>, quiet: bool) -> Result<ExitCode, Error> {
    let config = config::load(path)?;
    let mut app = App::with_config(config.engine.clone());
    for p in &config.plugins {
        let mut spec = ExternalPluginSpec::new(p.name.clone(), p.port);
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
            "event-engine: {} plugin(s); bus publish {} subscribe {}",
            config.plugins.len(),
            running.publish_endpoint(),
            running.subscribe_endpoint()
        );
        for e in running.external_plugins() {
            eprintln!("event-engine:   {:<20} {}", e.name, e.endpoint);
        }
    }
    if let Some(f) = ready_file {
        write_ready(f, &running)?;
    }
    let stop = running.stop_handle();
    ctrlc::set_handler(move || stop.stop())?;
    let report = running.wait()?;
    let failed = report
        .plugins
        .iter()
        .any(|p| matches!(p.outcome, Outcome::Failed(_)));
    if !quiet {
        eprint!("event-engine: {report}");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
