//! Errors returned by the engine.
//!
//! [`EngineError`] keeps every variant of event-engine 0.2, so application code that builds them
//! (above all [`EngineError::PluginExecutionError`]) compiles unchanged, and adds the errors of
//! the new engine: configuration, barrier time-outs and plugin failures reported by name.

use std::fmt;
use std::time::Duration;

use thiserror::Error;
use uuid::Uuid;

/// EngineError enumerates all possible error types returned by the event-engine framework.
#[derive(Error, Debug)]
pub enum EngineError {
    /// A ZeroMQ call failed (0.2's name; `?` on a `zmq::Result` converts into this variant).
    #[error("ZeroMQ error: {0}")]
    SubSocketCreateError(#[from] zmq::Error),

    /// 0.2: binding the subscribe port failed.
    #[error("Engine could not bind subscription socket to TCP port {0}; details: {1}")]
    SubSocketTCPBindError(String, zmq::Error),

    /// 0.2: binding the inproc subscription endpoint failed.
    #[error("Engine could not bind subscription socket to inproc URL {0}")]
    SubSocketInProcBindError(String),

    /// 0.2: binding the publish port failed.
    #[error("Engine could not bind publish socket to TCP port {0}")]
    PubSocketTCPBindError(String),

    /// 0.2: binding the inproc publish endpoint failed.
    #[error("Engine could not bind publish socket to inproc URL {0}")]
    PubSocketInProcBindError(String),

    /// A plugin failed: plugin name, plugin id, details. Plugins return this from `start()`.
    #[error("Plugin {0} ({1}) aborting, details: {2}")]
    PluginExecutionError(String, String, String),

    /// 0.2: the engine could not create a plugin's publish socket.
    #[error("Engine failed to establish publish socket for plugin: {0}")]
    PluginPubSocketError(Uuid),

    /// 0.2: the engine could not create or bind an external plugin's socket.
    #[error("Engine failed to establish external socket for plugin: {0}; details: {1}")]
    PluginExternalSocketError(Uuid, zmq::Error),

    /// 0.2: the engine could not create a plugin's subscription socket.
    #[error("Engine failed to establish subscription socket for plugin: {0}")]
    PluginSubSocketError(Uuid),

    /// 0.2: setting a subscription filter failed.
    #[error("Engine failed to set subscription bytes filter for event name {0} for plugin: {1}:")]
    PluginSubscriptionError(String, Uuid),

    /// 0.2: a plugin's sync socket failed.
    #[error("Engine failed to establish sync socket for plugin: {0}, port: {1}")]
    PluginSyncSocketError(Uuid, i32),

    /// 0.2: a subscription filter could not be computed.
    #[error("Engine could not set the subscription filter on the socket.")]
    EngineSetSubFilterError(),

    /// 0.2: the incoming socket could not subscribe to everything.
    #[error(
        "Engine could not set the 'all' wildcard filter for its incoming socket; details: {0}"
    )]
    EngineSetSubFilterAllError(zmq::Error),

    /// 0.2: a plugin could not send its ready message.
    #[error("Plugin {0} failed to send the 'ready' sync message")]
    PluginSyncSendError(Uuid),

    /// 0.2: the engine could not create its sync socket.
    #[error("Engine failed to create sync socket")]
    EngineSyncSocketCreateError(),

    /// 0.2: the engine could not bind its sync socket.
    #[error("Engine failed to bind to the sync socket on TCP port {0}; details: {1}")]
    EngineSyncSocketTCPBindError(i32, zmq::Error),

    /// 0.2: the engine could not bind its inproc sync socket.
    #[error("Engine failed to bind to the sync socket to inproc URL {0}")]
    EngineSyncSocketInprocBindError(String),

    /// 0.2: receiving on the sync socket failed.
    #[error("Engine failed to receive a message on the sync socket; details: {0}")]
    EngineSyncSocketMsgRcvError(zmq::Error),

    /// 0.2: internal sync bookkeeping failed.
    #[error("Engine failed to pop sync socket")]
    EngineSyncSocketPopError(),

    /// 0.2: sending on the sync socket failed.
    #[error("Engine failed to send a message on the sync socket; details: {0}")]
    EngineSyncSocketSendRcvError(zmq::Error),

    /// Receiving on an external plugin's socket failed.
    #[error(
        "Engine failed to receive a message on the external socket; plugin id: {0}; details: {1}"
    )]
    EngineExtSocketRcvError(Uuid, zmq::Error),

    /// Receiving an event for an external plugin failed.
    #[error("Engine failed to receive a message on the sub socket for an external plugin; plugin id: {0}; details: {1}")]
    EngineExtSubSocketRcvError(Uuid, zmq::Error),

    /// Replying to an external plugin failed.
    #[error("Engine failed to send a message on the external socket for an external plugin; plugin id: {0}; details: {1}")]
    EngineExtSocketSendError(Uuid, zmq::Error),

    /// Publishing an external plugin's event failed.
    #[error("Engine failed to send a message on the pub socket for an external plugin; plugin id: {0}; details: {1}")]
    EngineExtPubSocketSendError(Uuid, zmq::Error),

    // ----- errors of the 0.3 engine -----
    /// The application's configuration is invalid (what and why).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A socket could not be bound to an endpoint.
    #[error("could not bind the {what} to {endpoint}: {source}")]
    Bind {
        /// Which socket, e.g. "publish port" or "port of external plugin 'py'".
        what: String,
        /// The endpoint that was tried.
        endpoint: String,
        /// The ZeroMQ error (EADDRINUSE when the port is taken).
        source: zmq::Error,
    },

    /// A plugin could not be prepared (its name, id or subscriptions failed, or a socket did).
    #[error("plugin {name} ({id}) could not be set up: {details}")]
    PluginSetup {
        /// The plugin's name.
        name: String,
        /// The plugin's id.
        id: String,
        /// What failed.
        details: String,
    },

    /// The start barrier did not complete: some plugins' subscriptions never reached the bus.
    #[error("start barrier timed out after {timeout:?}; still waiting for: {waiting_for:?}")]
    BarrierTimeout {
        /// How long the engine waited.
        timeout: Duration,
        /// The plugins the barrier was still waiting for.
        waiting_for: Vec<String>,
    },

    /// `wait_for_external_plugins` ran out of time before every external process connected.
    #[error("external plugins did not connect within {timeout:?}: {missing:?}")]
    ExternalPluginsNotConnected {
        /// How long the engine waited.
        timeout: Duration,
        /// Name and port of every plugin no process connected to.
        missing: Vec<String>,
    },

    /// One or more plugins returned an error or panicked; each is named.
    #[error("{}", PluginFailure::list(.0))]
    PluginsFailed(Vec<PluginFailure>),

    /// An engine thread failed (a bug or a resource problem, not a plugin's fault).
    #[error("engine internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The ZeroMQ error inside, if this error carries one.
    pub fn zmq_error(&self) -> Option<zmq::Error> {
        use EngineError::*;
        match self {
            SubSocketCreateError(e)
            | SubSocketTCPBindError(_, e)
            | PluginExternalSocketError(_, e)
            | EngineSetSubFilterAllError(e)
            | EngineSyncSocketTCPBindError(_, e)
            | EngineSyncSocketMsgRcvError(e)
            | EngineSyncSocketSendRcvError(e)
            | EngineExtSocketRcvError(_, e)
            | EngineExtSubSocketRcvError(_, e)
            | EngineExtSocketSendError(_, e)
            | EngineExtPubSocketSendError(_, e)
            | Bind { source: e, .. } => Some(*e),
            _ => None,
        }
    }

    /// True when this error only says the engine shut the plugin's sockets down (`ETERM`): the
    /// plugin was stopped, it did not fail.
    pub fn is_stop(&self) -> bool {
        self.zmq_error() == Some(zmq::Error::ETERM)
    }
}

/// How a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// `start()` returned `Err`.
    Error,
    /// `start()` (or another plugin method) panicked.
    Panic,
    /// `start()` did not return within the grace period after the engine stopped (a plugin that
    /// retries for ever on errors); its thread was left running.
    DidNotReturn,
}

/// One failed plugin: who, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    /// The plugin's name.
    pub name: String,
    /// The plugin's id.
    pub id: String,
    /// Returned an error, or panicked.
    pub kind: FailureKind,
    /// The error's or the panic's message.
    pub details: String,
}

impl PluginFailure {
    fn list(failures: &[PluginFailure]) -> String {
        let parts: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        format!("{} plugin(s) failed: {}", failures.len(), parts.join("; "))
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.kind {
            FailureKind::Error => "returned an error",
            FailureKind::Panic => "panicked",
            FailureKind::DidNotReturn => "did not return",
        };
        write!(
            f,
            "plugin {} ({}) {how}: {}",
            self.name, self.id, self.details
        )
    }
}
