//! The native part of `pyevents`, the Python SDK of event-engine: a thin PyO3 skin over the
//! shared Rust client `event-engine-client`. Python imports it as `pyevents._native`; the public
//! API is the `pyevents` package around it (`python/pyevents`).

#![warn(missing_docs)]

mod convert;
mod errors;
mod event;
mod info;
mod logging;
mod plugin;

use pyo3::prelude::*;

pub use event::Event;
pub use info::{Info, Stats};
pub use plugin::Plugin;

/// The endpoint of TCP `port` on `host` as every SDK spells it (`tcp://[::1]:6000` for IPv6).
#[pyfunction]
fn tcp_endpoint(host: &str, port: u16) -> String {
    event_engine_client::wire::endpoint::tcp(host, port)
}

/// The private native module `pyevents._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The Rust side's log records go to Python's `logging`, under `pyevents`.
    logging::install(m.py())?;
    m.add_class::<Plugin>()?;
    m.add_class::<Event>()?;
    m.add_class::<Info>()?;
    m.add_class::<Stats>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "PROTOCOL_VERSION",
        event_engine_client::wire::PROTOCOL_VERSION,
    )?;
    m.add("MAX_BATCH", event_engine_client::wire::MAX_BATCH)?;
    m.add("ERROR_KINDS", errors::kinds_table())?;
    m.add_function(wrap_pyfunction!(tcp_endpoint, m)?)?;
    Ok(())
}
