//! `pyevents.Event`: one event received from the engine.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Longest part of an event's bytes shown by `repr()`.
const REPR_BYTES: usize = 48;

/// An event received from the engine: its bytes (filter first), its sequence number, and
/// whether the engine delivered it before.
#[pyclass(module = "pyevents._native", frozen)]
pub struct Event {
    seq: u64,
    data: Py<PyBytes>,
    redelivered: bool,
}

impl Event {
    /// Wraps an event received in its ZeroMQ message: one Python `bytes` built straight from
    /// the message (the only copy of its bytes on this side).
    pub fn from_owned(py: Python<'_>, e: event_engine_client::OwnedEvent) -> Event {
        Event {
            seq: e.seq,
            data: PyBytes::new(py, e.data()).unbind(),
            redelivered: e.redelivered,
        }
    }

    /// The event's bytes.
    pub fn data_ref<'py>(&self, py: Python<'py>) -> &Bound<'py, PyBytes> {
        self.data.bind(py)
    }
}

#[pymethods]
impl Event {
    /// Makes an event (for tests and replays; the engine's events come from `Plugin`).
    #[new]
    #[pyo3(signature = (data, seq = 0, redelivered = false))]
    fn new(data: Bound<'_, PyBytes>, seq: u64, redelivered: bool) -> Event {
        Event {
            seq,
            data: data.unbind(),
            redelivered,
        }
    }

    /// The sequence number the engine gave the event for this plugin (1, 2, ...); the same on
    /// every redelivery.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// The event's bytes, its filter first.
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data.clone_ref(py)
    }

    /// True when the engine delivered this event before (to a client that crashed or lost the
    /// reply): the plugin may have acted on it already.
    #[getter]
    fn redelivered(&self) -> bool {
        self.redelivered
    }

    fn __bytes__(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data.clone_ref(py)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.data.bind(py).as_bytes().len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let bytes = self.data.bind(py).as_bytes();
        let shown = &bytes[..bytes.len().min(REPR_BYTES)];
        let mut text = String::from("b'");
        for b in shown.iter().flat_map(|b| std::ascii::escape_default(*b)) {
            text.push(char::from(b));
        }
        if bytes.len() > REPR_BYTES {
            text.push_str("'...");
        } else {
            text.push('\'');
        }
        format!(
            "Event(seq={}, data={text}, redelivered={})",
            self.seq,
            if self.redelivered { "True" } else { "False" }
        )
    }
}
