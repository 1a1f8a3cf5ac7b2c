//! The C/C++ API of event-engine: `libevent_engine.so`, `libevent_engine.a` and
//! `include/event_engine.h` (generated from this crate by cbindgen).
//!
//! Two halves, both thin skins over the Rust crates:
//!
//! * **Plugin client** (`ee_client_*`, `ee_event_*`, `ee_batch_*`, `ee_info_*`, `ee_cancel_*`):
//!   an external plugin written in C or C++ talks to the engine through
//!   [`event_engine_client::Client`], the one implementation of the plugin protocol.
//! * **Hosting** (`ee_app_*`, `ee_running_*`, `ee_report_*`, `ee_plugin_ctx_*`): a C or C++
//!   program runs the engine ([`event_engine::App`]), registers external plugins by name, port
//!   and byte-prefix subscriptions, and internal plugins as C callbacks, and reads the report.
//!
//! The conventions (`bindings/c/README.md`): `ee_` prefix, `_t` types, owning handles released
//! by `ee_*_free` (which accepts NULL), every call returns an [`ee_status_t`] (0 = OK) and leaves
//! a message for humans in [`ee_last_error`]. Every entry point catches panics
//! ([`error::guard`]) so none crosses into C, and checks every pointer it is given.
//!
//! The entry points are safe `extern "C"` functions that take raw pointers: their contract
//! (pointers valid for what the documentation says, handles not used after `free`) is the C
//! caller's, written in each function's documentation.
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

pub mod app;
pub mod client;
pub mod error;
pub mod event;
pub mod info;
pub mod plugin;
pub mod report;
pub mod running;
mod util;

pub use error::{ee_last_error, ee_status_str, ee_status_t};
