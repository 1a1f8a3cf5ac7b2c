//! The Node.js SDK of event-engine: a thin napi-rs skin over [`event_engine_client::Client`].
//!
//! This crate builds the native half of the `event-engine` npm package. It exports one class,
//! `NativePlugin`, whose blocking calls run on libuv's thread pool and return Promises; the
//! package's `index.js` wraps it in the public `Plugin` class (call ordering, async iteration,
//! `Error` subclasses). Nothing of the protocol is implemented here: every request goes through
//! the shared Rust client.
//!
//! Rules kept by every function of this crate:
//! * no panic crosses into JavaScript (blocking work runs under `catch_unwind`, and no code
//!   reachable from input or the network unwraps);
//! * errors reach JavaScript as `Error` objects carrying the client's stable `code`, `codeNumber`
//!   and `kind` (see [`error`]).

#![deny(missing_docs)]

pub mod error;
pub mod options;
pub mod plugin;
pub mod reply;
pub mod task;
