//! The forwarder's decisions, without sockets: who an event is for, what waits in whose buffer,
//! and which inputs may be read. The forwarder (`bus/mod.rs`) moves messages; this module decides,
//! and is unit-tested with plain values.
//!
//! Rules:
//! * An event goes to every output whose filters match its first bytes (prefix match, as a SUB
//!   socket does).
//! * Each output has its own FIFO buffer, bounded in events and in bytes. An event for an output
//!   whose buffer is empty is offered to the output at once; if the output is full it waits in the
//!   buffer; nothing overtakes what waits, so each output gets events in the order they were read.
//! * An event for an output whose buffer is full is *held* by its input, with the list of outputs
//!   it still has to reach, and that input is not read again until every one of them has taken
//!   it (or buffered it). Only the publishers of events for a full output wait; every other input
//!   and output keeps flowing (isolation), and nothing is dropped (lossless).
//! * A buffer that is empty always accepts one event, however large, so an event larger than the
//!   byte bound still passes.

use std::collections::VecDeque;

/// A message the switch can hold and copy.
pub(crate) trait Payload: Sized {
    /// Its size in bytes (all frames).
    fn bytes(&self) -> usize;
    /// A copy for another output (shares the bytes where it can).
    fn share(&mut self) -> Result<Self, zmq::Error>;
}

/// Where the switch sends: one method per output, which either takes the message or gives it
/// back because the output is full.
pub(crate) trait Sink<P> {
    /// Offers `item` to `output`. `Ok(None)`: taken; `Ok(Some(item))`: the output is full.
    fn offer(&mut self, output: usize, item: P) -> Result<Option<P>, zmq::Error>;
}

/// The bounds of each output's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// Most events (hard bound: past it the input holds the event).
    pub events: usize,
    /// Most bytes (hard bound).
    pub bytes: usize,
    /// Soft bound in events: an input whose last event went to an output holding this many is
    /// not read for now, unless the input's own plugin has events waiting (it may be blocked
    /// publishing while they wait for it). Keeps publishers in step with their consumers, as a
    /// queue's high-water mark does, while the hard bound stays free for publish/consume cycles.
    pub soft: usize,
}

struct Buffer<P> {
    items: VecDeque<P>,
    bytes: usize,
}

impl<P> Default for Buffer<P> {
    fn default() -> Self {
        Buffer {
            items: VecDeque::new(),
            bytes: 0,
        }
    }
}

/// An event an input could not place yet, and the outputs it still has to reach.
struct Held<P> {
    item: P,
    waiting_for: Vec<usize>,
}

/// The state of the forwarder: one buffer per output, at most one held event per input.
pub(crate) struct Switch<P> {
    buffers: Vec<Buffer<P>>,
    held: Vec<Option<Held<P>>>,
    bounds: Bounds,
    /// The outputs each input's last event went to.
    last: Vec<Vec<usize>>,
}

impl<P: Payload> Switch<P> {
    pub(crate) fn new(inputs: usize, outputs: usize, bounds: Bounds) -> Self {
        Switch {
            buffers: (0..outputs).map(|_| Buffer::default()).collect(),
            held: (0..inputs).map(|_| None).collect(),
            bounds: Bounds {
                events: bounds.events.max(1),
                bytes: bounds.bytes.max(1),
                soft: bounds.soft.max(1),
            },
            last: vec![Vec::new(); inputs],
        }
    }

    /// True when `input` should not be read for now (see [`Bounds::soft`]); `own` is the output
    /// of the plugin that publishes on `input`, if it is a plugin.
    pub(crate) fn throttled(&self, input: usize, own: Option<usize>) -> bool {
        if own.is_some_and(|o| self.waiting(o)) {
            return false;
        }
        self.last.get(input).is_some_and(|outs| {
            outs.iter()
                .any(|&o| self.buffers[o].items.len() >= self.bounds.soft)
        })
    }

    /// True when `input` may be read (it holds no event).
    pub(crate) fn readable(&self, input: usize) -> bool {
        self.held.get(input).is_some_and(Option::is_none)
    }

