//! `app.toml`: the declaration of an application run by `event-engine run`.
//!
//! ```toml
//! [bus]
//! publish_port = 5559
//! subscribe_port = 5560
//!
//! [[plugins]]
//! name = "classifier"
//! port = 6000
//! subscriptions = ["Frame", { hex = "0100" }]
//!
//! [plugins.run]
//! command = ["python3", "classifier.py"]
//! restart = "on-failure"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use event_engine::events::Filter;
use event_engine::{EngineConfig, TcpSubscribers};
use serde::Deserialize;

/// A configuration error: the file, the key and the reason.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Bus {
    pub bind_address: Option<String>,
    pub publish_port: Option<i32>,
    pub subscribe_port: Option<i32>,
    pub high_water_mark: Option<i32>,
    pub tcp_subscribers: Option<String>,
    pub setup_timeout_ms: Option<u64>,
    pub wait_for_external_ms: Option<u64>,
    pub max_pending: Option<usize>,
    pub buffer_limit: Option<usize>,
    pub buffer_bytes: Option<usize>,
    pub stop_on_failure: Option<bool>,
    pub max_message_size: Option<i64>,
    pub max_event_bytes: Option<usize>,
    pub max_frames: Option<usize>,
    pub max_request_bytes: Option<usize>,
    /// Refuse to start when a plugin port would listen beyond loopback without CURVE.
    pub require_encryption: Option<bool>,
    /// The engine's CURVE secret key file (`event-engine keygen`'s `.key`), for plugins started
    /// elsewhere that name their public key.
    pub curve_secret_key_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(untagged)]
