//! Sequence numbers per origin and subject: what an importing bridge uses to count messages
//! lost on the way (core NATS) and to drop the ones it already imported (JetStream
//! redeliveries).
//!
//! Every exported message carries its bridge's run (a random id per start) and its number (1,
//! 2, ... per subject in that run) in its `Ee-Id` header (the `id` module). Messages may arrive
//! out of order (a retried JetStream publish lands after later ones), so a gap is held as
//! *missing* until the number arrives or the gap is too old to wait for.

use std::collections::{BTreeSet, HashMap};

/// Most numbers held as missing per (run, subject); older ones are counted lost for good.
const MAX_MISSING: usize = 65_536;

/// What a message's sequence number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// New: import it. `skipped` numbers before it have not arrived (yet).
    New { skipped: u64 },
    /// A number that was missing arrived late: import it; one fewer lost when `counted` (it had
    /// been counted as lost).
    Late { counted: bool },
    /// Already imported: skip it.
    Duplicate,
}

#[derive(Debug, Default)]
struct Track {
    /// The first number seen: the ones below it may be from before this bridge listened, or
    /// overtaken by it (a retried publish); they are not counted lost.
    first: u64,
    /// Numbers below `first` that arrived.
    below_first: BTreeSet<u64>,
    highest: u64,
    /// Numbers between `first` and `highest` that have not arrived (counted lost until they do).
    missing: BTreeSet<u64>,
}

/// The tracks of every (origin, run, subject) seen.
#[derive(Debug, Default)]
pub(crate) struct Sequences {
    /// Keyed by origin, run and subject, each followed by a 0 byte.
    tracks: HashMap<Vec<u8>, Track>,
    /// The key being looked up: made here, so that a message of a known track allocates nothing.
    key: Vec<u8>,
}

impl Sequences {
    /// Notes message `seq` of `origin`'s run `run` on `subject`.
    pub fn see(&mut self, origin: &str, run: &str, subject: &str, seq: u64) -> Seen {
        self.key.clear();
        for part in [origin, run, subject] {
            self.key.extend_from_slice(part.as_bytes());
            self.key.push(0);
        }
        if !self.tracks.contains_key(&self.key) {
            self.tracks.insert(self.key.clone(), Track::default());
        }
        let Some(t) = self.tracks.get_mut(&self.key) else {
            return Seen::New { skipped: 0 };
        };
        if t.highest == 0 {
            t.first = seq;
            t.highest = seq;
            return Seen::New { skipped: 0 };
        }
        if seq < t.first {
            if !t.below_first.insert(seq) {
                return Seen::Duplicate;
            }
            if t.below_first.len() > MAX_MISSING {
                t.below_first.pop_first();
            }
            return Seen::Late { counted: false };
        }
        if seq > t.highest {
            let skipped = seq - t.highest - 1;
            {
                let room = MAX_MISSING.saturating_sub(t.missing.len()) as u64;
                for n in (t.highest + 1..seq).take(room as usize) {
                    t.missing.insert(n);
                }
                while t.missing.len() > MAX_MISSING {
                    t.missing.pop_first();
                }
            }
            t.highest = seq;
            Seen::New { skipped }
        } else if t.missing.remove(&seq) {
            Seen::Late { counted: true }
        } else {
            Seen::Duplicate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_late_arrivals_and_duplicates() {
        let mut s = Sequences::default();
        assert_eq!(s.see("o", "r", "a", 5), Seen::New { skipped: 0 });
        assert_eq!(s.see("o", "r", "a", 6), Seen::New { skipped: 0 });
        assert_eq!(s.see("o", "r", "a", 9), Seen::New { skipped: 2 });
        assert_eq!(s.see("o", "r", "a", 7), Seen::Late { counted: true });
        // Overtaken by the first one seen (a retried publish): late, never counted lost.
        assert_eq!(s.see("o", "r", "a", 4), Seen::Late { counted: false });
        assert_eq!(s.see("o", "r", "a", 4), Seen::Duplicate);
        assert_eq!(s.see("o", "r", "a", 7), Seen::Duplicate);
        assert_eq!(s.see("o", "r", "a", 6), Seen::Duplicate);
        assert_eq!(s.see("o", "r", "b", 1), Seen::New { skipped: 0 });
        assert_eq!(s.see("o", "q", "a", 1), Seen::New { skipped: 0 });
        assert_eq!(s.see("p", "r", "a", 1), Seen::New { skipped: 0 });
        // The parts are kept apart: ("o", "ra") is not ("or", "a").
        assert_eq!(s.see("or", "", "a", 1), Seen::New { skipped: 0 });
    }
}
