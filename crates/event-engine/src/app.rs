//! The application object: plugins, settings, and `run`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::auth;
use crate::bus::{self, Bus, BusCounters};
use crate::config::{EngineConfig, TcpSubscribers};
use crate::errors::EngineError;
use crate::external::{Counters, PluginInfo, RequestLimits, Served};
use crate::gate::Gate;
use crate::plugins::{ExternalPlugin, Plugin};
use crate::ports;
use crate::report::{PluginKind, RunReport};
use crate::running::{ExternalEndpoint, RunningApp, StopHandle};
use crate::supervisor::{
    call_plugin, Body, PluginMeta, PluginThread, PortName, StopState, Supervisor,
};
use crate::zmqx::{self, EngineContext};

/// The `event-engine` application object.
///
/// ```no_run
/// use std::sync::Arc;
/// use event_engine::App;
/// use event_engine::events::Filter;
/// use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
///
/// let producer = FnPlugin::new("producer", |pub_socket, _sub| {
///     pub_socket.send("TypeAhello", 0)?;
///     Ok(())
/// });
/// let python = ExternalPluginSpec::new("py", 6000).subscribe(Filter::new("TypeA"));
/// App::new(5559, 5560)
///     .with_plugin(producer)
///     .with_external_plugin(python)
///     .run()
///     .unwrap();
/// ```
pub struct App {
    /// The internal plugins, in registration order.
    pub plugins: Vec<Arc<Box<dyn Plugin>>>,
    /// The external plugins, in registration order.
    pub external_plugins: Vec<Arc<Box<dyn ExternalPlugin>>>,
    config: EngineConfig,
}

impl Default for App {
    /// An app on 0.2's default ports (5559, 5560).
    fn default() -> Self {
        App::new(5559, 5560)
    }
}

impl App {
    /// An app whose bus listens on `publish_port` (incoming) and `subscribe_port` (outgoing) on
    /// 127.0.0.1, or on the address in the environment variable `EE_BIND_ADDRESS` (e.g.
    /// `0.0.0.0` in a container); 0 picks free ports (read them back from [`App::start`]'s
    /// [`RunningApp`]). See [`EngineConfig::new`] for every default.
    pub fn new(publish_port: i32, subscribe_port: i32) -> Self {
        App::with_config(EngineConfig::new(publish_port, subscribe_port))
    }

