//! The bound on exported events held by the bridge: taken by the bridge's bus thread for each
//! event it reads, given back by the NATS side once NATS has confirmed the event.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
    lock: Mutex<()>,
    room: Condvar,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: AtomicUsize::new(0),
            lock: Mutex::new(()),
            room: Condvar::new(),
        }
    }

    /// Events held.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    pub fn has_room(&self) -> bool {
        self.used() < self.limit
    }

    /// Takes one place (the caller checked `has_room`; only one thread takes).
    pub fn take(&self) {
        self.used.fetch_add(1, Ordering::SeqCst);
    }

    /// Gives `n` places back.
    pub fn release(&self, n: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            });
        let _g = self.lock.lock();
        self.room.notify_all();
    }

    /// Waits up to `timeout` for room; true when there is some.
    pub fn wait_for_room(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.lock.lock() else {
            return self.has_room();
        };
        if self.has_room() {
            return true;
        }
        let _ = self.room.wait_timeout(guard, timeout);
        self.has_room()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound() {
        let b = Budget::new(2);
        b.take();
        b.take();
        assert!(!b.has_room());
        assert!(!b.wait_for_room(Duration::from_millis(1)));
        b.release(1);
        assert!(b.wait_for_room(Duration::from_millis(1)));
        b.release(5);
        assert_eq!(b.used(), 0);
    }
}
