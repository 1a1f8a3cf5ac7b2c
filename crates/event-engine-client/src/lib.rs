//! The client of the event-engine external-plugin protocol: the one implementation that the
//! Python, Node.js and C SDKs wrap.
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

mod client;
mod error;
pub mod wire;

pub use client::{CancelToken, Client, ClientOptions, Event, InterruptCheck, Protocol};
pub use error::{Error, ErrorKind, Result};
pub use wire::{Hello, Stats};
