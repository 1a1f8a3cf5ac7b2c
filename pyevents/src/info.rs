//! `pyevents.Info` (the engine's `hello`) and `pyevents.Stats` (the plugin's counters).

use event_engine_client::wire;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Who this plugin is on the engine, and what the engine supports (protocol `hello`).
#[pyclass(module = "pyevents._native", frozen)]
pub struct Info {
    /// Highest protocol version the engine speaks.
    #[pyo3(get)]
    protocol: u32,
    /// Every protocol version the engine speaks.
    #[pyo3(get)]
    versions: Vec<u32>,
    /// Engine name and version, e.g. `event-engine 0.3.0`.
    #[pyo3(get)]
    engine: String,
    /// The plugin's registered name.
    #[pyo3(get)]
    name: String,
    /// The plugin's registered id (a UUID).
    #[pyo3(get)]
    id: String,
    /// Largest batch the engine accepts (`next_batch`'s `max`, events per `publish_many` round trip).
    #[pyo3(get)]
    max_batch: u32,
    /// Most events the engine holds delivered and not yet acknowledged.
    #[pyo3(get)]
    max_pending: u64,
    subscriptions: Vec<Vec<u8>>,
}

impl From<wire::Hello> for Info {
    fn from(h: wire::Hello) -> Self {
        Info {
            protocol: h.protocol,
            versions: h.versions,
            engine: h.engine,
            name: h.name,
            id: h.id,
            max_batch: h.max_batch,
            max_pending: h.max_pending,
            subscriptions: h
                .subscriptions
                .iter()
                .map(|f| {
                    f.bytes()
                        .or_else(|| f.text.as_ref().map(|t| t.as_bytes().to_vec()))
                        .unwrap_or_default()
                })
                .collect(),
        }
    }
}

#[pymethods]
impl Info {
    /// The plugin's subscription filters, as bytes.
    #[getter]
    fn subscriptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.subscriptions.iter().map(|f| PyBytes::new(py, f)))
    }

    fn __repr__(&self) -> String {
        let subs: Vec<String> = self
            .subscriptions
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        format!(
            "Info(name={:?}, engine={:?}, protocol={}, subscriptions={:?})",
            self.name, self.engine, self.protocol, subs
        )
    }
}

/// This plugin's counters on the engine (protocol `stats`).
#[pyclass(module = "pyevents._native", frozen, get_all)]
#[derive(Clone)]
pub struct Stats {
    /// The plugin's name.
    name: String,
    /// Events handed to a client for the first time.
    delivered: u64,
    /// Events handed to a client again (after a crash or a lost reply).
    redelivered: u64,
    /// Events acknowledged.
    acked: u64,
    /// Events delivered and not yet acknowledged.
    pending: u64,
    /// Events taken off the bus and not yet delivered.
    buffered: u64,
    /// The bytes of the buffered events together (0 from engines before 0.4).
    buffered_bytes: u64,
    /// Events the plugin published.
    published: u64,
    /// Requests the engine answered with an error.
    errors: u64,
    /// Client connections that took the plugin's queue over.
    sessions: u64,
    /// TCP connections open to the plugin's port now.
    connections: u64,
    /// Connections dropped because their unread replies filled their queue.
    dropped_connections: u64,
    /// Connections refused at the handshake: they did not present the plugin's token.
    refused: u64,
}

impl From<wire::Stats> for Stats {
    fn from(s: wire::Stats) -> Self {
        Stats {
            name: s.name,
            delivered: s.delivered,
            redelivered: s.redelivered,
            acked: s.acked,
            pending: s.pending,
            buffered: s.buffered,
            buffered_bytes: s.buffered_bytes,
            published: s.published,
            errors: s.errors,
            sessions: s.sessions,
            connections: s.connections,
            dropped_connections: s.dropped_connections,
            refused: s.refused,
        }
    }
}

impl Stats {
    fn fields(&self) -> [(&'static str, u64); 12] {
        [
            ("delivered", self.delivered),
            ("redelivered", self.redelivered),
            ("acked", self.acked),
            ("pending", self.pending),
            ("buffered", self.buffered),
            ("buffered_bytes", self.buffered_bytes),
            ("published", self.published),
            ("errors", self.errors),
            ("sessions", self.sessions),
            ("connections", self.connections),
            ("dropped_connections", self.dropped_connections),
            ("refused", self.refused),
        ]
    }
}

#[pymethods]
impl Stats {
    /// The counters as a dict (with `name`).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", &self.name)?;
        for (k, v) in self.fields() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let fields: Vec<String> = self
            .fields()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("Stats(name={:?}, {})", self.name, fields.join(", "))
    }
}
