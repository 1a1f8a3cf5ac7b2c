//! The delivery window of one external plugin: which events were handed out, to which client
//! session, and which are acknowledged. Pure bookkeeping (no sockets), so every rule of
//! at-least-once delivery is unit-tested here.
//!
//! * Every event handed to a client gets the next sequence number (1, 2, ...) and stays in the
//!   window until acknowledged.
//! * A consuming request (`next_msg`, `recv`) from the session that holds the window acknowledges
//!   everything delivered to it, unless it carries `ack=S`, which acknowledges up to `S` and asks
//!   for everything after `S` again (go-back-N: a reply that never arrived is resent).
//! * A consuming request from another session (a restarted process, or a new socket) takes the
//!   window over: everything unacknowledged is delivered again, first, with its old numbers.
//! * A v1 `next_msg` is outside that scheme, as in event-engine 0.2: the reply that was sent *is*
//!   the delivery, acknowledged at once ([`Window::front`], [`Window::deliver_front`]), whichever
//!   connection asks next. It takes the oldest unacknowledged event (one a v2 session never
//!   acknowledged) before a new one, and leaves the v2 session's position alone.

use std::collections::VecDeque;

use event_engine_protocol::{ErrorCode, WireError};

/// A client session: the routing id the ROUTER socket gave its connection.
pub(crate) type SessionId = Vec<u8>;

struct Entry<T> {
    data: T,
    deliveries: u32,
}

/// One event handed out by [`Window::take`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Out<'a> {
    pub seq: u64,
    pub data: &'a [u8],
    pub redelivered: bool,
}

/// How many of the window's next events fit in one batch ([`Window::fit`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fit {
    /// Events that fit.
    pub count: usize,
    /// Their bytes, together.
    pub bytes: usize,
    /// True when the batch can take no more (its count or its bytes are used up); false when
    /// the window ran out of events first.
    pub full: bool,
}

/// What [`Window::begin_consume`] and [`Window::ack`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Events acknowledged by this request.
    pub acked: u64,
    /// True when this request took the window over from another session.
    pub new_session: bool,
}

/// The window over events of type `T` (the engine keeps `zmqx::Frame`s, the tests `Vec<u8>`).
pub(crate) struct Window<T = Vec<u8>> {
    /// Unacknowledged events, in sequence order; `entries[0]` has number `first_seq`.
    entries: VecDeque<Entry<T>>,
    first_seq: u64,
    /// `entries[..cursor]` were delivered to `session` in its current run.
    cursor: usize,
    session: Option<SessionId>,
    max_pending: usize,
}

impl<T: AsRef<[u8]>> Window<T> {
    pub(crate) fn new(max_pending: usize) -> Self {
        Window {
            entries: VecDeque::new(),
            first_seq: 1,
            cursor: 0,
            session: None,
            max_pending: max_pending.max(1),
        }
    }

    /// Events delivered and not yet acknowledged.
    pub(crate) fn pending(&self) -> usize {
        self.entries.len()
    }

    /// The number the next new event gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    /// The highest sequence number ever handed out (0 before the first).
    fn last_seq(&self) -> u64 {
        self.next_seq() - 1
    }

    fn check_ack(&self, seq: u64) -> Result<(), WireError> {
        if seq > self.last_seq() {
            return Err(WireError::new(
                ErrorCode::BadSequence,
                format!(
                    "ack={seq} but the last event delivered is {}",
                    self.last_seq()
                ),
            ));
        }
        Ok(())
    }

    /// Drops every entry up to and including `seq`; returns how many.
    fn ack_through(&mut self, seq: u64) -> u64 {
        let mut n = 0;
        while self.first_seq <= seq && !self.entries.is_empty() {
            self.entries.pop_front();
            self.first_seq += 1;
            n += 1;
        }
        self.cursor = self.cursor.saturating_sub(n as usize);
        n
    }

    /// Starts a consuming request of `session`: applies its acknowledgement and positions the
    /// cursor at the first event it should get. Fails (changing nothing) on a bad `ack`.
    pub(crate) fn begin_consume(
        &mut self,
        session: &[u8],
        ack: Option<u64>,
    ) -> Result<Changes, WireError> {
        if let Some(seq) = ack {
            self.check_ack(seq)?;
        }
        let same = self.session.as_deref() == Some(session);
        let mut changes = Changes {
            new_session: !same,
            ..Changes::default()
        };
        match ack {
            Some(seq) => changes.acked = self.ack_through(seq),
            None if same => {
                let through = self.first_seq + self.cursor as u64;
                changes.acked = self.ack_through(through.saturating_sub(1));
            }
            None => {}
        }
        // Everything still in the window goes to this session first.
        self.cursor = 0;
        if !same {
            self.session = Some(session.to_vec());
        }
        Ok(changes)
    }

