//! Finding a running engine: from its ready file, its app.toml (fixed ports), or an endpoint.

use std::path::PathBuf;

use serde::Deserialize;

use event_engine::wire::endpoint;

use crate::config;

type Error = Box<dyn std::error::Error>;

/// Where the engine is (`--ready`, `--app` or `--endpoint`).
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The ready file written by `event-engine run --ready-file`.
    #[arg(long, value_name = "FILE")]
    pub ready: Option<PathBuf>,
    /// The application file (its ports must be fixed, not 0).
    #[arg(long, value_name = "FILE")]
    pub app: Option<PathBuf>,
    /// An explicit endpoint (which one depends on the command: see the examples below).
    #[arg(long)]
    pub endpoint: Option<String>,
}

#[derive(Deserialize)]
struct ReadyFile {
    publish: String,
    subscribe: String,
    plugins: std::collections::BTreeMap<String, ReadyPlugin>,
    #[serde(default)]
    stats: Option<String>,
}

#[derive(Deserialize)]
struct ReadyPlugin {
    endpoint: String,
    #[serde(default)]
    token: Option<String>,
}

/// Which of the engine's endpoints a command needs.
pub enum Want {
    Publish,
    Subscribe,
}

/// The endpoint a client on this host connects to, for a port bound on `address`.
fn tcp(address: &str, port: i32) -> String {
    let port = u16::try_from(port).unwrap_or_default();
    endpoint::tcp(endpoint::connectable(address), port)
}

impl Target {
    fn read_ready(&self) -> Result<Option<ReadyFile>, Error> {
        match &self.ready {
            None => Ok(None),
            Some(p) => {
                let text =
                    std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
                Ok(Some(serde_json::from_slice(&text).map_err(|e| {
                    format!("{}: not a ready file: {e}", p.display())
                })?))
            }
        }
    }

    /// The bus endpoint a command needs.
    pub fn bus(&self, want: Want) -> Result<String, Error> {
        if let Some(e) = &self.endpoint {
            return Ok(e.clone());
        }
        if let Some(r) = self.read_ready()? {
            return Ok(match want {
                Want::Publish => r.publish,
                Want::Subscribe => r.subscribe,
            });
        }
        if let Some(path) = &self.app {
            let c = config::load(path)?;
            let (port, key) = match want {
                Want::Publish => (c.engine.publish_port, "bus.publish_port"),
                Want::Subscribe => (c.engine.subscribe_port, "bus.subscribe_port"),
            };
            if port == 0 {
                return Err(format!(
                    "{}: {key} is 0 (any free port); use the ready file (--ready) instead",
                    path.display()
                )
                .into());
            }
            return Ok(tcp(&c.engine.bind_address, port));
        }
        Err("say where the engine is: --ready FILE, --app FILE or --endpoint URL".into())
    }

    /// Where the internal plugins' counters are served (only the ready file says).
    pub fn stats_endpoint(&self) -> Result<Option<String>, Error> {
        Ok(self.read_ready()?.and_then(|r| r.stats))
    }

    /// Name, endpoint and token (if the ready file or a token file says) of every external
    /// plugin. With `--endpoint`, no token: the client takes `EE_PLUGIN_TOKEN`'s, if set.
    pub fn plugins(&self) -> Result<Vec<(String, String, Option<String>)>, Error> {
        if let Some(e) = &self.endpoint {
            return Ok(vec![(e.clone(), e.clone(), None)]);
        }
        if let Some(r) = self.read_ready()? {
            return Ok(r
                .plugins
                .into_iter()
                .map(|(name, p)| (name, p.endpoint, p.token))
                .collect());
        }
        if let Some(path) = &self.app {
            let c = config::load(path)?;
            let mut out = Vec::new();
            for p in c.plugins {
                if p.port == 0 {
                    return Err(format!(
                        "{}: plugin '{}' has port 0 (any free port); use the ready file (--ready) instead",
                        path.display(),
                        p.name
                    )
                    .into());
                }
                // A launched plugin's token lives only in its run (and its ready file).
                let token = match &p.auth {
                    config::Auth::TokenFile(f) => Some(crate::tokens::read(f)?),
                    _ => None,
                };
                out.push((p.name, tcp(&c.engine.bind_address, p.port), token));
            }
            return Ok(out);
        }
        Err("say where the engine is: --ready FILE, --app FILE or --endpoint URL".into())
    }
}

/// A filter or prefix given on the command line: text, or `hex:0100`.
pub fn bytes_arg(s: &str) -> Result<Vec<u8>, Error> {
    match s.strip_prefix("hex:") {
        Some(h) => event_engine::wire::from_hex(h)
            .ok_or_else(|| format!("'{h}' is not hex (two digits per byte)").into()),
        None => Ok(s.as_bytes().to_vec()),
    }
}
