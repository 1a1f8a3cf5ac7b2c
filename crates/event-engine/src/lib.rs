//! # Event Engine
//!
//! A framework for event-driven applications built from plugins that talk only through events.
//! An event is a byte string whose first bytes are its type's *filter*; plugins subscribe to the
//! filters they want, and the engine routes events between them over ZeroMQ.
//!
//! * **Internal plugins** ([`plugins::Plugin`]) are Rust threads in the application process.
//! * **External plugins** ([`plugins::ExternalPlugin`]) are separate processes in any language;
//!   each gets an engine thread serving the plugin protocol on its TCP port (`docs/protocol.md`).
//!
//! The bus is lossless: a slow consumer makes publishers wait instead of losing events, and the
//! start barrier holds every plugin until every subscription is in place, so no plugin misses an
//! event published at start-up. `run()` returns when every plugin is done, naming any plugin that
//! failed; the sockets are closed and the ports free by then.
//!
//! This crate is source-compatible with event-engine 0.2: applications change only their
//! `Cargo.toml` (and use `zmq = "0.10"`, re-exported here as [`zmq`]).
//!
//! ```
//! use event_engine::App;
//! use event_engine::events::Filter;
//! use event_engine::plugins::FnPlugin;
//!
//! let producer = FnPlugin::new("producer", |pub_socket, _sub| {
//!     for i in 0..3 {
//!         pub_socket.send(format!("TypeA{i}").as_bytes(), 0)?;
//!     }
//!     Ok(())
//! });
//! let consumer = FnPlugin::new("consumer", |_pub, sub_socket| {
//!     for i in 0..3 {
//!         assert_eq!(sub_socket.recv_bytes(0)?, format!("TypeA{i}").into_bytes());
//!     }
//!     Ok(())
//! })
//! .subscribe(Filter::new("TypeA"));
//!
//! // Port 0: any free port (tests run in parallel).
//! App::new(0, 0).with_plugin(producer).with_plugin(consumer).run().unwrap();
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod errors;
pub mod events;
pub mod plugins;

mod app;
mod bus;
mod config;
mod external;
mod gate;
mod ports;
mod report;
mod running;
mod supervisor;
mod zmqx;

pub use app::App;
pub use config::{AppConfig, EngineConfig, TcpSubscribers, BIND_ADDRESS_ENV, DEFAULT_BIND_ADDRESS};
pub use report::{Outcome, PluginKind, PluginReport, RunReport};
pub use running::{EngineStats, ExternalEndpoint, Phase, RunningApp, StopHandle};

/// The `zmq` crate the engine uses; plugins' sockets are of this version.
pub use zmq;

/// The `uuid` crate of plugin ids.
pub use uuid;

/// The wire format of the plugin protocol: the `event-engine-protocol` crate, shared with the
/// client (`event_engine_client::wire` is the same crate).
pub use event_engine_protocol as wire;