    /// An app with every setting given.
    pub fn with_config(config: EngineConfig) -> Self {
        App {
            plugins: Vec::new(),
            external_plugins: Vec::new(),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The settings, to change.
    pub fn config_mut(&mut self) -> &mut EngineConfig {
        &mut self.config
    }

    /// Listens on `address` instead of 127.0.0.1 (e.g. `0.0.0.0` for every interface). Wins over
    /// `EE_BIND_ADDRESS`.
    pub fn bind_address(mut self, address: impl Into<String>) -> Self {
        self.config.bind_address = address.into();
        self
    }

    /// Sets the high-water mark, in events, of every queue on the bus.
    pub fn high_water_mark(mut self, events: i32) -> Self {
        self.config.high_water_mark = events;
        self
    }

    /// Holds every plugin until a process has connected to each external plugin's port, for at
    /// most `timeout` (then `run` fails naming the plugins nobody connected to).
    pub fn wait_for_external_plugins(mut self, timeout: Duration) -> Self {
        self.config.wait_for_external = Some(timeout);
        self
    }

    /// Sets the longest wait for the start barrier.
    pub fn setup_timeout(mut self, timeout: Duration) -> Self {
        self.config.setup_timeout = timeout;
        self
    }

    /// Sets how slow TCP subscribers are treated.
    pub fn tcp_subscribers(mut self, mode: TcpSubscribers) -> Self {
        self.config.tcp_subscribers = mode;
        self
    }

    /// Whether the first failing plugin stops the others (default false: as in 0.2, the others
    /// keep running, and `run()` reports the failure when they are done).
    pub fn stop_on_failure(mut self, stop: bool) -> Self {
        self.config.stop_on_failure = stop;
        self
    }

    /// How long `run()` waits, once the engine stops, for plugins to return before it returns
    /// without them (default 2 s); see [`EngineConfig::stop_grace`].
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.config.stop_grace = grace;
        self
    }

    /// Add a new plugin to the app
    pub fn register_plugin(mut self, plugin: Arc<Box<dyn Plugin>>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Add zero or more new plugins to the app (non-chainable)
    pub fn register_plugins(&mut self, plugins: Vec<Arc<Box<dyn Plugin>>>) {
        self.plugins.extend(plugins);
    }

    /// Add a new external plugin to the app
    pub fn register_external_plugin(mut self, plugin: Arc<Box<dyn ExternalPlugin>>) -> Self {
        self.external_plugins.push(plugin);
        self
    }

    /// Add zero or more new external plugins to the app (non-chainable)
    pub fn register_external_plugins(&mut self, plugins: Vec<Arc<Box<dyn ExternalPlugin>>>) {
        self.external_plugins.extend(plugins);
    }

    /// Adds a plugin given by value.
    pub fn with_plugin(self, plugin: impl Plugin + 'static) -> Self {
        self.register_plugin(Arc::new(Box::new(plugin)))
    }

    /// Adds an external plugin given by value.
    pub fn with_external_plugin(self, plugin: impl ExternalPlugin + 'static) -> Self {
        self.register_external_plugin(Arc::new(Box::new(plugin)))
    }

    /// Runs the application: returns when every plugin has finished and the engine has shut down.
    /// The error names every plugin that failed.
    pub fn run(self) -> Result<(), EngineError> {
        self.run_with_report()?.result()
    }

    /// Runs the application and returns what happened to each plugin. `Err` only when the engine
    /// itself could not run; failed plugins are in the report ([`RunReport::result`]).
    pub fn run_with_report(self) -> Result<RunReport, EngineError> {
        self.start()?.wait()
    }

    /// Binds every socket, prepares every plugin and starts the run in the background. Returns
    /// at once with the bound endpoints; the plugins start when the start barrier passes.
    pub fn start(self) -> Result<RunningApp, EngineError> {
        let started = Instant::now();
        self.config.validate()?;
        let config = self.config;
        info!(
            "engine starting: {} plugin(s), {} external plugin(s), bus on {} ({})",
            self.plugins.len(),
            self.external_plugins.len(),
            config.bind_address,
            config.bind_address_origin()
        );
        if !is_loopback(&config.bind_address) && !config.require_encryption {
            warn!(
                "the engine listens on {} ({}): every host that can reach this one can connect to \
                 its ports: the raw bus ports and plugin ports without a token or CURVE key admit \
                 anyone, and nothing but CURVE ports is encrypted (docs/security.md)",
                config.bind_address,
                config.bind_address_origin()
            );
        }
        if config.require_encryption && !is_loopback(&config.bind_address) {
            info!(
                "require_encryption: the raw bus ports listen on {} only",
                raw_bus_address(&config)
            );
        }
        // CURVE asked for in a build without it: a clear error before anything binds.
        let wants_curve = config.curve_keys.is_some()
            || self.external_plugins.iter().any(|p| {
                call_plugin("get_curve_public_key()", || Ok(p.get_curve_public_key()))
                    .ok()
                    .flatten()
                    .is_some()
            });
        if wants_curve && !auth::curve_available() {
            return Err(EngineError::Config(auth::curve_unavailable(
                "a CURVE key in the engine's configuration",
            )));
        }
        let engine_secret = match &config.curve_keys {
            Some(keys) => Some(
                auth::decode_curve_key(keys.secret_key())
                    .map_err(|e| EngineError::Config(format!("curve_keys: the secret key: {e}")))?,
            ),
            None => None,
        };
        let nofile = zmqx::raise_nofile_limit();
        let max_sockets = sockets_needed(self.plugins.len(), self.external_plugins.len());
        let ceiling = EngineContext::socket_ceiling();
        if max_sockets > ceiling {
            return Err(EngineError::Config(format!(
                "{} plugins need about {max_sockets} ZeroMQ sockets, more than libzmq allows in \
                 one context (ZMQ_SOCKET_LIMIT {ceiling})",
                self.plugins.len() + self.external_plugins.len()
            )));
        }
        if let Some(limit) = nofile {
            if (max_sockets as u64) + 64 > limit {
                warn!(
                    "{max_sockets} ZeroMQ sockets need as many file descriptors, and the process \
                     may open only {limit} (RLIMIT_NOFILE, hard limit reached): start-up may fail"
                );
            }
        }
        let ctx = EngineContext::with_max_sockets(max_sockets)?;
        let mut bus = Bus::bind(
            &ctx,
            &config,
            self.plugins.len() + self.external_plugins.len(),
        )?;
        let control = ctx.socket(zmq::PAIR)?;
        control.set_linger(0)?;
        control.connect(bus::INPROC_CONTROL)?;

        let gate = Arc::new(Gate::new());
        let (done_tx, done_rx) = mpsc::channel();
        let (accepted_tx, accepted_rx) = mpsc::channel();
        let mut prepared = Prepared::default();
        let mut internal = Vec::new();
        for plugin in &self.plugins {
            let described = describe(
                || plugin.get_name(),
                || plugin.get_id(),
                || plugin.get_subscriptions(),
            )?;
            internal.push((described.0.clone(), Arc::clone(plugin)));
            prepared.add(
                &ctx,
                &config,
                max_sockets,
                described,
                None,
                Body::Internal(Arc::clone(plugin)),
            )?;
        }

        let mut externals = Vec::new();
        let mut watched = Vec::new();
        let mut port_names = Vec::new();
        let mut counters = Vec::new();
        // The ZAP handler's socket, bound before the first port that needs it.
        let mut zap = None;
        let mut admitted = auth::Table::default();
        for plugin in &self.external_plugins {
            let index = prepared.plugins.len();
            let described = describe(
                || plugin.get_name(),
                || plugin.get_id(),
                || plugin.get_subscriptions(),
            )?;
            let (name, id) = (described.0.clone(), described.1);
            let port_value = call_plugin("get_tcp_port()", || Ok(plugin.get_tcp_port()))
                .map_err(|e| setup_error(&name, id, e))?;
            let port =
                crate::config::port(port_value, &format!("port of external plugin '{name}'"))?;
            let token = call_plugin("get_token()", || Ok(plugin.get_token()))
                .map_err(|e| setup_error(&name, id, e))?;
            if let Some(token) = &token {
                auth::check_token(token).map_err(|e| setup_error(&name, id, e))?;
            }
            let curve_key = call_plugin("get_curve_public_key()", || {
                Ok(plugin.get_curve_public_key())
            })
            .map_err(|e| setup_error(&name, id, e))?
            .map(|k| {
                auth::decode_curve_key(&k)
                    .map_err(|e| setup_error(&name, id, format!("its CURVE public key: {e}")))
            })
            .transpose()?;
            if token.is_some() && curve_key.is_some() {
                return Err(setup_error(
                    &name,
                    id,
                    "it has both a token and a CURVE public key: give one".to_string(),
                ));
            }
            if curve_key.is_some() && engine_secret.is_none() {
                return Err(setup_error(
                    &name,
                    id,
                    "it has a CURVE public key, and the engine has no key pair \
                     (EngineConfig::curve_keys)"
                        .to_string(),
                ));
            }
            if config.require_encryption
                && curve_key.is_none()
                && !is_loopback(&config.bind_address)
            {
                return Err(EngineError::Config(format!(
                    "require_encryption: the port of external plugin '{name}' would listen on {} \
                     without CURVE (give it a CURVE public key, or bind on loopback)",
                    config.bind_address
                )));
            }
            let authenticated = token.is_some() || curve_key.is_some();
            let router = external_socket(&ctx, &config).map_err(|e| {
                setup_error(&name, id, describe_socket_error("socket", e, max_sockets))
            })?;
            if authenticated && zap.is_none() {
                zap = Some(auth::bind(&ctx).map_err(|e| {
                    EngineError::Internal(format!("could not bind the authentication handler: {e}"))
                })?);
            }
            if let Some(token) = token.clone() {
                let domain = auth::domain(index);
                router
                    .set_plain_server(true)
                    .and_then(|()| router.set_zap_domain(&domain))
                    .map_err(|e| EngineError::PluginExternalSocketError(id, e))?;
                admitted.admit(domain, name.clone(), token);
                if !is_loopback(&config.bind_address) && !config.require_encryption {
                    warn!(
                        "external plugin {name}: its port listens on {} and its token crosses \
                         the network in clear (ZAP PLAIN authenticates, it does not encrypt)",
                        config.bind_address
                    );
                }
            }
            if let (Some(key), Some(secret)) = (curve_key, engine_secret) {
                let domain = auth::domain(index);
                router
                    .set_curve_server(true)
                    .and_then(|()| router.set_curve_secretkey(&secret))
                    .and_then(|()| router.set_zap_domain(&domain))
                    .map_err(|e| EngineError::PluginExternalSocketError(id, e))?;
                admitted.admit_curve(domain, name.clone(), key);
            }
            // Watched from before it binds, so that no connection goes unseen.
            let monitor = ports::monitor(&ctx, &router, index, authenticated)
                .map_err(|e| EngineError::PluginExternalSocketError(id, e))?;
            let (endpoint, bound) =
                zmqx::bind_tcp(&router, &config.bind_address, port).map_err(|source| {
                    EngineError::Bind {
                        what: format!("port of external plugin '{name}'"),
                        endpoint: zmqx::tcp_endpoint(&config.bind_address, port),
                        source,
                    }
                })?;
            info!("external plugin {name} served on {endpoint}");
            let listener_endpoint = endpoint.clone();
            externals.push(ExternalEndpoint {
                name: name.clone(),
                id,
                port: bound,
                endpoint: zmqx::connectable(&endpoint),
            });
            let plugin_counters = Arc::new(Counters::default());
            counters.push((name.clone(), Arc::clone(&plugin_counters)));
            watched.push(ports::Watched::new(
                monitor,
                Arc::clone(&plugin_counters),
                name.clone(),
                authenticated,
            ));
            port_names.push(PortName { name, port: bound });
            // The plugin's thread serves what was read from the plugin above: no method of it
            // is called again.
            let served = Served {
                info: PluginInfo {
                    name: described.0.clone(),
                    id: described.1,
                    filters: described.2.clone(),
                },
                counters: Arc::clone(&plugin_counters),
                max_pending: config.max_pending,
                buffer_limit: config.buffer_limit,
                buffer_bytes: config.buffer_bytes,
                port: bound,
                limits: RequestLimits::of(&config),
                endpoint: Some(listener_endpoint),
            };
            prepared.add(
                &ctx,
                &config,
                max_sockets,
                described,
                Some(plugin_counters),
                Body::External { router, served },
            )?;
        }
        let Prepared {
            plugins: metas,
            sync_names,
            threads: pending_threads,
        } = prepared;
        warn_duplicate_names(&metas);
        bus.name_plugins(metas.iter().map(|m| m.name.clone()).collect());

        let stop = Arc::new(StopState {
            ctx: Arc::clone(&ctx),
            gate: Arc::clone(&gate),
            requested: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            phase: AtomicU8::new(crate::running::Phase::Starting as u8),
            notes: done_tx.clone(),
        });
        let bus_counters = Arc::new(BusCounters::default());
        let publish = (zmqx::connectable(&bus.publish.0), bus.publish.1);
        let subscribe = (zmqx::connectable(&bus.subscribe.0), bus.subscribe.1);
        // Both end on their own when the context shuts down.
        if let Some(socket) = zap {
            auth::spawn(socket, admitted).map_err(|e| {
                EngineError::Internal(format!("could not spawn the authentication handler: {e}"))
            })?;
        }
        ports::spawn(watched, accepted_tx)
            .map_err(|e| EngineError::Internal(format!("could not spawn the port monitor: {e}")))?;
        let (synced_tx, synced_rx) = mpsc::channel();
        let topics = sync_names.keys().cloned().collect();
        let forwarder = {
            let bus_counters = Arc::clone(&bus_counters);
            std::thread::Builder::new()
                .name("ee-forwarder".into())
                .spawn(move || bus.forward(topics, synced_tx, &bus_counters))
                .map_err(|e| EngineError::Internal(format!("could not spawn the forwarder: {e}")))?
        };
        let mut threads = Vec::new();
        for thread in pending_threads {
            match thread.spawn(Arc::clone(&gate), done_tx.clone()) {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Unwind what runs: nothing has started yet (the gate is closed).
                    stop.stop(false);
                    for t in threads {
                        let _ = t.join();
                    }
                    let _ = forwarder.join();
                    return Err(EngineError::Internal(format!(
                        "could not spawn a plugin thread: {e}"
                    )));
                }
            }
        }
        drop(done_tx);
        let supervisor = Supervisor {
            stop: Arc::clone(&stop),
            control,
            synced: synced_rx,
            sync_names,
            notes: done_rx,
            threads,
            forwarder: Some(forwarder),
            ports: port_names,
            accepted: accepted_rx,
            setup_timeout: config.setup_timeout,
            wait_for_external: config.wait_for_external,
            stop_on_failure: config.stop_on_failure,
            stop_grace: config.stop_grace,
            plugins: metas,
            bus: Arc::clone(&bus_counters),
            started,
        };
        let handle = std::thread::Builder::new()
            .name("ee-supervisor".into())
            .spawn(move || supervisor.run());
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                // The supervisor was moved into the failed spawn and dropped; stopping the
                // context ends every thread it owned.
                stop.stop(false);
                return Err(EngineError::Internal(format!(
                    "could not spawn the supervisor: {e}"
                )));
            }
        };
        Ok(RunningApp {
            publish,
            subscribe,
            externals,
            stop: StopHandle { state: stop },
            supervisor: Some(handle),
            bus: bus_counters,
            counters,
            internal,
        })
    }
}

