//! The rules for what an SDK is given: time-outs, settings and counts arrive as numbers in the
//! binding's unit (Python seconds, Node.js and C milliseconds), and are checked and converted
//! here, once, so that the same input gives the same result in every language.
//!
//! * A **time-out of a call** (`timeout`): none, infinity, or anything from [`FOREVER`] up waits
//!   with no limit; a negative number or NaN is an invalid argument; 0 only takes what is there.
//! * A **setting** ([`ClientOptions`]): a finite number from 0 up to [`FOREVER`]; `reply_timeout`,
//!   `poll_slice` and `long_poll` must be longer than 0. `publish_timeout` may also be "no limit".
//! * A **count** (`retries`, a batch's `max`, a port, `max_batch_bytes`): a whole number within
//!   its range (`max_batch_bytes` from 1 to [`MAX_RECV_BYTES`], 1 TiB).
//!
//! ```
//! use std::time::Duration;
//! use event_engine_client::options::{self, Unit};
//!
//! assert_eq!(options::timeout("timeout", Some(250.0), Unit::Millis).unwrap(),
//!            Some(Duration::from_millis(250)));
//! assert_eq!(options::timeout("timeout", Some(f64::INFINITY), Unit::Seconds).unwrap(), None);
//! assert!(options::timeout("timeout", Some(-1.0), Unit::Seconds).is_err());
//! assert_eq!(options::batch_max(100.0).unwrap(), 100);
//! assert!(options::batch_max(65_537.0).is_err());
//! ```

use std::time::Duration;

use crate::client::{ClientOptions, Protocol};
use crate::error::{Error, Result};
use crate::wire::{MAX_BATCH, MAX_RECV_BYTES};

/// The longest duration anything may be set to, about 31.7 years (10^9 s): a time-out at or
/// beyond it means "no limit". It keeps `Instant::now() + duration` far from overflowing.
pub const FOREVER: Duration = Duration::from_secs(1_000_000_000);

/// The unit a binding gives times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds (Node.js, C).
    Millis,
    /// Seconds (Python).
    Seconds,
}

impl Unit {
    fn secs(self, value: f64) -> f64 {
        match self {
            Unit::Millis => value / 1000.0,
            Unit::Seconds => value,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Millis => "milliseconds",
            Unit::Seconds => "seconds",
        }
    }
}

/// How a binding spells the names of options in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// `reply_timeout` (Rust, Python).
    #[default]
    Snake,
    /// `reply_timeout_ms` (C).
    SnakeMs,
    /// `replyTimeoutMs` (Node.js).
    CamelMs,
}

