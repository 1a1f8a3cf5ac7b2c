//! # event-engine-nats
//!
//! A bridge between an event-engine bus and [NATS](https://nats.io), running inside the engine as
//! an internal plugin. It **exports** the events that match given filters to NATS subjects (one
//! subject per filter, `<subject_prefix>.<filter name>`), and **imports** given subjects onto the
//! bus (with a filter put in front of messages that lack one). Several engines that share a NATS
//! server or cluster share their events this way; MQTT devices reach them through the server's
//! MQTT gateway.
//!
//! * **Delivery.** Core NATS by default (no server set-up; at most once: what is published
//!   while a subscriber is away is lost to it, and an importing bridge counts the gaps), or at
//!   least once through a JetStream stream: exports wait for the stream's acknowledgement and
//!   are retried with the same `Nats-Msg-Id` (the server drops the duplicates); imports read a
//!   durable consumer and acknowledge a message once it is on the bus.
//! * **No loops.** Every message carries the bridge's origin, a run id and a sequence number
//!   per subject, in one header (`Ee-Id: <origin> <run> <seq>`). A bridge never imports its own
//!   messages, never exports an event it imported (see the `echo` module), and skips messages
//!   it already imported.
//! * **When NATS is away** the bridge holds up to `buffer` exported events, then stops reading
//!   the bus, so the publishers of exported events wait (the bus's lossless rule), or, with
//!   [`WhenFull::DropAndCount`], drops and counts. It reconnects by itself; its state, backlog
//!   and counters are in [`BridgeHandle::stats`] and the engine's `RunningApp::plugin_stats`.
//!
//! The NATS client (`async-nats`) and its tokio runtimes run on the bridge's own threads: the
//! bus thread (the plugin's, which reads the events to export), the NATS thread (the
//! connection and the exports, on a current-thread runtime) and the importer thread (the
//! imports, on a runtime of its own, publishing onto the bus). They hand events to each other
//! in batches. Nothing of them reaches the rest of the engine.
//!
//! ```no_run
//! use event_engine::App;
//! use event_engine::events::Filter;
//! use event_engine_nats::NatsBridge;
//!
//! let bridge = NatsBridge::builder("nats")
//!     .server("nats://127.0.0.1:4222")
//!     .subject_prefix("traps.site1")
//!     .export(Filter::new("Detection"))      // -> traps.site1.Detection
//!     .import("traps.cloud.Command")         // messages exported by another engine
//!     .jetstream("TRAPS", "site1")           // stream TRAPS, durable consumers site1_*
//!     .build()
//!     .unwrap();
//! let stats = bridge.handle();
//! let app = App::new(0, 0).with_plugin(bridge).start().unwrap();
//! println!("{:?}", stats.stats());
//! # drop(app);
//! ```

mod bridge;
mod budget;
mod config;
mod echo;
mod id;
mod import;
mod link;
mod sequence;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use event_engine::events::Filter;

pub use bridge::NatsBridge;
pub use config::{
    Auth, BridgeConfig, DeliverFrom, Delivery, Export, Import, JetStream, Tls, WhenFull,
};
pub use stats::{BridgeStats, State};

/// The header every exported message carries.
pub mod headers {
    /// `Ee-Id: <origin> <run> <seq>`: the exporting bridge's origin (a bridge skips messages
    /// with its own), its run (a random id per start) and the message's number in that run and
    /// subject (1, 2, ...), with which importers count losses and drop duplicates.
    pub const ID: &str = "Ee-Id";
}

/// A bridge that cannot be built or run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A setting is wrong; the message names it.
    #[error("{0}")]
    Config(String),
}

/// Reads a running bridge's counters from any thread ([`NatsBridge::handle`]).
#[derive(Clone)]
pub struct BridgeHandle {
    shared: Arc<bridge::Shared>,
}

impl BridgeHandle {
    /// The state and counters right now.
    pub fn stats(&self) -> BridgeStats {
        self.shared.snapshot()
    }

    /// The origin this bridge puts on its messages.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }
}

impl std::fmt::Debug for BridgeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeHandle")
            .field("name", &self.shared.config.name)
            .field("origin", &self.shared.origin)
            .finish()
    }
}

/// Builds a [`NatsBridge`]; every setting has a default but at least one export or import.
///
/// ```
/// use std::time::Duration;
/// use event_engine::events::Filter;
/// use event_engine_nats::{NatsBridge, WhenFull};
///
/// let bridge = NatsBridge::builder("uplink")
///     .servers(["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"])
///     .user_password("site1", "secret")
///     .require_tls()
///     .subject_prefix("traps.site1")
///     .export(Filter::new("Detection"))
///     .export_to(Filter::bytes("status", [0x01, 0x00]), "traps.site1.status")
///     .import_with_prefix("traps.site1.cmd", "Command")
///     .buffer(50_000)
///     .when_full(WhenFull::DropAndCount)
///     .drain_timeout(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// assert_eq!(bridge.config().exports.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct BridgeBuilder {
    config: BridgeConfig,
}

