//! The client of the event-engine external-plugin protocol, and the core of every SDK: the one
//! implementation that the Python, Node.js and C SDKs wrap.
//!
//! Everything an SDK has to decide is decided here, once; a binding only translates types,
//! errors and blocking into its language:
//!
//! * where to connect: [`Target`] (port, host, endpoint, IPv6) and the launch environment that
//!   `event-engine run` sets ([`launch`]), by one precedence rule;
//! * what its arguments may be: time-outs, settings and counts in the binding's unit
//!   ([`options`], [`ClientOptions::validate`]);
//! * how many events go in one request ([`batch`]: [`Client::publish_many`]);
//! * the table of error kinds, numbers, names and codes ([`ErrorKind`]).
//!
//! A [`Client`] talks to one external plugin's port on an engine. It speaks protocol v2
//! (`docs/protocol.md`): batched receive with a server-side time-out, batched publish, and
//! at-least-once delivery (every consuming request acknowledges, by sequence number, what the
//! application has processed; after a crash the engine delivers the rest again). Its blocking
//! calls can be interrupted ([`CancelToken`], or an `interrupted` callback), and a request never
//! leaves the connection unusable: a lost reply means a fresh connection and a retry.
//!
//! ```no_run
//! use std::time::Duration;
//! use event_engine_client::{Client, Error};
//!
//! let mut plugin = Client::connect("tcp://127.0.0.1:6000")?;
//! let info = plugin.hello()?;
//! println!("I am {} and receive {:?}", info.name, info.subscriptions);
//! loop {
//!     let batch = plugin.next_batch(100, Some(Duration::from_millis(500)))?;
//!     if batch.is_empty() {
//!         break;
//!     }
//!     let replies: Vec<Vec<u8>> = batch.iter().map(|e| [b"Ack".as_slice(), &e.data].concat()).collect();
//!     plugin.publish_batch(&replies)?;
//! }
//! plugin.quit()?;
//! # Ok::<(), Error>(())
//! ```

#![warn(missing_docs)]

pub mod batch;
mod client;
pub mod curve;
mod error;
pub mod launch;
pub mod options;
mod target;
mod token;
/// The wire format of the plugin protocol: the `event-engine-protocol` crate (also
/// `event_engine::wire`).
pub use event_engine_protocol as wire;

pub use batch::PublishError;
pub use client::{
    CancelToken, Client, ClientOptions, Event, InterruptCheck, OwnedEvent, Protocol,
    DEFAULT_MAX_BATCH_BYTES,
};
pub use curve::Curve;
pub use error::{Error, ErrorKind, Refusal, Result};
pub use launch::LaunchEnv;
pub use target::Target;
pub use token::Token;
pub use wire::{Hello, Stats};