/// The plugins made ready by `App::start`, in registration order (internal plugins first).
#[derive(Default)]
struct Prepared {
    plugins: Vec<PluginMeta>,
    /// Sync topic -> plugin name.
    sync_names: HashMap<Vec<u8>, String>,
    threads: Vec<PluginThread>,
}

impl Prepared {
    /// Makes a plugin's PUSH and SUB sockets (subscribed, with its sync topic last) and records
    /// it, to run `body` once the gate opens.
    fn add(
        &mut self,
        ctx: &EngineContext,
        config: &EngineConfig,
        max_sockets: usize,
        (name, id, filters): Described,
        counters: Option<Arc<Counters>>,
        body: Body,
    ) -> Result<(), EngineError> {
        let index = self.plugins.len();
        let sync_topic = sync_topic(index);
        let (push, sub) = plugin_sockets(ctx, config, index, &filters, &sync_topic)
            .map_err(|e| setup_error(&name, id, describe_socket_error("socket", e, max_sockets)))?;
        self.sync_names.insert(sync_topic.clone(), name.clone());
        self.plugins.push(PluginMeta {
            name: name.clone(),
            id,
            kind: match body {
                Body::Internal(_) => PluginKind::Internal,
                Body::External { .. } => PluginKind::External,
            },
            counters,
        });
        self.threads.push(PluginThread {
            index,
            name,
            push,
            sub,
            sync_topic,
            body,
        });
        Ok(())
    }
}