    /// A standalone acknowledgement (`ack seq=S`), from any session.
    pub(crate) fn ack(&mut self, seq: u64) -> Result<Changes, WireError> {
        self.check_ack(seq)?;
        Ok(Changes {
            acked: self.ack_through(seq),
            new_session: false,
        })
    }

    /// The client of `session` is done (it quit): what it was given counts as processed.
    pub(crate) fn finish_session(&mut self, session: &[u8]) -> u64 {
        if self.session.as_deref() != Some(session) {
            return 0;
        }
        let through = self.first_seq + self.cursor as u64;
        self.ack_through(through.saturating_sub(1))
    }

    /// Events waiting for redelivery to the current session.
    pub(crate) fn redeliverable(&self) -> usize {
        self.entries.len() - self.cursor
    }

    /// How many new events the window can take.
    pub(crate) fn room(&self) -> usize {
        self.max_pending.saturating_sub(self.entries.len())
    }

    /// Appends a new event (call only when `room() > 0`).
    pub(crate) fn push(&mut self, data: T) {
        self.entries.push_back(Entry {
            data,
            deliveries: 0,
        });
    }

    /// The next up-to-`max` events for the current session (redeliveries first, then the newest
    /// pushed), without marking them delivered; see [`Window::commit`].
    pub(crate) fn peek(&self, max: usize) -> impl Iterator<Item = Out<'_>> {
        let first = self.first_seq + self.cursor as u64;
        self.entries
            .iter()
            .skip(self.cursor)
            .take(max)
            .enumerate()
            .map(move |(i, e)| Out {
                seq: first + i as u64,
                data: e.data.as_ref(),
                redelivered: e.deliveries > 0,
            })
    }

    /// The events [`Window::peek`] would give, to send them (e.g. a shared copy of each).
    pub(crate) fn peek_data_mut(&mut self, max: usize) -> impl Iterator<Item = &mut T> {
        self.entries
            .iter_mut()
            .skip(self.cursor)
            .take(max)
            .map(|e| &mut e.data)
    }

    /// How much of what [`Window::peek`] would give fits in a batch of at most `max` events and
    /// `max_bytes` bytes of event data; the first event always fits, however large.
    pub(crate) fn fit(&self, max: usize, max_bytes: usize) -> Fit {
        let mut fit = Fit::default();
        for e in self.entries.iter().skip(self.cursor) {
            let len = e.data.as_ref().len();
            if fit.count == max || !super::fits(fit.count, fit.bytes, len, max_bytes) {
                fit.full = true;
                break;
            }
            fit.count += 1;
            fit.bytes = fit.bytes.saturating_add(len);
        }
        fit.full |= fit.count == max;
        fit
    }

    /// The oldest event in the window, for a v1 `next_msg` (whatever the current session was
    /// given); see [`Window::deliver_front`].
    pub(crate) fn front(&self) -> Option<Out<'_>> {
        self.entries.front().map(|e| Out {
            seq: self.first_seq,
            data: e.data.as_ref(),
            redelivered: e.deliveries > 0,
        })
    }

    /// The oldest event's data, to send it (see [`Window::front`]).
    pub(crate) fn front_data_mut(&mut self) -> Option<&mut T> {
        self.entries.front_mut().map(|e| &mut e.data)
    }

    /// The oldest event was sent in reply to a v1 `next_msg`: it is delivered and acknowledged
    /// at once (0.2's semantics). Returns how many events were acknowledged (0 or 1).
    pub(crate) fn deliver_front(&mut self) -> u64 {
        if self.entries.is_empty() {
            return 0;
        }
        self.ack_through(self.first_seq)
    }

    /// Marks the next `n` events as delivered to the current session.
    pub(crate) fn commit(&mut self, n: usize) {
        let end = (self.cursor + n).min(self.entries.len());
        for e in self.entries.range_mut(self.cursor..end) {
            e.deliveries += 1;
        }
        self.cursor = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(w: &mut Window, max: usize) -> Vec<(u64, Vec<u8>, bool)> {
        let out: Vec<_> = w
            .peek(max)
            .map(|o| (o.seq, o.data.to_vec(), o.redelivered))
            .collect();
        w.commit(out.len());
        out
    }

    fn fill(w: &mut Window, items: &[&[u8]]) {
        for i in items {
            w.push(i.to_vec());
        }
    }

    #[test]
    fn implicit_ack_by_the_next_request() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1", b"e2"]);
        assert_eq!(take(&mut w, 1), vec![(1, b"e1".to_vec(), false)]);
        assert_eq!(w.pending(), 2);
        let c = w.begin_consume(b"a", None).unwrap();
        assert_eq!(c.acked, 1);
        assert_eq!(take(&mut w, 5), vec![(2, b"e2".to_vec(), false)]);
        assert_eq!(w.pending(), 1);
    }

    #[test]
    fn a_new_session_gets_unacked_events_again_with_their_numbers() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1", b"e2", b"e3"]);
        assert_eq!(take(&mut w, 2).len(), 2);
        // 'a' dies; 'b' connects.
        let c = w.begin_consume(b"b", None).unwrap();
        assert_eq!(
            c,
            Changes {
                acked: 0,
                new_session: true
            }
        );
        assert_eq!(
            take(&mut w, 10),
            vec![
                (1, b"e1".to_vec(), true),
                (2, b"e2".to_vec(), true),
                (3, b"e3".to_vec(), false)
            ]
        );
    }

    #[test]
    fn explicit_ack_resends_what_follows_it() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1", b"e2", b"e3"]);
        assert_eq!(take(&mut w, 3).len(), 3);
        // The reply was lost after e1 was processed: ack=1 asks for 2 and 3 again.
        let c = w.begin_consume(b"a", Some(1)).unwrap();
        assert_eq!(c.acked, 1);
        assert_eq!(
            take(&mut w, 10),
            vec![(2, b"e2".to_vec(), true), (3, b"e3".to_vec(), true)]
        );
        assert_eq!(w.next_seq(), 4);
    }

    #[test]
    fn bad_acks_change_nothing() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1"]);
        take(&mut w, 1);
        assert_eq!(
            w.begin_consume(b"a", Some(2)).unwrap_err().code,
            ErrorCode::BadSequence
        );
        assert_eq!(w.ack(5).unwrap_err().code, ErrorCode::BadSequence);
        assert_eq!(w.pending(), 1);
        // An old ack is harmless.
        assert_eq!(w.ack(0).unwrap().acked, 0);
        assert_eq!(w.ack(1).unwrap().acked, 1);
        assert_eq!(w.pending(), 0);
    }

    #[test]
    fn room_is_bounded_by_max_pending() {
        let mut w = Window::new(2);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1", b"e2"]);
        assert_eq!(w.room(), 0);
        take(&mut w, 2);
        w.begin_consume(b"a", None).unwrap();
        assert_eq!(w.room(), 2);
    }

    #[test]
    fn v1_takes_the_oldest_event_and_acknowledges_it_at_once() {
        let mut w = Window::new(10);
        fill(&mut w, &[b"e1", b"e2"]);
        let f = w.front().unwrap();
        assert_eq!((f.seq, f.data, f.redelivered), (1, b"e1".as_slice(), false));
        assert_eq!(w.deliver_front(), 1);
        assert_eq!((w.pending(), w.next_seq()), (1, 3));
        assert_eq!(w.front().unwrap().seq, 2);
        assert_eq!(w.deliver_front(), 1);
        assert!(w.front().is_none());
        assert_eq!(w.deliver_front(), 0);
    }

    #[test]
    fn v1_gets_what_a_v2_session_left_unacknowledged_first() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1", b"e2", b"e3"]);
        assert_eq!(take(&mut w, 2).len(), 2);
        // A v1 request (any connection) gets e1 again, marked as delivered before.
        let f = w.front().unwrap();
        assert_eq!((f.seq, f.redelivered), (1, true));
        w.deliver_front();
        // The v2 session keeps its place: its next request acknowledges e2 and gets e3.
        let c = w.begin_consume(b"a", None).unwrap();
        assert_eq!((c.acked, c.new_session), (1, false));
        assert_eq!(take(&mut w, 5), vec![(3, b"e3".to_vec(), false)]);
    }

    #[test]
    fn a_batch_fits_its_count_and_its_bytes() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"aaaa", b"bbbb", b"cccccccccc", b"dd"]);
        let fit = |w: &Window, max, bytes| {
            let f = w.fit(max, bytes);
            (f.count, f.bytes, f.full)
        };
        assert_eq!(fit(&w, 10, usize::MAX), (4, 20, false));
        assert_eq!(fit(&w, 2, usize::MAX), (2, 8, true));
        assert_eq!(fit(&w, 10, 8), (2, 8, true));
        assert_eq!(fit(&w, 10, 9), (2, 8, true));
        // An event larger than the budget goes alone.
        assert_eq!(fit(&w, 10, 3), (1, 4, true));
        take(&mut w, 2);
        assert_eq!(fit(&w, 10, 3), (1, 10, true));
        assert_eq!(fit(&w, 10, 12), (2, 12, false));
    }

    #[test]
    fn uncommitted_events_stay_for_the_next_request() {
        let mut w = Window::new(10);
        w.begin_consume(b"a", None).unwrap();
        fill(&mut w, &[b"e1"]);
        assert_eq!(w.peek(1).count(), 1);
        // the send failed: nothing committed, nothing acked by the next request
        let c = w.begin_consume(b"a", None).unwrap();
        assert_eq!(c.acked, 0);
        assert_eq!(take(&mut w, 1), vec![(1, b"e1".to_vec(), false)]);
    }
}
