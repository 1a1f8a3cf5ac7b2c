//! Python arguments to the client's types: time-outs in seconds, and events as bytes.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyInt, PyString};

/// Longer waits than this (about 31 years) mean "for ever"; it also keeps `Instant + timeout`
/// far from overflowing.
const FOREVER_SECS: f64 = 1e9;

/// Why a time-out was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTimeout(pub String);

/// A time-out in seconds (`None`: no limit) as the client's `Option<Duration>`.
///
/// Negative and NaN values are refused; infinity and absurdly long waits mean no limit.
pub fn timeout_from_secs(secs: Option<f64>) -> Result<Option<Duration>, BadTimeout> {
    let Some(s) = secs else {
        return Ok(None);
    };
    if s.is_nan() {
        return Err(BadTimeout(
            "timeout must be a number of seconds, not NaN".into(),
        ));
    }
    if s < 0.0 {
        return Err(BadTimeout(format!(
            "timeout must be >= 0 seconds or None (no limit), got {s}"
        )));
    }
    if s >= FOREVER_SECS {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(s)))
}

/// A time-out in seconds for the client's options, where `None` is not allowed.
pub fn duration_from_secs(name: &str, secs: f64) -> Result<Duration, BadTimeout> {
    match timeout_from_secs(Some(secs)) {
        Ok(Some(d)) if !d.is_zero() => Ok(d),
        Ok(Some(_)) => Err(BadTimeout(format!("{name} must be longer than 0 seconds"))),
        Ok(None) => Err(BadTimeout(format!(
            "{name} must be shorter than {FOREVER_SECS} seconds"
        ))),
        Err(BadTimeout(m)) => Err(BadTimeout(m.replacen("timeout", name, 1))),
    }
}

/// The bytes of one event, borrowed from Python when possible.
pub enum EventBytes {
    /// A `bytes` (shared, no copy) or `bytearray` (copied) object.
    Backed(PyBackedBytes),
    /// Any other object with the buffer protocol (memoryview, array, numpy array), copied.
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for EventBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            EventBytes::Backed(b) => b,
            EventBytes::Owned(v) => v,
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
        Ok(b) => Ok(EventBytes::Owned(
            b.cast_into::<PyBytes>()?.as_bytes().to_vec(),
        )),
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
    fn timeouts() {
        assert_eq!(timeout_from_secs(None), Ok(None));
        assert_eq!(
            timeout_from_secs(Some(0.25)),
            Ok(Some(Duration::from_millis(250)))
        );
        assert_eq!(timeout_from_secs(Some(0.0)), Ok(Some(Duration::ZERO)));
        assert_eq!(timeout_from_secs(Some(f64::INFINITY)), Ok(None));
        assert_eq!(timeout_from_secs(Some(1e300)), Ok(None));
        assert!(timeout_from_secs(Some(-0.5)).is_err());
        assert!(timeout_from_secs(Some(f64::NAN)).is_err());
        assert!(timeout_from_secs(Some(f64::NEG_INFINITY)).is_err());
    }

    #[test]
    fn option_durations() {
        assert_eq!(
            duration_from_secs("long_poll", 1.0),
            Ok(Duration::from_secs(1))
        );
        let e = duration_from_secs("long_poll", 0.0).unwrap_err();
        assert!(e.0.contains("long_poll"), "{e:?}");
        let e = duration_from_secs("reply_timeout", -1.0).unwrap_err();
        assert!(e.0.starts_with("reply_timeout"), "{e:?}");
        assert!(duration_from_secs("x", f64::INFINITY).is_err());
    }
}
