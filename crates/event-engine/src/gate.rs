//! The start gate: plugin threads wait here until the supervisor opens it (start barrier passed)
//! or aborts it (set-up failed or the app was stopped).

use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open,
    Aborted,
}

pub(crate) struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Gate {
            state: Mutex::new(State::Closed),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Only this module holds the lock, and never across code that can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, to: State) {
        let mut s = self.lock();
        if *s == State::Closed {
            *s = to;
        }
        self.changed.notify_all();
    }

    /// Lets every waiting plugin start.
    pub(crate) fn open(&self) {
        self.set(State::Open);
    }

    /// Tells every waiting plugin not to start.
    pub(crate) fn abort(&self) {
        self.set(State::Aborted);
    }

    /// Blocks until the gate opens (true) or is aborted (false).
    pub(crate) fn wait(&self) -> bool {
        let mut s = self.lock();
        while *s == State::Closed {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        *s == State::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waiters_see_open_or_abort_and_the_first_decision_sticks() {
        let g = Arc::new(Gate::new());
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || g.wait())
            })
            .collect();
        g.open();
        g.abort();
        for w in waiters {
            assert!(w.join().unwrap());
        }
        assert!(g.wait());
        let h = Gate::new();
        h.abort();
        h.open();
        assert!(!h.wait());
    }
}