fn setup_error(name: &str, id: uuid::Uuid, details: String) -> EngineError {
    EngineError::PluginSetup {
        name: name.to_string(),
        id: id.to_string(),
        details,
    }
}

type Described = (String, uuid::Uuid, Vec<Vec<u8>>);

/// Calls a plugin's name, id and subscriptions methods, catching errors and panics.
fn describe(
    name: impl FnOnce() -> String,
    id: impl FnOnce() -> uuid::Uuid,
    subscriptions: impl FnOnce() -> Result<Vec<Box<dyn crate::events::EventType>>, EngineError>,
) -> Result<Described, EngineError> {
    let name = call_plugin("get_name()", || Ok(name())).map_err(|e| EngineError::PluginSetup {
        name: "?".into(),
        id: "?".into(),
        details: e,
    })?;
    let id = call_plugin("get_id()", || Ok(id())).map_err(|e| EngineError::PluginSetup {
        name: name.clone(),
        id: "?".into(),
        details: e,
    })?;
    let filters = call_plugin("get_subscriptions()", || {
        subscriptions()?
            .iter()
            .map(|s| s.get_filter())
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|e| setup_error(&name, id, e))?;
    Ok((name, id, filters))
}

fn sync_topic(index: usize) -> Vec<u8> {
    format!("\0ee-sync-{index}").into_bytes()
}

/// A plugin's publishing (PUSH) and subscribing (SUB) sockets, subscribed and with the sync topic
/// last.
fn plugin_sockets(
    ctx: &EngineContext,
    config: &EngineConfig,
    index: usize,
    filters: &[Vec<u8>],
    sync_topic: &[u8],
) -> Result<(zmq::Socket, zmq::Socket), zmq::Error> {
    let push = ctx.socket(zmq::PUSH)?;
    push.set_sndhwm(config.high_water_mark)?;
    // Unsent events still reach the bus after the plugin returns.
    push.set_linger(-1)?;
    push.connect(&bus::input_endpoint(index))?;
    let sub = ctx.socket(zmq::SUB)?;
    sub.set_rcvhwm(config.high_water_mark)?;
    sub.set_linger(0)?;
    sub.connect(&bus::output_endpoint(index))?;
    for f in filters {
        sub.set_subscribe(f)?;
    }
    sub.set_subscribe(sync_topic)?;
    Ok((push, sub))
}

/// The ROUTER socket an external plugin's process talks to.
fn external_socket(ctx: &EngineContext, config: &EngineConfig) -> Result<zmq::Socket, zmq::Error> {
    let router = ctx.socket(zmq::ROUTER)?;
    router.set_router_mandatory(true)?;
    router.set_linger(200)?;
    router.set_sndhwm(config.high_water_mark.max(1000))?;
    // No ZMTP heartbeats: with them on, libzmq 4.3.4 aborts the process when a peer whose input
    // is stopped (its requests fill their queue) disconnects: the heartbeat timer writes to a
    // connection already marked broken (`!_io_error`, stream_engine_base.cpp:331; libzmq issue
    // 4841). The kernel's TCP keepalive notices dead peers instead, with no timer in libzmq.
    router.set_heartbeat_ivl(0)?;
    router.set_tcp_keepalive(1)?;
    router.set_tcp_keepalive_idle(10)?;
    router.set_tcp_keepalive_intvl(2)?;
    router.set_tcp_keepalive_cnt(5)?;
    router.set_maxmsgsize(config.frame_limit())?;
    Ok(router)
}

/// ZeroMQ sockets an application of `internal` and `external` plugins may open: per plugin its
/// two sockets and the bus's two; per external plugin its port, a monitor for
/// `wait_for_external` and one for the listener guard (each monitor is two sockets); the bus;
/// the authentication handler; and room for the sockets plugins make themselves on the engine's
/// context.
pub(crate) fn sockets_needed(internal: usize, external: usize) -> usize {
    let plugins = internal + external;
    2 * plugins + bus::sockets_needed(plugins) + 5 * external + 1 + 64
}

/// A socket-creation error, saying which limit it hit when it is `EMFILE`.
fn describe_socket_error(what: &str, e: zmq::Error, max_sockets: usize) -> String {
    if e != zmq::Error::EMFILE {
        return format!("{what}: {e}");
    }
    let limit = zmqx::nofile_limit();
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .ok();
    match (open, limit) {
        (Some(open), Some(limit)) if open + 16 >= limit => format!(
            "{what}: {e}: the process has no file descriptor left ({open} open, RLIMIT_NOFILE \
             {limit}; every ZeroMQ socket and every TCP connection takes one): raise the limit \
             (ulimit -n) or run fewer plugins"
        ),
        _ => format!(
            "{what}: {e}: the context's ZeroMQ socket limit is reached (ZMQ_MAX_SOCKETS \
             {max_sockets}; plugins that make sockets on the engine's context count too)"
        ),
    }
}

/// True for an address only this host can reach (127.0.0.0/8, ::1).
/// Where the raw publish/subscribe ports bind: `bind_address`, or loopback when
/// `require_encryption` is set and `bind_address` is not (they have no authentication).
pub(crate) fn raw_bus_address(config: &EngineConfig) -> String {
    if !config.require_encryption || is_loopback(&config.bind_address) {
        return config.bind_address.clone();
    }
    match config.bind_address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => "::1".into(),
        _ => "127.0.0.1".into(),
    }
}

fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_loopback())
}

fn warn_duplicate_names(metas: &[PluginMeta]) {
    let mut seen = HashMap::new();
    for m in metas {
        if let Some(other) = seen.insert(m.name.as_str(), m.id) {
            warn!(
                "two plugins are called '{}' ({} and {}); reports will be ambiguous",
                m.name, other, m.id
            );
        }
    }
}
