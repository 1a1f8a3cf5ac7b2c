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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The record of one event: a keyed hash of its bytes, and its length.
pub(crate) type Key = (u64, usize);

/// Imported events on their way round the bus.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    hasher: RandomState,
    outstanding: Mutex<HashMap<Key, u32>>,
    /// Records held (the sum of `outstanding`'s counts): while it is 0, which it always is for a
    /// bridge that only exports, events from the bus are exported without hashing or locking.
    held: AtomicUsize,
}

impl Imported {
    pub fn key(&self, event: &[u8]) -> Key {
        (self.hasher.hash_one(event), event.len())
    }

    /// Records events about to be published on the bus (their keys), under one lock.
    pub fn record(&self, keys: &[Key]) {
        if keys.is_empty() {
            return;
        }
        if let Ok(mut m) = self.outstanding.lock() {
            for k in keys {
                *m.entry(*k).or_default() += 1;
            }
            // Counted under the lock, before the events are published: the bus thread cannot
            // see an event come back while `held` still says 0.
            self.held.fetch_add(keys.len(), Ordering::SeqCst);
        }
    }

    /// Forgets records made for events that were not published after all.
    pub fn forget(&self, keys: &[Key]) {
        if let Ok(mut m) = self.outstanding.lock() {
            for k in keys {
                Self::consume(&mut m, k, &self.held);
            }
        }
    }

    /// For each event, true (and its record consumed) when it is an imported one coming back.
    /// Returns how many were.
    pub fn take_many<'a>(
        &self,
        events: impl Iterator<Item = &'a [u8]>,
        back: &mut Vec<bool>,
    ) -> usize {
        back.clear();
        if self.held.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        let Ok(mut m) = self.outstanding.lock() else {
            return 0;
        };
        let mut n = 0;
        for e in events {
            let b = Self::consume(&mut m, &self.key(e), &self.held);
            n += usize::from(b);
            back.push(b);
        }
        n
    }

    /// True (and the record consumed) when `event` is an imported one coming back.
    #[cfg(test)]
    pub fn take(&self, event: &[u8]) -> bool {
        let mut back = Vec::new();
        self.take_many(std::iter::once(event), &mut back) == 1
    }

    fn consume(m: &mut HashMap<Key, u32>, key: &Key, held: &AtomicUsize) -> bool {
        let found = match m.get_mut(key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                m.remove(key);
                true
            }
            None => false,
        };
        if found {
            held.fetch_sub(1, Ordering::SeqCst);
        }
        found
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
        assert!(!i.take(b"TypeA1"));
        let k = i.key(b"TypeA1");
        i.record(&[k, k]);
        assert!(!i.take(b"TypeA2"));
        assert!(i.take(b"TypeA1"));
        assert!(i.take(b"TypeA1"));
        assert!(!i.take(b"TypeA1"));
        assert_eq!(i.len(), 0);
        i.record(&[k]);
        i.forget(&[k]);
        assert!(!i.take(b"TypeA1"));
    }

    #[test]
    fn a_batch_says_which_events_came_back() {
        let i = Imported::default();
        i.record(&[i.key(b"TypeA1"), i.key(b"TypeA3")]);
        let mut back = Vec::new();
        let events: [&[u8]; 3] = [b"TypeA1", b"TypeA2", b"TypeA3"];
        assert_eq!(i.take_many(events.into_iter(), &mut back), 2);
        assert_eq!(back, [true, false, true]);
        assert_eq!(i.take_many(events.into_iter(), &mut back), 0);
        assert!(back.is_empty(), "nothing held: nothing looked at");
    }
}
