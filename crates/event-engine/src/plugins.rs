//! Plugins are independent components of the application that create and consume events. Plugins can be either
//! internal, meaning they are written in Rust and run within the main application process as a child thread, or
//! external, meaning they run in a separate process from the main application. Internal plugins use an inprocess
//! communication mechanism to publish and subscribe to events, while external plugins communicate with the main
//! application over TCP.
//!
//! The traits are those of event-engine 0.2. Two ready-made implementations save boilerplate:
//! [`FnPlugin`] (an internal plugin from a closure) and [`ExternalPluginSpec`] (an external plugin
//! from its name, port and filters).
use std::sync::Arc;

use crate::{errors::EngineError, events::EventType};
use uuid::Uuid;
use zmq::Socket;

/// Public API for defining the internal plugins. Internal plugins are plugins that run within the main application
/// process in a child thread. In particular, all internal plugins must be written in Rust.
///
/// The engine calls `start` once every plugin's subscriptions are in place (the start barrier), so
/// no plugin misses an event that another plugin publishes from its own `start`.
pub trait Plugin: Sync + Send {
    /// The entry point for the plugin. The engine will start the plugin in its own
    /// thread and execute this function.
    /// the pub_socket is used by the plugin to publish new events (`send` blocks while the bus is full).
    /// the sub_socket is used by the plugin to get events published by other plugins.
    fn start(&self, pub_socket: Socket, sub_socket: Socket) -> Result<(), EngineError>;

    /// Return the event types this plugin subscribes to.
    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError>;

    /// Returns the unique id for this plugin
    fn get_id(&self) -> Uuid;

    /// Returns the name for the plugin
    fn get_name(&self) -> String;

    /// Live counters of the plugin, if it keeps any: read by [`crate::RunningApp::plugin_stats`]
    /// (and `event-engine stats`) from another thread while the plugin runs. `None` (the default)
    /// for plugins that keep none.
    fn stats(&self) -> Option<PluginStats> {
        None
    }
}

/// What an internal plugin reports about itself while it runs ([`Plugin::stats`]).
///
/// ```
/// use event_engine::plugins::PluginStats;
///
/// let s = PluginStats::new("connected").counter("exported", 10).counter("backlog", 0);
/// assert_eq!(s.get("exported"), Some(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginStats {
    /// A word or two on the plugin's state, e.g. `connected` or `reconnecting`.
    pub state: String,
    /// Named counters and gauges, in the order the plugin wants them shown.
    pub counters: Vec<(String, u64)>,
}

impl PluginStats {
    /// Stats in `state`, with no counters yet.
    pub fn new(state: impl Into<String>) -> Self {
        PluginStats {
            state: state.into(),
            counters: Vec::new(),
        }
    }

    /// Adds a counter.
    pub fn counter(mut self, name: impl Into<String>, value: u64) -> Self {
        self.counters.push((name.into(), value));
        self
    }

    /// The value of the counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Public API for defining external plugins. External plugins are plugins that will run in a separate process from the main
/// application process.
/// In particular, all plugins written in languages other than Rust will be external plugins. These external plugins
/// still need to be registered on the main application.
pub trait ExternalPlugin: Send + Sync {
    /// Serves the external plugin protocol (v1 and v2, see `docs/protocol.md`) on `external_socket`
    /// until the plugin process sends `plugin_command: quit`, with the engine's default settings.
    ///
    /// Kept for event-engine 0.2's API: the engine itself does not call it. It reads the plugin's
    /// name, id and subscriptions once when it starts, and runs the protocol's server on its own
    /// thread with them (and with the application's settings), so no method of the plugin is
    /// called twice. `external_socket` is a ROUTER socket bound to the plugin's TCP port (a REQ
    /// client cannot tell it from 0.2's REP socket); `pub_socket` publishes onto the bus and
    /// `sub_socket` receives the plugin's subscriptions.
    fn start(
        &self,
        pub_socket: Socket,
        sub_socket: Socket,
        external_socket: Socket,
    ) -> Result<(), EngineError> {
        let filters = self
            .get_subscriptions()?
            .iter()
            .map(|s| s.get_filter())
            .collect::<Result<Vec<_>, _>>()?;
        let info = crate::external::PluginInfo {
            name: self.get_name(),
            id: self.get_id(),
            filters,
        };
        let served = crate::external::Served::with_defaults(info);
        crate::external::serve(served, pub_socket, sub_socket, external_socket)
    }

    /// the tcp port on which the external plugin will retrieve and publish events (0: any free port).
    fn get_tcp_port(&self) -> i32;

    /// Return the event types this plugin subscribes to.
    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError>;

    /// Returns the unique id for this plugin
    fn get_id(&self) -> Uuid;

    /// Returns the name for the plugin
    fn get_name(&self) -> String;

    /// The credential a process must present to be this plugin (ZAP PLAIN, see
    /// [`crate::auth`]), or `None` (the default, as in 0.2): anyone who can reach the port is
    /// the plugin.
    fn get_token(&self) -> Option<String> {
        None
    }

