//! The bound on exported events held by the bridge: taken by the bridge's bus thread for each
//! event it reads, given back by the NATS side once NATS has confirmed the event.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
    /// Threads in `wait_for_room`: `release` takes the lock and notifies only when there are
    /// some, so that giving places back costs an atomic operation, not a lock and a wake.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    room: Condvar,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
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

    /// Places free right now.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.used())
    }

    /// Takes `n` places (the caller checked `room`; only one thread takes).
    pub fn take(&self, n: usize) {
        self.used.fetch_add(n, Ordering::SeqCst);
    }

    /// Gives `n` places back.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            });
        // A waiter counts itself before it looks at `used` (both SeqCst): either it sees the
        // places given back, or this sees it and wakes it.
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _g = self.lock.lock();
            self.room.notify_all();
        }
    }

    /// Waits up to `timeout` for room; true when there is some.
    pub fn wait_for_room(&self, timeout: Duration) -> bool {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let room = match self.lock.lock() {
            Ok(guard) if !self.has_room() => {
                let _ = self.room.wait_timeout(guard, timeout);
                self.has_room()
            }
            _ => self.has_room(),
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound() {
        let b = Budget::new(2);
        b.take(1);
        assert_eq!(b.room(), 1);
        b.take(1);
        assert!(!b.has_room());
        assert!(!b.wait_for_room(Duration::from_millis(1)));
        b.release(1);
        assert!(b.wait_for_room(Duration::from_millis(1)));
        b.release(5);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn a_waiter_is_woken_by_a_release() {
        let b = std::sync::Arc::new(Budget::new(1));
        b.take(1);
        let long = Duration::from_secs(60);
        let waiter = {
            let b = std::sync::Arc::clone(&b);
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                (b.wait_for_room(long), t.elapsed())
            })
        };
        // Whether the waiter is already asleep or not, it sees the room, long before its
        // time-out.
        b.release(1);
        let (room, waited) = waiter.join().unwrap();
        assert!(room && waited < long / 2, "{room} after {waited:?}");
    }
}