impl Spelling {
    /// The name of option `name` (snake_case, no unit), a duration when `duration` is true.
    pub fn spell(self, name: &str, duration: bool) -> String {
        match self {
            Spelling::Snake => name.to_string(),
            Spelling::SnakeMs if duration => format!("{name}_ms"),
            Spelling::SnakeMs => name.to_string(),
            Spelling::CamelMs => {
                let mut out = String::new();
                let mut upper = false;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                if duration {
                    out.push_str("Ms");
                }
                out
            }
        }
    }
}

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// A time-out of a call, `value` in `unit`: `None`, infinity or anything from [`FOREVER`] up
/// means no limit (`Ok(None)`); negative numbers and NaN are invalid.
pub fn timeout(name: &str, value: Option<f64>, unit: Unit) -> Result<Option<Duration>> {
    let Some(v) = value else {
        return Ok(None);
    };
    if v.is_nan() || v < 0.0 {
        return Err(invalid(format!(
            "{name} must be a number of {} from 0, or no limit (got {v})",
            unit.name()
        )));
    }
    let secs = unit.secs(v);
    if secs >= FOREVER.as_secs_f64() {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// A duration setting, `value` in `unit`: finite, from 0 to [`FOREVER`].
pub fn duration(name: &str, value: f64, unit: Unit) -> Result<Duration> {
    let secs = unit.secs(value);
    if !value.is_finite() || value < 0.0 || secs > FOREVER.as_secs_f64() {
        return Err(invalid(format!(
            "{name} must be a finite number of {} from 0 to {} (got {value})",
            unit.name(),
            match unit {
                Unit::Millis => FOREVER.as_millis() as f64,
                Unit::Seconds => FOREVER.as_secs_f64(),
            }
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A whole number from `min` to `max`.
pub fn whole(name: &str, value: f64, min: u64, max: u64) -> Result<u64> {
    if value.fract() != 0.0 || !(min as f64..=max as f64).contains(&value) {
        return Err(invalid(format!(
            "{name} must be a whole number from {min} to {max} (got {value})"
        )));
    }
    Ok(value as u64)
}

/// The `max` of a receive: a whole number from 1 to the protocol's largest batch.
pub fn batch_max(value: f64) -> Result<usize> {
    whole("max", value, 1, u64::from(MAX_BATCH)).map(|n| n as usize)
}

/// A byte budget ([`ClientOptions::max_batch_bytes`]): a whole number from 1 to
/// [`MAX_RECV_BYTES`], named `name` in the error.
pub fn byte_budget(name: &str, value: f64) -> Result<u64> {
    whole(name, value, 1, MAX_RECV_BYTES)
}

/// A protocol version: 1 ([`Protocol::V1`]) or 2 ([`Protocol::V2`]).
pub fn protocol(version: i64) -> Result<Protocol> {
    match version {
        1 => Ok(Protocol::V1),
        2 => Ok(Protocol::V2),
        other => Err(invalid(format!("protocol must be 1 or 2, got {other}"))),
    }
}

/// A TCP port: a whole number from 1 to 65535.
pub fn port(value: f64) -> Result<u16> {
    whole("port", value, 1, 65_535).map(|n| n as u16)
}

impl ClientOptions {
    /// Checks the options (see the [module](self)): every duration at most [`FOREVER`], and
    /// `reply_timeout`, `poll_slice` and `long_poll` longer than 0. [`Client::connect_with`]
    /// calls it; names in the error are spelled as in Rust and Python.
    ///
    /// [`Client::connect_with`]: crate::Client::connect_with
    pub fn validate(&self) -> Result<()> {
        self.validate_spelled(Spelling::Snake)
    }

    /// [`ClientOptions::validate`], naming the options as `spelling` does.
    pub fn validate_spelled(&self, spelling: Spelling) -> Result<()> {
        if !(1..=MAX_RECV_BYTES).contains(&self.max_batch_bytes) {
            return Err(invalid(format!(
                "{} must be a whole number from 1 to {MAX_RECV_BYTES} (got {})",
                spelling.spell("max_batch_bytes", false),
                self.max_batch_bytes
            )));
        }
        let durations = [
            ("reply_timeout", Some(self.reply_timeout), true),
            ("reconnect_backoff", Some(self.reconnect_backoff), false),
            ("max_backoff", Some(self.max_backoff), false),
            ("publish_timeout", self.publish_timeout, false),
            ("poll_slice", Some(self.poll_slice), true),
            ("long_poll", Some(self.long_poll), true),
        ];
        for (name, value, positive) in durations {
            let Some(d) = value else { continue };
            if d > FOREVER {
                return Err(invalid(format!(
                    "{} must be at most {} s (got {} s)",
                    spelling.spell(name, true),
                    FOREVER.as_secs(),
                    d.as_secs()
                )));
            }
            if positive && d.is_zero() {
                return Err(invalid(format!(
                    "{} must be longer than 0",
                    spelling.spell(name, true)
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn kind<T: std::fmt::Debug>(r: Result<T>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn timeouts() {
        for unit in [Unit::Millis, Unit::Seconds] {
            assert_eq!(timeout("t", None, unit).ok(), Some(None));
            assert_eq!(timeout("t", Some(f64::INFINITY), unit).ok(), Some(None));
            assert_eq!(timeout("t", Some(1e300), unit).ok(), Some(None));
            assert_eq!(
                timeout("t", Some(0.0), unit).ok(),
                Some(Some(Duration::ZERO))
            );
            for bad in [-0.5, f64::NAN, f64::NEG_INFINITY] {
                assert_eq!(
                    kind(timeout("t", Some(bad), unit)),
                    Some(ErrorKind::InvalidArgument)
                );
            }
        }
        assert_eq!(
            timeout("t", Some(250.0), Unit::Millis).ok(),
            Some(Some(Duration::from_millis(250)))
        );
        assert_eq!(
            timeout("t", Some(0.25), Unit::Seconds).ok(),
            Some(Some(Duration::from_millis(250)))
        );
        // The same threshold in both units.
        assert_eq!(timeout("t", Some(1e12), Unit::Millis).ok(), Some(None));
        assert_eq!(timeout("t", Some(1e9), Unit::Seconds).ok(), Some(None));
    }

    #[test]
    fn settings_and_counts() {
        assert_eq!(
            duration("d", 1.5, Unit::Seconds).ok(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(duration("d", 0.0, Unit::Millis).ok(), Some(Duration::ZERO));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 2e12] {
            assert!(duration("d", bad, Unit::Millis).is_err(), "{bad}");
        }
        let e = duration("long_poll", -1.0, Unit::Seconds).unwrap_err();
        assert!(e.to_string().contains("long_poll"), "{e}");
        assert_eq!(whole("n", 3.0, 0, 5).ok(), Some(3));
        for bad in [1.5, -1.0, 6.0, f64::NAN] {
            assert!(whole("n", bad, 0, 5).is_err(), "{bad}");
        }
        assert_eq!(batch_max(65_536.0).ok(), Some(65_536));
        assert!(batch_max(0.0).is_err() && batch_max(1.5).is_err());
        assert_eq!(port(6000.0).ok(), Some(6000));
        assert!(port(0.0).is_err() && port(70_000.0).is_err());
    }

    #[test]
    fn options_are_checked_and_named_as_the_binding_spells_them() {
        assert!(ClientOptions::default().validate().is_ok());
        let zero = ClientOptions {
            reply_timeout: Duration::ZERO,
            ..ClientOptions::default()
        };
        let e = zero.validate().unwrap_err();
        assert!(e.to_string().contains("reply_timeout must"), "{e}");
        let e = zero.validate_spelled(Spelling::CamelMs).unwrap_err();
        assert!(e.to_string().contains("replyTimeoutMs must"), "{e}");
        let e = zero.validate_spelled(Spelling::SnakeMs).unwrap_err();
        assert!(e.to_string().contains("reply_timeout_ms must"), "{e}");
        let huge = ClientOptions {
            max_backoff: Duration::from_millis(u64::MAX),
            ..ClientOptions::default()
        };
        assert_eq!(kind(huge.validate()), Some(ErrorKind::InvalidArgument));
        let fine = ClientOptions {
            reconnect_backoff: Duration::ZERO,
            publish_timeout: None,
            ..ClientOptions::default()
        };
        assert!(fine.validate().is_ok());
        assert_eq!(Spelling::CamelMs.spell("retries", false), "retries");
        for bad in [0, MAX_RECV_BYTES + 1] {
            let o = ClientOptions {
                max_batch_bytes: bad,
                ..ClientOptions::default()
            };
            let e = o.validate_spelled(Spelling::CamelMs).unwrap_err();
            assert!(e.to_string().contains("maxBatchBytes must"), "{e}");
        }
        assert_eq!(byte_budget("b", 1048576.0).ok(), Some(1 << 20));
        assert!(byte_budget("b", 0.0).is_err() && byte_budget("b", 1.5).is_err());
        assert_eq!(Spelling::CamelMs.spell("long_poll", true), "longPollMs");
    }
}
