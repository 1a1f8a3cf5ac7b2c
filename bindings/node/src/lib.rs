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
pub mod kinds;
pub mod options;
pub mod plugin;
pub mod reply;
pub mod task;

use napi_derive::napi;

/// Largest batch of one receive (the protocol's `max_batch`, 65536).
#[napi]
pub const MAX_BATCH: u32 = event_engine_client::wire::MAX_BATCH;

/// Checks a batch size by the SDK core's rule (a whole number from 1 to 65536) and returns it;
/// throws an `EE_INVALID_ARGUMENT` error naming `name` otherwise.
#[napi]
pub fn check_batch_size(env: napi::Env, value: f64, name: String) -> napi::Result<u32> {
    event_engine_client::options::whole(&name, value, 1, u64::from(MAX_BATCH))
        .map(|n| n as u32)
        .map_err(|e| error::to_js_error(&env, &e))
}

/// Checks a receive time-out in milliseconds by the SDK core's rule and returns it, or `null`
/// for no limit (`undefined`, `null`, `Infinity`, or 10^12 and more); throws an
/// `EE_INVALID_ARGUMENT` error for a negative number or NaN.
#[napi]
pub fn check_timeout(env: napi::Env, ms: Option<f64>) -> napi::Result<Option<f64>> {
    options::timeout(ms)
        .map(|t| t.map(|d| d.as_secs_f64() * 1000.0))
        .map_err(|e| error::to_js_error(&env, &e))
}
