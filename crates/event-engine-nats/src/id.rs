//! The one header every exported message carries, `Ee-Id: <origin> <run> <seq>`: who exported
//! it (a bridge skips messages with its own origin), in which run (a random id per start), and
//! its number in that run on its subject (1, 2, ...: what importers count losses and drop
//! duplicates with).
//!
//! One header rather than three: every header is a map entry and two allocations for each
//! client that sends or receives the message, and at 100-byte events three headers cost every
//! consumer about a third more CPU per message than one (`ee-bench --only nats`).

use std::fmt::Write;

use async_nats::header::{HeaderName, HeaderValue};
use async_nats::HeaderMap;

use crate::headers;

static ID: HeaderName = HeaderName::from_static(headers::ID);

/// Writes the header of one bridge run.
pub(crate) struct Stamp {
    /// `<origin> <run> `.
    prefix: String,
}

impl Stamp {
    pub fn new(origin: &str, run: &str) -> Stamp {
        Stamp {
            prefix: format!("{origin} {run} "),
        }
    }

    /// The headers of message `seq`.
    pub fn headers(&self, seq: u64) -> HeaderMap {
        let mut value = String::with_capacity(self.prefix.len() + 20);
        value.push_str(&self.prefix);
        let _ = write!(value, "{seq}");
        let mut h = HeaderMap::new();
        h.insert(ID.clone(), HeaderValue::from(value));
        h
    }
}

/// A message's origin, run and number, when it has a well-formed `Ee-Id`.
pub(crate) fn read(headers: &HeaderMap) -> Option<(&str, &str, u64)> {
    let value = headers.get(ID.clone())?.as_str();
    // From the right: the origin is the rest, whatever it holds.
    let mut parts = value.rsplitn(3, ' ');
    let seq = parts.next()?.parse().ok()?;
    let run = parts.next()?;
    let origin = parts.next()?;
    Some((origin, run, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_read_back() {
        let stamp = Stamp::new("site 1", "0a1b2c3d");
        let h = stamp.headers(42);
        assert_eq!(
            h.get(headers::ID).map(|v| v.as_str()),
            Some("site 1 0a1b2c3d 42")
        );
        assert_eq!(read(&h), Some(("site 1", "0a1b2c3d", 42)));
    }

    #[test]
    fn malformed_ids_are_no_ids() {
        for v in ["", "x", "origin run", "origin run x", "origin run -1"] {
            let mut h = HeaderMap::new();
            h.insert(headers::ID, v);
            assert_eq!(read(&h), None, "{v:?}");
        }
        assert_eq!(read(&HeaderMap::new()), None);
    }
}