    /// True when `output` has events waiting for room.
    pub(crate) fn waiting(&self, output: usize) -> bool {
        self.buffers
            .get(output)
            .is_some_and(|b| !b.items.is_empty())
    }

    /// Events waiting in `output`'s buffer.
    #[cfg(test)]
    pub(crate) fn buffered(&self, output: usize) -> usize {
        self.buffers.get(output).map_or(0, |b| b.items.len())
    }

    /// Every event waiting anywhere (buffers and held), for the counters.
    pub(crate) fn total_waiting(&self) -> usize {
        self.buffers.iter().map(|b| b.items.len()).sum::<usize>()
            + self.held.iter().filter(|h| h.is_some()).count()
    }

    fn full(&self, output: usize) -> bool {
        let b = &self.buffers[output];
        !b.items.is_empty() && (b.items.len() >= self.bounds.events || b.bytes >= self.bounds.bytes)
    }

    fn push(&mut self, output: usize, item: P) {
        let b = &mut self.buffers[output];
        b.bytes += item.bytes();
        b.items.push_back(item);
    }

    /// Places `item` (read from `input`) for `output`: offered at once when nothing waits for
    /// that output, else buffered. The caller has checked that the buffer is not full.
    fn place(&mut self, output: usize, item: P, sink: &mut impl Sink<P>) -> Result<(), zmq::Error> {
        if self.buffers[output].items.is_empty() {
            if let Some(back) = sink.offer(output, item)? {
                self.push(output, back);
            }
        } else {
            self.push(output, item);
        }
        Ok(())
    }

    /// Routes `item`, just read from `input`, to `outputs` (the outputs whose filters match it,
    /// each once). Returns false when the input now holds it (some output's buffer was full).
    pub(crate) fn route(
        &mut self,
        input: usize,
        mut item: P,
        outputs: &[usize],
        sink: &mut impl Sink<P>,
    ) -> Result<bool, zmq::Error> {
        debug_assert!(self.readable(input));
        if self.last[input].as_slice() != outputs {
            self.last[input].clear();
            self.last[input].extend_from_slice(outputs);
        }
        let mut waiting_for = Vec::new();
        let Some((&last, rest)) = outputs.split_last() else {
            return Ok(true);
        };
        for &o in rest {
            if self.full(o) {
                waiting_for.push(o);
            } else {
                let copy = item.share()?;
                self.place(o, copy, sink)?;
            }
        }
        if self.full(last) {
            waiting_for.push(last);
        } else if waiting_for.is_empty() {
            // The last output gets the message itself: no copy in the common one-output case.
            self.place(last, item, sink)?;
            return Ok(true);
        } else {
            let copy = item.share()?;
            self.place(last, copy, sink)?;
        }
        self.held[input] = Some(Held { item, waiting_for });
        Ok(false)
    }

    /// Offers what waits for `output` until it is full again, then lets held events into the
    /// room that made. Returns how many events left the buffer.
    pub(crate) fn flush(
        &mut self,
        output: usize,
        sink: &mut impl Sink<P>,
    ) -> Result<usize, zmq::Error> {
        let mut sent = 0;
        while let Some(item) = self.buffers[output].items.pop_front() {
            let size = item.bytes();
            match sink.offer(output, item)? {
                None => {
                    self.buffers[output].bytes -= size;
                    sent += 1;
                }
                Some(back) => {
                    self.buffers[output].items.push_front(back);
                    break;
                }
            }
        }
        if !self.full(output) {
            self.release(output, sink)?;
        }
        Ok(sent)
    }

    /// Gives the held events that wait for `output` their place in it, while there is room.
    fn release(&mut self, output: usize, sink: &mut impl Sink<P>) -> Result<(), zmq::Error> {
        for input in 0..self.held.len() {
            if self.full(output) {
                break;
            }
            let waits = self.held[input]
                .as_ref()
                .is_some_and(|h| h.waiting_for.contains(&output));
            if !waits {
                continue;
            }
            let Some(mut held) = self.held[input].take() else {
                continue;
            };
            held.waiting_for.retain(|&o| o != output);
            if held.waiting_for.is_empty() {
                self.place(output, held.item, sink)?;
            } else {
                let copy = held.item.share()?;
                self.place(output, copy, sink)?;
                self.held[input] = Some(held);
            }
        }
        Ok(())
    }