pub enum Subscription {
    Text(String),
    Hex { hex: String },
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    Never,
    OnFailure,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub restart: Restart,
    pub max_restarts: Option<u32>,
    pub restart_backoff_ms: Option<u64>,
    pub grace_period_ms: Option<u64>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct PluginDecl {
    pub name: String,
    #[serde(default)]
    pub port: i32,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    pub id: Option<String>,
    pub run: Option<Run>,
    /// `"token"` (default) or `"none"` (anyone who reaches the port is the plugin: 0.2 clients).
    pub auth: Option<String>,
    /// A file holding the plugin's token (made, mode 0600, if it does not exist).
    pub token_file: Option<PathBuf>,
    /// The plugin's CURVE public key (Z85), for a plugin started elsewhere.
    pub curve_public_key: Option<String>,
    /// A file holding it (`event-engine keygen`'s `.pub`).
    pub curve_public_key_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct GeneratorDecl {
    pub name: String,
    pub count: u64,
    pub event: String,
    #[serde(default)]
    pub interval_ms: u64,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CollectorDecl {
    pub name: String,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    pub count: u64,
    pub timeout_ms: Option<u64>,
}

/// An export of a `[[bridges]]` entry: a filter (text), or a table.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum ExportDecl {
    Text(String),
    Table(ExportTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExportTable {
    pub filter: Option<String>,
    pub hex: Option<String>,
    pub subject: Option<String>,
}

/// An import of a `[[bridges]]` entry: a subject, or a table with a filter prefix.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum ImportDecl {
    Subject(String),
    Table(ImportTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ImportTable {
    pub subject: String,
    pub prefix: Option<String>,
    pub prefix_hex: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct JetStreamDecl {
    pub stream: String,
    pub durable: Option<String>,
    pub create: Option<bool>,
    #[serde(default)]
    pub subjects: Vec<String>,
    pub replicas: Option<usize>,
    pub deliver: Option<String>,
    pub ack_wait_ms: Option<u64>,
    pub domain: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthDecl {
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub nkey: Option<String>,
    pub credentials: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsDecl {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub ca: Vec<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A `[[bridges]]` entry: a NATS bridge (crates/event-engine-nats).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct BridgeDecl {
    pub name: String,
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default)]
    pub subject_prefix: String,
    #[serde(default)]
    pub export: Vec<ExportDecl>,
    #[serde(default)]
    pub import: Vec<ImportDecl>,
    pub jetstream: Option<JetStreamDecl>,
    pub buffer: Option<usize>,
    pub when_full: Option<String>,
    pub auth: Option<AuthDecl>,
    pub tls: Option<TlsDecl>,
    pub origin: Option<String>,
    pub drain_timeout_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    bus: Bus,
    #[serde(default)]
    plugins: Vec<PluginDecl>,
    #[serde(default)]
    generators: Vec<GeneratorDecl>,
    #[serde(default)]
    collectors: Vec<CollectorDecl>,
    #[serde(default)]
    bridges: Vec<BridgeDecl>,
}

/// A launch command, checked.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub restart: Restart,
    pub max_restarts: u32,
    pub backoff: Duration,
    pub grace: Duration,
}

/// How a plugin's port authenticates who connects (`docs/security.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A launched plugin: a fresh token for this run, passed in the launch environment.
    Launched,
    /// The token in this file (made, mode 0600, if it does not exist).
    TokenFile(PathBuf),
    /// `curve_public_key` / `curve_public_key_file`: only the holder of this key's secret key
    /// (Z85 public key), encrypted.
    Curve(String),
    /// `auth = "none"`: anyone who reaches the port is the plugin.
    None,
    /// Neither launched nor given a token file: as `None`, with a warning that says what to do.
    Unset,
}

/// An external plugin, checked.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub name: String,
    pub port: i32,
    pub filters: Vec<Filter>,
    pub id: Option<event_engine::uuid::Uuid>,
    pub launch: Option<Launch>,
    pub auth: Auth,
}

/// A built-in plugin that publishes `count` events made from a template (`{i}`: the index).
#[derive(Debug, Clone)]
pub struct Generator {
    pub name: String,
    pub count: u64,
    pub template: String,
    pub interval: Duration,
}

/// A built-in plugin that receives `count` events and reports them.
#[derive(Debug, Clone)]
pub struct Collector {
    pub name: String,
    pub filters: Vec<Filter>,
    pub count: u64,
    pub timeout: Option<Duration>,
}

/// An application, checked.
#[derive(Debug)]
pub struct AppConfig {
    pub engine: EngineConfig,
    pub plugins: Vec<Plugin>,
    pub generators: Vec<Generator>,
    pub collectors: Vec<Collector>,
    pub bridges: Vec<event_engine_nats::BridgeConfig>,
    /// `[bus] curve_secret_key_file`, resolved against the file's directory.
    pub curve_secret_key_file: Option<PathBuf>,
}

fn err(path: &Path, key: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{}: {key}: {reason}", path.display()))
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<AppConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
    parse(path, &text)
}

/// Parses and checks the text of `path`.
pub fn parse(path: &Path, text: &str) -> Result<AppConfig, ConfigError> {
    let file: File = toml::from_str(text)
        .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let b = &file.bus;
    let mut engine = EngineConfig::new(b.publish_port.unwrap_or(0), b.subscribe_port.unwrap_or(0));
    if let Some(a) = &b.bind_address {
        engine.bind_address = a.clone();
    }
    if let Some(h) = b.high_water_mark {
        engine.high_water_mark = h;
    }
    if let Some(mode) = &b.tcp_subscribers {
        engine.tcp_subscribers = match mode.as_str() {
            "drop" => TcpSubscribers::DropAndCount,
            "block" => TcpSubscribers::Block,
            other => {
                return Err(err(
                    path,
                    "bus.tcp_subscribers",
                    format!("'{other}' is not one of \"drop\", \"block\""),
                ))
            }
        };
    }
    if let Some(ms) = b.setup_timeout_ms {
        engine.setup_timeout = Duration::from_millis(ms);
    }
    engine.wait_for_external = b.wait_for_external_ms.map(Duration::from_millis);
    if let Some(n) = b.max_pending {
        engine.max_pending = n;
    }
    if let Some(n) = b.buffer_limit {
        engine.buffer_limit = n;
    }
    if let Some(n) = b.buffer_bytes {
        engine.buffer_bytes = n;
    }
    if let Some(n) = b.max_event_bytes {
        engine.max_event_bytes = n;
    }
    if let Some(n) = b.max_frames {
        engine.max_frames = n;
    }
    if let Some(n) = b.max_request_bytes {
        engine.max_request_bytes = n;
    }
    engine.require_encryption = b.require_encryption.unwrap_or(false);
    let curve_secret_key_file = b.curve_secret_key_file.as_ref().map(|f| {
        if f.is_absolute() {
            f.clone()
        } else {
            base.join(f)
        }
    });
    // Unlike App::new (0.2's default: the others keep running), a launched application stops
    // when a plugin fails for good: its processes are ours to stop, and the exit status says why.
    engine.stop_on_failure = b.stop_on_failure.unwrap_or(true);
    engine.max_message_size = b.max_message_size;
    engine.validate().map_err(|e| {
        let msg = e.to_string();
        let reason = msg.strip_prefix("invalid configuration: ").unwrap_or(&msg);
        ConfigError(format!("{}: bus: {reason}", path.display()))
    })?;

    let mut plugins = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut ports = std::collections::HashMap::new();
    for (i, p) in file.plugins.iter().enumerate() {
        let key = |k: &str| format!("plugins[{i}].{k}");
        if p.name.trim().is_empty() {
            return Err(err(path, &key("name"), "must not be empty"));
        }
        if !names.insert(p.name.clone()) {
            return Err(err(
                path,
                &key("name"),
                format!("'{}' is declared twice", p.name),
            ));
        }
        if !(0..=65535).contains(&p.port) {
            return Err(err(
                path,
                &key("port"),
                format!("{} is not a TCP port (0..=65535)", p.port),
            ));
        }
        if p.port != 0 {
            if let Some(other) = ports.insert(p.port, p.name.clone()) {
                return Err(err(
                    path,
                    &key("port"),
                    format!("{} is also the port of '{other}'", p.port),
                ));
            }
            if p.port == engine.publish_port || p.port == engine.subscribe_port {
                return Err(err(path, &key("port"), format!("{} is a bus port", p.port)));
            }
        }
        let mut filters = Vec::new();
        for (j, s) in p.subscriptions.iter().enumerate() {
            let k = key(&format!("subscriptions[{j}]"));
            filters.push(match s {
                Subscription::Text(t) => Filter::new(t.clone()),
                Subscription::Hex { hex } => {
                    let bytes = event_engine::wire::from_hex(hex).ok_or_else(|| {
                        err(
                            path,
                            &k,
                            format!("'{hex}' is not hex (two digits per byte)"),
                        )
                    })?;
                    Filter::bytes(format!("0x{hex}"), bytes)
                }
            });
        }
        let id = match &p.id {
            None => None,
            Some(s) => Some(
                s.parse()
                    .map_err(|e| err(path, &key("id"), format!("'{s}' is not a UUID ({e})")))?,
            ),
        };
        let launch = match &p.run {
            None => None,
            Some(r) => {
                let Some((program, args)) = r.command.split_first() else {
                    return Err(err(path, &key("run.command"), "must name a program"));
                };
                if program.is_empty() {
                    return Err(err(path, &key("run.command"), "must name a program"));
                }
                if r.restart == Restart::Never && r.max_restarts.is_some() {
                    return Err(err(
                        path,
                        &key("run.max_restarts"),
                        "needs restart = \"on-failure\"",
                    ));
                }
                let cwd = match &r.cwd {
                    Some(c) if c.is_absolute() => c.clone(),
                    Some(c) => base.join(c),
                    None => base.clone(),
                };
                Some(Launch {
                    program: program.clone(),
                    args: args.to_vec(),
                    env: r.env.clone(),
                    cwd,
                    restart: r.restart,
                    max_restarts: r.max_restarts.unwrap_or(3),
                    backoff: Duration::from_millis(r.restart_backoff_ms.unwrap_or(500)),
                    grace: Duration::from_millis(r.grace_period_ms.unwrap_or(3000)),
                })
            }
        };
        let curve_key = match (&p.curve_public_key, &p.curve_public_key_file) {
            (Some(_), Some(_)) => {
                return Err(err(
                    path,
                    &key("curve_public_key"),
                    "give curve_public_key or curve_public_key_file, not both",
                ))
            }
            (Some(k), None) => {
                event_engine::auth::decode_curve_key(k)
                    .map_err(|e| err(path, &key("curve_public_key"), e))?;
                Some(k.trim().to_string())
            }
            (None, Some(f)) => {
                let f = if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                };
                Some(
                    event_engine::auth::read_key_file(&f, false)
                        .map_err(|e| err(path, &key("curve_public_key_file"), e))?,
                )
            }
            (None, None) => None,
        };
        if curve_key.is_some() && (p.auth.is_some() || p.token_file.is_some()) {
            return Err(err(
                path,
                &key("curve_public_key"),
                "a plugin with a CURVE key has no auth or token_file",
            ));
        }
        plugins.push(Plugin {
            name: p.name.clone(),
            port: p.port,
            filters,
            id,
            auth: match (p.auth.as_deref(), &p.token_file) {
                _ if curve_key.is_some() => Auth::Curve(curve_key.unwrap_or_default()),
                (Some("none"), Some(_)) => {
                    return Err(err(
                        path,
                        &key("token_file"),
                        "a plugin with auth = \"none\" has no token",
                    ))
                }
                (Some("none"), None) => Auth::None,
                (Some("token") | None, Some(f)) => Auth::TokenFile(if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                }),
                (Some("token") | None, None) if launch.is_some() => Auth::Launched,
                (Some("token"), None) => {
                    return Err(err(
                        path,
                        &key("auth"),
                        "a plugin that is not launched (no run.command) needs token_file for \
                         auth = \"token\"",
                    ))
                }
                (None, None) => Auth::Unset,
                (Some(other), _) => {
                    return Err(err(
                        path,
                        &key("auth"),
                        format!("'{other}' is not \"token\" or \"none\""),
                    ))
                }
            },
            launch,
        });
    }
    let mut generators = Vec::new();
    for (i, g) in file.generators.iter().enumerate() {
        let key = |k: &str| format!("generators[{i}].{k}");
        check_name(path, &key("name"), &g.name, &mut names)?;
        if g.event.is_empty() {
            return Err(err(path, &key("event"), "must not be empty"));
        }
        generators.push(Generator {
            name: g.name.clone(),
            count: g.count,
            template: g.event.clone(),
            interval: Duration::from_millis(g.interval_ms),
        });
    }
    let mut collectors = Vec::new();
    for (i, c) in file.collectors.iter().enumerate() {
        let key = |k: &str| format!("collectors[{i}].{k}");
        check_name(path, &key("name"), &c.name, &mut names)?;
        let filters = filters(path, &format!("collectors[{i}]"), &c.subscriptions)?;
        if filters.is_empty() && c.count > 0 {
            return Err(err(
                path,
                &key("subscriptions"),
                "a collector that expects events needs subscriptions",
            ));
        }
        collectors.push(Collector {
            name: c.name.clone(),
            filters,
            count: c.count,
            timeout: c.timeout_ms.map(Duration::from_millis),
        });
    }
    let mut bridges = Vec::new();
    for (i, b) in file.bridges.iter().enumerate() {
        let key = format!("bridges[{i}]");
        check_name(path, &format!("{key}.name"), &b.name, &mut names)?;
        bridges.push(bridge(path, &base, &key, b)?);
    }
    Ok(AppConfig {
        engine,
        plugins,
        generators,
        collectors,
        bridges,
        curve_secret_key_file,
    })
}

fn hex_bytes(path: &Path, key: &str, hex: &str) -> Result<Vec<u8>, ConfigError> {
    event_engine::wire::from_hex(hex).ok_or_else(|| {
        err(
            path,
            key,
            format!("'{hex}' is not hex (two digits per byte)"),
        )
    })
}

/// A `[[bridges]]` entry, checked (paths relative to the file's directory).
fn bridge(
    path: &Path,
    base: &Path,
    key: &str,
    b: &BridgeDecl,
) -> Result<event_engine_nats::BridgeConfig, ConfigError> {
    use event_engine_nats::{
        Auth, BridgeConfig, DeliverFrom, Delivery, Export, Import, JetStream, WhenFull,
    };
    let at = |k: &str| format!("{key}.{k}");
    let rel = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let mut c = BridgeConfig::new(b.name.clone());
    c.servers = b.servers.clone();
    c.subject_prefix = b.subject_prefix.clone();
    for (j, e) in b.export.iter().enumerate() {
        let k = at(&format!("export[{j}]"));
        c.exports.push(match e {
            ExportDecl::Text(t) => Export {
                filter: Filter::new(t.clone()),
                subject: None,
            },
            ExportDecl::Table(t) => {
                let filter = match (&t.filter, &t.hex) {
                    (Some(f), None) => Filter::new(f.clone()),
                    (None, Some(h)) => Filter::bytes(format!("0x{h}"), hex_bytes(path, &k, h)?),
                    _ => return Err(err(path, &k, "give one of filter or hex")),
                };
                Export {
                    filter,
                    subject: t.subject.clone(),
                }
            }
        });
    }
    for (j, i) in b.import.iter().enumerate() {
        let k = at(&format!("import[{j}]"));
        c.imports.push(match i {
            ImportDecl::Subject(s) => Import {
                subject: s.clone(),
                prefix: Vec::new(),
            },
            ImportDecl::Table(t) => Import {
                subject: t.subject.clone(),
                prefix: match (&t.prefix, &t.prefix_hex) {
                    (Some(p), None) => p.as_bytes().to_vec(),
                    (None, Some(h)) => hex_bytes(path, &k, h)?,
                    (None, None) => Vec::new(),
                    _ => return Err(err(path, &k, "give prefix or prefix_hex, not both")),
                },
            },
        });
    }
    if let Some(j) = &b.jetstream {
        let mut js = JetStream::new(j.stream.clone());
        js.durable = j.durable.clone();
        js.create = j.create.unwrap_or(true);
        js.subjects = j.subjects.clone();
        js.replicas = j.replicas.unwrap_or(1);
        js.domain = j.domain.clone();
        js.deliver = match j.deliver.as_deref() {
            None | Some("all") => DeliverFrom::All,
            Some("new") => DeliverFrom::New,
            Some(other) => {
                return Err(err(
                    path,
                    &at("jetstream.deliver"),
                    format!("'{other}' is not one of \"all\", \"new\""),
                ))
            }
        };
        if let Some(ms) = j.ack_wait_ms {
            js.ack_wait = Duration::from_millis(ms);
        }
        c.delivery = Delivery::JetStream(js);
    }
    if let Some(n) = b.buffer {
        c.buffer = n;
    }
    c.when_full = match b.when_full.as_deref() {
        None | Some("block") => WhenFull::Block,
        Some("drop") => WhenFull::DropAndCount,
        Some(other) => {
            return Err(err(
                path,
                &at("when_full"),
                format!("'{other}' is not one of \"block\", \"drop\""),
            ))
        }
    };
    if let Some(a) = &b.auth {
        let given = [
            a.token.is_some(),
            a.user.is_some() || a.password.is_some(),
            a.nkey.is_some(),
            a.credentials.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(err(
                path,
                &at("auth"),
                "give one of token, user + password, nkey, credentials",
            ));
        }
        c.auth = if let Some(t) = &a.token {
            Auth::Token(t.clone())
        } else if let Some(n) = &a.nkey {
            Auth::NKey(n.clone())
        } else if let Some(p) = &a.credentials {
            Auth::CredentialsFile(rel(p))
        } else {
            match (&a.user, &a.password) {
                (Some(u), Some(p)) => Auth::UserPassword(u.clone(), p.clone()),
                (None, None) => Auth::None,
                _ => return Err(err(path, &at("auth"), "user and password go together")),
            }
        };
    }
    if let Some(t) = &b.tls {
        c.tls.required = t.required || !t.ca.is_empty() || t.cert.is_some();
        c.tls.ca_files = t.ca.iter().map(rel).collect();
        c.tls.client_cert = match (&t.cert, &t.key) {
            (Some(cert), Some(k)) => Some((rel(cert), rel(k))),
            (None, None) => None,
            _ => return Err(err(path, &at("tls"), "cert and key go together")),
        };
    }
    c.origin = b.origin.clone();
    if let Some(ms) = b.drain_timeout_ms {
        c.drain_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = b.request_timeout_ms {
        c.request_timeout = Duration::from_millis(ms);
    }
    c.validate().map_err(|e| {
        let msg = e.to_string();
        let reason = msg
            .strip_prefix(&format!("bridge '{}': ", b.name))
            .unwrap_or(&msg)
            .to_string();
        err(path, key, reason)
    })?;
    Ok(c)
}

fn check_name(
    path: &Path,
    key: &str,
    name: &str,
    names: &mut std::collections::HashSet<String>,
) -> Result<(), ConfigError> {
    if name.trim().is_empty() {
        return Err(err(path, key, "must not be empty"));
    }
    if !names.insert(name.to_string()) {
        return Err(err(path, key, format!("'{name}' is declared twice")));
    }
    Ok(())
}

fn filters(path: &Path, at: &str, subs: &[Subscription]) -> Result<Vec<Filter>, ConfigError> {
    subs.iter()
        .enumerate()
        .map(|(j, s)| match s {
            Subscription::Text(t) => Ok(Filter::new(t.clone())),
            Subscription::Hex { hex } => event_engine::wire::from_hex(hex)
                .map(|bytes| Filter::bytes(format!("0x{hex}"), bytes))
                .ok_or_else(|| {
                    err(
                        path,
                        &format!("{at}.subscriptions[{j}]"),
                        format!("'{hex}' is not hex (two digits per byte)"),
                    )
                }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(Path::new("app.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn curve_keys_of_plugins_started_elsewhere() {
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let c = parse(
            Path::new("/apps/app.toml"),
            &format!(
                "[bus]\nrequire_encryption = true\ncurve_secret_key_file = \"keys/engine.key\"\n\
                 [[plugins]]\nname = \"remote\"\ncurve_public_key = \"{key}\"\n"
            ),
        )
        .unwrap();
        assert!(c.engine.require_encryption);
        assert_eq!(
            c.curve_secret_key_file.as_deref(),
            Some(Path::new("/apps/keys/engine.key"))
        );
        assert_eq!(c.plugins[0].auth, Auth::Curve(key.to_string()));
        let e = parse_err("[[plugins]]\nname = \"r\"\ncurve_public_key = \"short\"\n");
        assert!(
            e.contains("plugins[0].curve_public_key") && e.contains("40"),
            "{e}"
        );
        let e = parse_err(&format!(
            "[[plugins]]\nname = \"r\"\ncurve_public_key = \"{key}\"\nauth = \"none\"\n"
        ));
        assert!(e.contains("no auth or token_file"), "{e}");
        let e = parse_err("[[plugins]]\nname = \"r\"\ncurve_public_key_file = \"/absent.pub\"\n");
        assert!(e.contains("could not read the key file"), "{e}");
    }

    #[test]
    fn a_full_file() {
        let c = parse(
            Path::new("/apps/demo/app.toml"),
            r#"
            [bus]
            publish_port = 5559
            subscribe_port = 5560
            tcp_subscribers = "block"
            wait_for_external_ms = 2000
            max_event_bytes = 10_000_000
            max_frames = 100
            max_request_bytes = 20_000_000
            buffer_bytes = 1_000_000

            [[plugins]]
            name = "py"
            port = 6000
            subscriptions = ["TypeA", { hex = "0100" }]

            [plugins.run]
            command = ["python3", "plugin.py", "--fast"]
            env = { MODEL = "tiny" }
            restart = "on-failure"
            max_restarts = 2

            [[plugins]]
            name = "watcher"

            [[generators]]
            name = "producer"
            count = 10
            event = "TypeA{i}"

            [[collectors]]
            name = "sink"
            subscriptions = ["TypeB"]
            count = 10
            timeout_ms = 5000
            "#,
        )
        .unwrap();
        assert_eq!(c.engine.publish_port, 5559);
        assert_eq!(c.engine.tcp_subscribers, TcpSubscribers::Block);
        assert_eq!(
            (
                c.engine.max_event_bytes,
                c.engine.max_frames,
                c.engine.max_request_bytes,
                c.engine.buffer_bytes
            ),
            (10_000_000, 100, 20_000_000, 1_000_000)
        );
        assert_eq!(c.plugins.len(), 2);
        let py = &c.plugins[0];
        assert_eq!(py.filters[1], Filter::bytes("0x0100", [1, 0]));
        let l = py.launch.as_ref().unwrap();
        assert_eq!(
            (l.program.as_str(), l.args.len(), l.max_restarts),
            ("python3", 2, 2)
        );
        assert_eq!(l.cwd, PathBuf::from("/apps/demo"));
        assert_eq!(c.plugins[1].port, 0);
        assert_eq!(c.generators[0].count, 10);
        assert_eq!(c.collectors[0].timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn bridges() {
        let c = parse(
            Path::new("/apps/edge/app.toml"),
            r#"
            [[bridges]]
            name = "uplink"
            servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
            subject_prefix = "traps.site1"
            export = ["Detection", { hex = "0100" }, { filter = "Status", subject = "ops.status" }]
            import = ["traps.cloud.Command", { subject = "sensors.>", prefix = "Sensor" }]
            buffer = 500
            when_full = "drop"

            [bridges.jetstream]
            stream = "TRAPS"
            durable = "site1"
            replicas = 3

            [bridges.auth]
            credentials = "uplink.creds"

            [bridges.tls]
            ca = ["ca.pem"]
            "#,
        )
        .unwrap();
        let b = &c.bridges[0];
        assert_eq!(b.servers.len(), 2);
        assert_eq!(b.export_subject(&b.exports[0]), "traps.site1.Detection");
        assert_eq!(b.export_subject(&b.exports[1]), "traps.site1.0x0100");
        assert_eq!(b.export_subject(&b.exports[2]), "ops.status");
        assert_eq!(b.imports[1].prefix, b"Sensor");
        assert_eq!(b.buffer, 500);
        assert_eq!(b.when_full, event_engine_nats::WhenFull::DropAndCount);
        assert_eq!(
            b.auth,
            event_engine_nats::Auth::CredentialsFile(PathBuf::from("/apps/edge/uplink.creds"))
        );
        assert!(b.tls.required);
        match &b.delivery {
            event_engine_nats::Delivery::JetStream(js) => assert_eq!(js.replicas, 3),
            other => panic!("{other:?}"),
        }
        let e = parse_err("[[bridges]]\nname = \"b\"\n");
        assert!(e.contains("bridges[0]: nothing to do"), "{e}");
        let e = parse_err("[[bridges]]\nname = \"b\"\nexport = [\"A\"]\nwhen_full = \"maybe\"\n");
        assert!(e.contains("bridges[0].when_full: 'maybe'"), "{e}");
        let e = parse_err(
            "[[bridges]]\nname = \"b\"\nimport = [\"x\"]\n[bridges.jetstream]\nstream = \"S\"\n",
        );
        assert!(
            e.contains("bridges[0]: imports from a JetStream stream need a durable"),
            "{e}"
        );
        let e = parse_err("[[bridges]]\nname = \"b\"\nexport = [\"A B\"]\n");
        assert!(e.contains("space"), "{e}");
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_reason() {
        let e = parse_err("[[plugins]]\nname = \"a\"\nport = 70000\n");
        assert!(
            e.starts_with("app.toml: plugins[0].port: 70000 is not a TCP port"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nname = \"a\"\nsubscriptions = [{ hex = \"0g\" }]\n");
        assert!(
            e.contains("plugins[0].subscriptions[0]: '0g' is not hex"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nname = \"a\"\n[[plugins]]\nname = \"a\"\n");
        assert!(e.contains("plugins[1].name: 'a' is declared twice"), "{e}");
        let e = parse_err("[bus]\ntcp_subscribers = \"sometimes\"\n");
        assert!(e.contains("bus.tcp_subscribers: 'sometimes'"), "{e}");
        let e = parse_err("[bus]\nmax_frames = 1\n");
        assert!(
            e.contains("app.toml: bus: max_frames must be at least 2"),
            "{e}"
        );
        let e = parse_err("[bus]\nhigh_water_mark = 0\n");
        assert!(e.contains("app.toml: bus: high_water_mark"), "{e}");
        let e = parse_err("[bus]\nspeed = 3\n");
        assert!(
            e.contains("app.toml") && e.contains("unknown field `speed`"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nname = \"a\"\nport = \"x\"\n");
        assert!(
            e.contains("app.toml") && e.contains("port") && e.contains("invalid type"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nname = \"a\"\n[plugins.run]\ncommand = []\n");
        assert!(
            e.contains("plugins[0].run.command: must name a program"),
            "{e}"
        );
        let e = parse_err(
            "[[plugins]]\nname = \"a\"\n[[generators]]\nname = \"a\"\ncount = 1\nevent = \"x\"\n",
        );
        assert!(
            e.contains("generators[0].name: 'a' is declared twice"),
            "{e}"
        );
        let e = parse_err("[[collectors]]\nname = \"c\"\ncount = 1\n");
        assert!(
            e.contains("collectors[0].subscriptions: a collector"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nname = \"a\"\nid = \"nope\"\n");
        assert!(e.contains("plugins[0].id: 'nope' is not a UUID"), "{e}");
    }
}