impl BridgeBuilder {
    /// Adds a server URL (`nats://host:port`, `tls://host:port`); default `nats://127.0.0.1:4222`.
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.config.servers.push(url.into());
        self
    }

    /// Adds several server URLs (the members of a cluster).
    pub fn servers<S: Into<String>>(mut self, urls: impl IntoIterator<Item = S>) -> Self {
        self.config.servers.extend(urls.into_iter().map(Into::into));
        self
    }

    /// Sets the prefix of export subjects: `traps.site1` exports filter `Detection` to
    /// `traps.site1.Detection`.
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.subject_prefix = prefix.into();
        self
    }

    /// Exports the events that start with `filter` to `<subject_prefix>.<filter name>`.
    pub fn export(mut self, filter: Filter) -> Self {
        self.config.exports.push(Export {
            filter,
            subject: None,
        });
        self
    }

    /// Exports the events that start with `filter` to `subject`.
    pub fn export_to(mut self, filter: Filter, subject: impl Into<String>) -> Self {
        self.config.exports.push(Export {
            filter,
            subject: Some(subject.into()),
        });
        self
    }

    /// Imports `subject` (wildcards allowed); its messages already start with their filter (they
    /// were exported by another engine).
    pub fn import(self, subject: impl Into<String>) -> Self {
        self.import_with_prefix(subject, Vec::new())
    }

    /// Imports `subject`, putting `prefix` (a filter) in front of every message's payload.
    pub fn import_with_prefix(
        mut self,
        subject: impl Into<String>,
        prefix: impl Into<Vec<u8>>,
    ) -> Self {
        self.config.imports.push(Import {
            subject: subject.into(),
            prefix: prefix.into(),
        });
        self
    }

    /// Delivers at least once through JetStream stream `stream` (created when missing), with
    /// durable consumers named after `durable` (unique to this engine).
    pub fn jetstream(mut self, stream: impl Into<String>, durable: impl Into<String>) -> Self {
        let mut js = JetStream::new(stream);
        js.durable = Some(durable.into());
        self.config.delivery = Delivery::JetStream(js);
        self
    }

    /// Sets every JetStream setting.
    pub fn jetstream_config(mut self, js: JetStream) -> Self {
        self.config.delivery = Delivery::JetStream(js);
        self
    }

    /// Sets how many exported events the bridge holds while NATS is away or slow (default
    /// 10 000).
    pub fn buffer(mut self, events: usize) -> Self {
        self.config.buffer = events;
        self
    }

    /// Sets what happens when the buffer is full (default: the bus waits).
    pub fn when_full(mut self, mode: WhenFull) -> Self {
        self.config.when_full = mode;
        self
    }

    /// Authenticates with a token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.auth = Auth::Token(token.into());
        self
    }

    /// Authenticates with a user name and password.
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.auth = Auth::UserPassword(user.into(), password.into());
        self
    }

    /// Authenticates with an NKey seed.
    pub fn nkey(mut self, seed: impl Into<String>) -> Self {
        self.config.auth = Auth::NKey(seed.into());
        self
    }

    /// Authenticates with a `.creds` file.
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.auth = Auth::CredentialsFile(path.into());
        self
    }

    /// Trusts the certificate authority in this PEM file (and requires TLS).
    pub fn tls_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.tls.ca_files.push(path.into());
        self.config.tls.required = true;
        self
    }

    /// Presents this client certificate and key (PEM files; requires TLS).
    pub fn tls_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.config.tls.client_cert = Some((cert.into(), key.into()));
        self.config.tls.required = true;
        self
    }

    /// Refuses servers that do not offer TLS.
    pub fn require_tls(mut self) -> Self {
        self.config.tls.required = true;
        self
    }

    /// Sets the origin put on this bridge's messages (see [`BridgeConfig::origin`]).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.config.origin = Some(origin.into());
        self
    }

    /// Sets how long a stopping bridge keeps trying to publish what it holds (default 5 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.drain_timeout = timeout;
        self
    }

    /// Sets the time-out of a connection attempt and of a JetStream acknowledgement (default
    /// 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Checks the settings and makes the bridge.
    pub fn build(self) -> Result<NatsBridge, BridgeError> {
        NatsBridge::new(self.config)
    }
}