    /// Everything still waiting, for the count of what could not be delivered at shutdown.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.total_waiting();
        for b in &mut self.buffers {
            b.items.clear();
            b.bytes = 0;
        }
        for h in &mut self.held {
            *h = None;
        }
        n
    }
}

/// Each output's subscriptions, as its SUB socket reported them (XPUB subscription messages).
#[derive(Debug, Default, Clone)]
pub(crate) struct Subscriptions {
    /// `filters[o]`: the prefixes output `o` wants, each once.
    filters: Vec<Vec<Vec<u8>>>,
}

impl Subscriptions {
    pub(crate) fn new(outputs: usize) -> Self {
        Subscriptions {
            filters: vec![Vec::new(); outputs],
        }
    }

    /// Applies an XPUB subscription message (`\x01topic` subscribes, `\x00topic` unsubscribes).
    /// Returns the topic of a subscription, so the caller can see sync topics arrive.
    pub(crate) fn apply<'m>(&mut self, output: usize, message: &'m [u8]) -> Option<&'m [u8]> {
        let filters = self.filters.get_mut(output)?;
        match message.split_first() {
            Some((1, topic)) => {
                if !filters.iter().any(|f| f == topic) {
                    filters.push(topic.to_vec());
                }
                Some(topic)
            }
            Some((0, topic)) => {
                filters.retain(|f| f != topic);
                None
            }
            _ => None,
        }
    }

    /// The outputs that want an event starting with `data`, in output order (into `out`).
    pub(crate) fn matching(&self, data: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for (o, fs) in self.filters.iter().enumerate() {
            if fs.iter().any(|f| data.starts_with(f)) {
                out.push(o);
            }
        }
    }

    /// True when output `output` subscribes to anything.
    #[cfg(test)]
    pub(crate) fn any(&self, output: usize) -> bool {
        self.filters.get(output).is_some_and(|f| !f.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of the tests: a label and a size.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct M(&'static str, usize);

    impl Payload for M {
        fn bytes(&self) -> usize {
            self.1
        }
        fn share(&mut self) -> Result<Self, zmq::Error> {
            Ok(self.clone())
        }
    }

    /// Outputs with room for `room[o]` more messages each; records what each received.
    struct Outputs {
        room: Vec<usize>,
        got: Vec<Vec<&'static str>>,
    }

    impl Outputs {
        fn new(room: &[usize]) -> Self {
            Outputs {
                room: room.to_vec(),
                got: vec![Vec::new(); room.len()],
            }
        }
    }

    impl Sink<M> for Outputs {
        fn offer(&mut self, output: usize, item: M) -> Result<Option<M>, zmq::Error> {
            if self.room[output] == 0 {
                return Ok(Some(item));
            }
            self.room[output] -= 1;
            self.got[output].push(item.0);
            Ok(None)
        }
    }

    const SMALL: Bounds = Bounds {
        events: 2,
        bytes: 1000,
        soft: 2,
    };

    #[test]
    fn an_event_goes_to_every_matching_output_at_once() {
        let mut s = Switch::new(1, 3, SMALL);
        let mut out = Outputs::new(&[5, 5, 5]);
        assert!(s.route(0, M("a", 1), &[0, 2], &mut out).unwrap());
        assert_eq!(out.got, vec![vec!["a"], vec![], vec!["a"]]);
        assert!(s.readable(0));
        assert_eq!(s.total_waiting(), 0);
    }

    #[test]
    fn a_full_output_buffers_without_stopping_the_others() {
        // Output 0 reads nothing; output 1 has room.
        let mut s = Switch::new(2, 2, SMALL);
        let mut out = Outputs::new(&[0, 100]);
        assert!(s.route(0, M("for-0-a", 1), &[0], &mut out).unwrap());
        assert!(s.route(0, M("for-0-b", 1), &[0], &mut out).unwrap());
        assert_eq!(s.buffered(0), 2);
        // The buffer of output 0 is full: input 0 now holds its next event for it.
        assert!(!s.route(0, M("for-0-c", 1), &[0], &mut out).unwrap());
        assert!(!s.readable(0));
        // Input 1 publishes for output 1 only: it keeps flowing.
        for _ in 0..10 {
            assert!(s.route(1, M("for-1", 1), &[1], &mut out).unwrap());
        }
        assert!(s.readable(1));
        assert_eq!(out.got[1].len(), 10);
        assert!(out.got[0].is_empty());
    }

    #[test]
    fn room_releases_the_held_event_in_order() {
        let mut s = Switch::new(1, 1, SMALL);
        let mut out = Outputs::new(&[0]);
        for label in ["1", "2"] {
            assert!(s.route(0, M(label, 1), &[0], &mut out).unwrap());
        }
        assert!(!s.route(0, M("3", 1), &[0], &mut out).unwrap());
        // The reader makes room for everything.
        out.room[0] = 10;
        assert_eq!(s.flush(0, &mut out).unwrap(), 2);
        // The held event went straight through (the buffer was empty again).
        assert_eq!(out.got[0], vec!["1", "2", "3"]);
        assert!(s.readable(0));
        assert_eq!(s.total_waiting(), 0);
    }

    #[test]
    fn a_partial_flush_keeps_order_and_the_held_event_waits_its_turn() {
        let mut s = Switch::new(1, 1, SMALL);
        let mut out = Outputs::new(&[0]);
        s.route(0, M("1", 1), &[0], &mut out).unwrap();
        s.route(0, M("2", 1), &[0], &mut out).unwrap();
        assert!(!s.route(0, M("3", 1), &[0], &mut out).unwrap());
        out.room[0] = 1;
        assert_eq!(s.flush(0, &mut out).unwrap(), 1);
        // "3" was released into the buffer behind "2", not sent ahead of it.
        assert!(s.readable(0));
        assert_eq!(s.buffered(0), 2);
        out.room[0] = 5;
        s.flush(0, &mut out).unwrap();
        assert_eq!(out.got[0], vec!["1", "2", "3"]);
    }

    #[test]
    fn an_event_for_a_full_and_a_free_output_reaches_the_free_one_at_once() {
        let mut s = Switch::new(1, 2, SMALL);
        let mut out = Outputs::new(&[0, 100]);
        s.route(0, M("x", 1), &[0], &mut out).unwrap();
        s.route(0, M("y", 1), &[0], &mut out).unwrap();
        assert!(!s.route(0, M("both", 1), &[0, 1], &mut out).unwrap());
        assert_eq!(out.got[1], vec!["both"]);
        out.room[0] = 10;
        s.flush(0, &mut out).unwrap();
        // Output 1 did not get it twice.
        assert_eq!(out.got[1], vec!["both"]);
        assert_eq!(out.got[0], vec!["x", "y", "both"]);
    }

    #[test]
    fn the_byte_bound_counts_but_an_empty_buffer_takes_a_large_event() {
        let bounds = Bounds {
            events: 100,
            bytes: 10,
            soft: 100,
        };
        let mut s = Switch::new(1, 1, bounds);
        let mut out = Outputs::new(&[0]);
        // One event of 50 bytes is larger than the bound: an empty buffer still takes it.
        assert!(s.route(0, M("big", 50), &[0], &mut out).unwrap());
        assert_eq!(s.buffered(0), 1);
        // Now the buffer is over its byte bound: the next event is held.
        assert!(!s.route(0, M("next", 1), &[0], &mut out).unwrap());
        out.room[0] = 5;
        s.flush(0, &mut out).unwrap();
        assert_eq!(out.got[0], vec!["big", "next"]);
    }

    #[test]
    fn a_plugin_that_consumes_and_publishes_is_always_read_while_it_has_room() {
        // Output 0 is the operator (full for now), input 0 the producer, input 1 the operator
        // itself publishing answers for output 1 (the producer's reader, which has room).
        let mut s = Switch::new(2, 2, SMALL);
        let mut out = Outputs::new(&[0, 100]);
        s.route(0, M("In1", 1), &[0], &mut out).unwrap();
        s.route(0, M("In2", 1), &[0], &mut out).unwrap();
        assert!(!s.route(0, M("In3", 1), &[0], &mut out).unwrap());
        // The operator's own input is still read, so its blocked publish goes through.
        assert!(s.readable(1));
        assert!(s.route(1, M("Out0", 1), &[1], &mut out).unwrap());
        assert_eq!(out.got[1], vec!["Out0"]);
    }

    #[test]
    fn an_event_for_nobody_is_consumed() {
        let mut s = Switch::new(1, 1, SMALL);
        let mut out = Outputs::new(&[0]);
        assert!(s.route(0, M("x", 1), &[], &mut out).unwrap());
        assert_eq!(s.total_waiting(), 0);
    }

    #[test]
    fn clear_counts_what_is_left() {
        let mut s = Switch::new(1, 1, SMALL);
        let mut out = Outputs::new(&[0]);
        s.route(0, M("1", 1), &[0], &mut out).unwrap();
        s.route(0, M("2", 1), &[0], &mut out).unwrap();
        s.route(0, M("3", 1), &[0], &mut out).unwrap();
        assert_eq!(s.clear(), 3);
        assert!(s.readable(0));
    }

    #[test]
    fn the_soft_bound_pauses_only_publishers_of_a_busy_output() {
        let bounds = Bounds {
            events: 100,
            bytes: 1000,
            soft: 2,
        };
        // Inputs 0 and 1 are plugins 0 and 1 (outputs 0 and 1); output 2 is slow.
        let mut s = Switch::new(2, 3, bounds);
        let mut out = Outputs::new(&[100, 100, 0]);
        s.route(0, M("a", 1), &[2], &mut out).unwrap();
        assert!(!s.throttled(0, Some(0)));
        s.route(0, M("b", 1), &[2], &mut out).unwrap();
        // Output 2 holds two events: the input that feeds it pauses, the other does not.
        assert!(s.throttled(0, Some(0)));
        s.route(1, M("c", 1), &[1], &mut out).unwrap();
        assert!(!s.throttled(1, Some(1)));
        // Unless its own plugin has events waiting: it may be blocked publishing.
        out.room[0] = 0;
        s.route(1, M("d", 1), &[0], &mut out).unwrap();
        assert!(s.waiting(0));
        assert!(!s.throttled(0, Some(0)));
        // Room on the slow output lifts the pause.
        out.room[2] = 10;
        s.flush(2, &mut out).unwrap();
        out.room[0] = 10;
        s.flush(0, &mut out).unwrap();
        assert!(!s.throttled(0, Some(0)));
    }

    #[test]
    fn subscriptions_follow_the_sub_socket() {
        let mut subs = Subscriptions::new(2);
        assert_eq!(subs.apply(0, b"\x01TypeA"), Some(&b"TypeA"[..]));
        subs.apply(0, b"\x01TypeA");
        subs.apply(1, b"\x01Ty");
        let mut m = Vec::new();
        subs.matching(b"TypeAxyz", &mut m);
        assert_eq!(m, vec![0, 1]);
        subs.matching(b"TypeB", &mut m);
        assert_eq!(m, vec![1]);
        subs.matching(b"T", &mut m);
        assert!(m.is_empty());
        assert_eq!(subs.apply(1, b"\x00Ty"), None);
        subs.matching(b"TypeB", &mut m);
        assert!(m.is_empty());
        assert!(subs.any(0) && !subs.any(1));
        // Garbage and unknown outputs change nothing.
        assert_eq!(subs.apply(0, b""), None);
        assert_eq!(subs.apply(0, b"\x07x"), None);
        assert_eq!(subs.apply(9, b"\x01x"), None);
        // An empty filter matches everything, as on a SUB socket.
        subs.apply(1, b"\x01");
        subs.matching(b"anything", &mut m);
        assert_eq!(m, vec![1]);
    }
}
