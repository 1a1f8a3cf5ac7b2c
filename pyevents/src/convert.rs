//! Python arguments to the client's types: time-outs in seconds, and events as bytes.

use std::time::Duration;

use event_engine_client::options::{self, Unit};
use event_engine_client::Error;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyInt, PyString};

/// A time-out in seconds (`None`: no limit) as the client's `Option<Duration>`, by the SDK
/// core's rule (negative and NaN refused; infinity and absurdly long waits mean no limit).
pub fn timeout_from_secs(secs: Option<f64>) -> Result<Option<Duration>, Error> {
    options::timeout("timeout", secs, Unit::Seconds)
}

/// A setting in seconds, by the SDK core's rule.
pub fn duration_from_secs(name: &str, secs: f64) -> Result<Duration, Error> {
    options::duration(name, secs, Unit::Seconds)
}

/// The bytes of one event, borrowed from Python when possible.
pub enum EventBytes {
    /// A `bytes` object (shared, no copy); a `bytearray` (copied); any other object with the
    /// buffer protocol (memoryview, array, NumPy array), copied once by `bytes()`. (Reading a
    /// buffer in place needs the buffer protocol, which the abi3-py39 limited API lacks.)
    Backed(PyBackedBytes),
}

impl AsRef<[u8]> for EventBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            EventBytes::Backed(b) => b,
        }
    }
}

/// Extracts an event: any bytes-like object. `str` is refused (encode it: the engine routes
/// bytes), and so is `int` (which `bytes()` would turn into zeros).
pub fn event_bytes(obj: &Bound<'_, PyAny>) -> PyResult<EventBytes> {
    if let Ok(b) = obj.extract::<PyBackedBytes>() {
        return Ok(EventBytes::Backed(b));
    }
    let type_name = || {
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into())
    };
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "an event is bytes, not str: encode it first, e.g. 'TypeA...'.encode()",
        ));
    }
    if obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "an event is bytes-like, not {}",
            type_name()
        )));
    }
    // memoryview, array.array, numpy arrays...: whatever bytes() accepts as a buffer.
    match obj.py().get_type::<PyBytes>().call1((obj,)) {
        Ok(b) => Ok(EventBytes::Backed(b.extract::<PyBackedBytes>()?)),
        Err(_) => Err(PyTypeError::new_err(format!(
            "an event is bytes-like, not {}",
            type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_the_core_in_seconds() {
        assert_eq!(timeout_from_secs(None).ok(), Some(None));
        assert_eq!(
            timeout_from_secs(Some(0.25)).ok(),
            Some(Some(Duration::from_millis(250)))
        );
        assert_eq!(timeout_from_secs(Some(f64::INFINITY)).ok(), Some(None));
        assert!(timeout_from_secs(Some(-0.5)).is_err());
        let e = duration_from_secs("long_poll", -1.0).unwrap_err();
        assert!(e.to_string().contains("long_poll"), "{e}");
        assert!(duration_from_secs("x", f64::INFINITY).is_err());
    }
}
