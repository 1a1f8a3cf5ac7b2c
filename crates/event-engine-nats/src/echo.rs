//! Recognising imported events when the bus hands them back to the bridge.
//!
//! The bridge subscribes to the filters it exports, so an imported event that matches one comes
//! back to it from the bus, like every event a plugin publishes on a filter it subscribes to.
//! The bridge records each such event (a 64-bit keyed hash of its bytes, and its length) before
//! publishing it; an event received from the bus that matches a record consumes the record and
//! is not exported.
//!
//! This is sound without knowing who published what: the bus delivers each imported event back
//! exactly once, so for every distinct byte string the bridge exports (received − imported)
//! copies, which is the number that local plugins published. When a plugin publishes the same
//! bytes as an imported event at the same time, the copy suppressed may be the plugin's and the
//! one exported the imported one: the bytes on NATS are the same either way. It needs no
//! ordering between plugins, so it holds whatever the forwarder does.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

/// Imported events on their way round the bus.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    hasher: RandomState,
    outstanding: Mutex<HashMap<(u64, usize), u32>>,
}

impl Imported {
    fn key(&self, event: &[u8]) -> (u64, usize) {
        (self.hasher.hash_one(event), event.len())
    }

    /// Records an event about to be published on the bus.
    pub fn record(&self, event: &[u8]) {
        let key = self.key(event);
        if let Ok(mut m) = self.outstanding.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// Forgets a record made for an event that was not published after all.
    pub fn forget(&self, event: &[u8]) {
        self.take(event);
    }

    /// True (and the record consumed) when `event` is an imported one coming back.
    pub fn take(&self, event: &[u8]) -> bool {
        let key = self.key(event);
        let Ok(mut m) = self.outstanding.lock() else {
            return false;
        };
        match m.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                m.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Records outstanding (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.outstanding
            .lock()
            .map(|m| m.values().map(|v| *v as usize).sum())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_suppresses_one_copy() {
        let i = Imported::default();
        i.record(b"TypeA1");
        i.record(b"TypeA1");
        assert!(!i.take(b"TypeA2"));
        assert!(i.take(b"TypeA1"));
        assert!(i.take(b"TypeA1"));
        assert!(!i.take(b"TypeA1"));
        assert_eq!(i.len(), 0);
    }
}
