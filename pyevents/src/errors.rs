//! Client errors as Python exceptions.
//!
//! The exception classes live in Python (`pyevents/errors.py`): `Timeout` must also be a
//! `zmq.error.Again` when pyzmq is importable, which only a class defined at import time in
//! Python can be. This module names the class of each kind of the client's table
//! ([`class_name`]: a kind added there fails this crate's build until it has one), gives the table
//! to Python as `_native.ERROR_KINDS` (from which `errors.py` takes every kind, code and number),
//! and raises the exceptions.

use event_engine_client::{Error, ErrorKind};
use pyo3::exceptions::{PyException, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// The Python module that defines the exception classes.
const ERRORS_MODULE: &str = "pyevents.errors";

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The `pyevents.errors` module (imported once).
fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    let m = MODULE.get_or_try_init(py, || py.import(ERRORS_MODULE).map(Bound::unbind))?;
    Ok(m.bind(py))
}

/// The name of the exception class for each kind of client error.
pub fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "InvalidArgument",
        ErrorKind::Disconnected => "Disconnected",
        ErrorKind::Protocol => "ProtocolError",
        ErrorKind::Interrupted => "Interrupted",
        ErrorKind::Closed => "Closed",
        ErrorKind::UnexpectedReply => "UnexpectedReply",
        ErrorKind::Zmq => "TransportError",
    }
}

/// `_native.ERROR_KINDS`: `(number, kind, code, class name)` for every kind of the client.
pub fn kinds_table() -> Vec<(u32, &'static str, String, &'static str)> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.number(), k.name(), k.code(), class_name(*k)))
        .collect()
}

/// Builds an exception of class `name` from `pyevents.errors`, called with `message` and, for
/// `ProtocolError`, the wire code. If the class cannot be had (a broken install), the error says
/// so instead.
fn raise(py: Python<'_>, name: &str, message: String, wire: Option<(&str, u32)>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = module(py)?.getattr(name)?;
        let kwargs = PyDict::new(py);
        if let Some((code, number)) = wire {
            kwargs.set_item("wire_code", code)?;
            kwargs.set_item("wire_code_number", number)?;
        }
        let value = class.call((message.as_str(),), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    };
    match build() {
        Ok(e) => e,
        // A signal handler raised while the exception was being made (KeyboardInterrupt).
        Err(e) if !e.is_instance_of::<PyException>(py) => e,
        Err(e) => {
            let err = PyRuntimeError::new_err(format!(
                "pyevents: cannot raise {ERRORS_MODULE}.{name} ({message})"
            ));
            err.set_cause(py, Some(e));
            err
        }
    }
}

/// The Python exception for a client error. `Error::Interrupted` becomes `Interrupted`; the
/// caller replaces it with the pending signal's exception (KeyboardInterrupt) when there is one.
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let wire = err.wire_code().map(|c| (c.as_str(), c as u32));
    raise(py, class_name(err.kind()), message, wire)
}

/// `pyevents.Timeout(message)`.
pub fn timeout(py: Python<'_>, message: String) -> PyErr {
    raise(py, "Timeout", message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_class() {
        let names: std::collections::HashSet<_> =
            ErrorKind::ALL.iter().map(|k| class_name(*k)).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert_eq!(
            kinds_table()[1],
            (2, "disconnected", "EE_DISCONNECTED".into(), "Disconnected")
        );
    }
}