    /// The CURVE public key (Z85, 40 characters) of the only process that may be this plugin,
    /// or `None` (the default). A port with one is encrypted (CURVE, see [`crate::auth`]) and
    /// needs [`EngineConfig::curve_keys`](crate::EngineConfig::curve_keys).
    fn get_curve_public_key(&self) -> Option<String> {
        None
    }
}

type StartFn = dyn Fn(Socket, Socket) -> Result<(), EngineError> + Send + Sync;

/// An internal plugin made of a name, its filters and a closure.
///
/// ```
/// use event_engine::plugins::FnPlugin;
/// use event_engine::events::Filter;
///
/// let echo = FnPlugin::new("echo", |pub_socket, sub_socket| {
///     let event = sub_socket.recv_bytes(0)?;
///     pub_socket.send([b"Reply".as_slice(), &event[4..]].concat(), 0)?;
///     Ok(())
/// })
/// .subscribe(Filter::new("Ping"));
/// # let _ = echo;
/// ```
pub struct FnPlugin {
    name: String,
    id: Uuid,
    filters: Vec<crate::events::Filter>,
    start: Arc<StartFn>,
}

impl FnPlugin {
    /// A plugin called `name` whose `start` is `f`.
    pub fn new<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Socket, Socket) -> Result<(), EngineError> + Send + Sync + 'static,
    {
        FnPlugin {
            name: name.into(),
            id: Uuid::new_v4(),
            filters: Vec::new(),
            start: Arc::new(f),
        }
    }

    /// Adds a subscription.
    pub fn subscribe(mut self, filter: crate::events::Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Sets the id (a random v4 UUID by default).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }
}

impl Plugin for FnPlugin {
    fn start(&self, pub_socket: Socket, sub_socket: Socket) -> Result<(), EngineError> {
        (self.start)(pub_socket, sub_socket)
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(self.filters.iter().cloned().map(|f| f.boxed()).collect())
    }

    fn get_id(&self) -> Uuid {
        self.id
    }

    fn get_name(&self) -> String {
        self.name.clone()
    }
}

/// An external plugin described by its name, TCP port and filters: what the CLI and the C API
/// register, and what most applications need.
///
/// ```
/// use event_engine::plugins::{ExternalPlugin, ExternalPluginSpec};
/// use event_engine::events::Filter;
///
/// let py = ExternalPluginSpec::new("classifier", 6000)
///     .subscribe(Filter::new("Frame"))
///     .subscribe(Filter::bytes("ctrl", [0x01, 0x00]));
/// assert_eq!(py.get_tcp_port(), 6000);
/// assert_eq!(py.get_subscriptions().unwrap().len(), 2);
/// ```
#[derive(Clone)]
pub struct ExternalPluginSpec {
    name: String,
    id: Uuid,
    port: i32,
    filters: Vec<crate::events::Filter>,
    token: Option<String>,
    curve_public_key: Option<String>,
}

impl std::fmt::Debug for ExternalPluginSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalPluginSpec")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("port", &self.port)
            .field("filters", &self.filters)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("curve_public_key", &self.curve_public_key)
            .finish()
    }
}

impl ExternalPluginSpec {
    /// A plugin called `name` served on TCP `port` (0: any free port, read back from the running app).
    pub fn new(name: impl Into<String>, port: i32) -> Self {
        ExternalPluginSpec {
            name: name.into(),
            id: Uuid::new_v4(),
            port,
            filters: Vec::new(),
            token: None,
            curve_public_key: None,
        }
    }

    /// Adds a subscription.
    pub fn subscribe(mut self, filter: crate::events::Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Sets the id (a random v4 UUID by default).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// Admits to the plugin's port only a process that presents `token` (see [`crate::auth`]; a
    /// fresh one from [`crate::auth::new_token`]). The plugin's process passes it to its client
    /// (`EE_PLUGIN_TOKEN` in its environment, or the SDK's `token` option); any other
    /// connection is refused at the handshake. `App::start` fails if the token is not 16 to 255
    /// printable ASCII bytes.
    ///
    /// ```
    /// use event_engine::plugins::{ExternalPlugin, ExternalPluginSpec};
    ///
    /// let token = event_engine::auth::new_token().unwrap();
    /// let py = ExternalPluginSpec::new("classifier", 0).with_token(token.clone());
    /// assert_eq!(py.get_token(), Some(token));
    /// assert!(!format!("{py:?}").contains(&py.get_token().unwrap()));
    /// ```
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Admits to the plugin's port only a process that holds the CURVE secret key of `key` (its
    /// public key, Z85, 40 characters), and encrypts all it exchanges with it (see
    /// [`crate::auth`]). The engine's key pair is
    /// [`EngineConfig::curve_keys`](crate::EngineConfig::curve_keys); the plugin's process
    /// connects with the engine's public key and its own key pair (`EE_ENGINE_PUBLIC_KEY` and
    /// `EE_PLUGIN_SECRET_KEY` in its environment, or the SDK's `curve` option). `App::start`
    /// fails if the key is not one, if the plugin also has a token, or in a build without CURVE.
    ///
    /// ```
    /// use event_engine::plugins::{ExternalPlugin, ExternalPluginSpec};
    ///
    /// let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    /// let py = ExternalPluginSpec::new("classifier", 0).with_curve_public_key(key);
    /// assert_eq!(py.get_curve_public_key().as_deref(), Some(key));
    /// ```
    pub fn with_curve_public_key(mut self, key: impl Into<String>) -> Self {
        self.curve_public_key = Some(key.into());
        self
    }
}

impl ExternalPlugin for ExternalPluginSpec {
    fn get_tcp_port(&self) -> i32 {
        self.port
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(self.filters.iter().cloned().map(|f| f.boxed()).collect())
    }

    fn get_id(&self) -> Uuid {
        self.id
    }

    fn get_name(&self) -> String {
        self.name.clone()
    }

    fn get_token(&self) -> Option<String> {
        self.token.clone()
    }

    fn get_curve_public_key(&self) -> Option<String> {
        self.curve_public_key.clone()
    }
}
