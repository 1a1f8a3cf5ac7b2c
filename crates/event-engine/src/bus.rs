//! The event bus: the engine's sockets and the forwarder thread that moves every event from the
//! incoming side to the outgoing side.
//!
//! ```text
//!  plugin 0 ──PUSH──▶ PULL inproc://ee-in-0 ┐
//!  plugin 1 ──PUSH──▶ PULL inproc://ee-in-1 ┤
//!  unregistered TCP publishers ──PUB──▶ SUB ┤ forwarder ──▶ XPUB (NODROP) inproc://ee-out ──▶ plugins' SUB
//!                      (tcp publish port)   ┘           └─▶ XPUB tcp subscribe port ──▶ TCP subscribers
//! ```
//!
//! Lossless by construction: PUSH blocks when its queue is full, and the forwarder never drops an
//! event for a registered plugin. When a subscriber's queue is full the forwarder keeps the event
//! (a non-blocking send leaves it in hand) in a FIFO backlog and waits; meanwhile it drains the
//! *inputs of the plugins that event is for* into the backlog, up to `buffer_limit`. That is what
//! keeps a plugin that consumes and publishes (an operator, a counter) from deadlocking with the
//! forwarder: the plugin may be blocked publishing while the forwarder waits for it to consume.
//! Inputs of other plugins are not read meanwhile, so their publishers wait (backpressure).
//! TCP subscribers are treated the same ([`TcpSubscribers::Block`]) or skipped and counted when
//! they fall behind ([`TcpSubscribers::DropAndCount`]).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use log::{debug, trace, warn};

use crate::config::{EngineConfig, TcpSubscribers};
use crate::errors::EngineError;
use crate::zmqx::{self, EngineContext, Frame};

/// Where plugins subscribe (SUB connects here).
pub(crate) const INPROC_OUT: &str = "inproc://ee-out";
/// The supervisor's line to the forwarder.
pub(crate) const INPROC_CONTROL: &str = "inproc://ee-control";
/// Control message: drain what is queued and stop.
pub(crate) const STOP: &[u8] = b"stop";

/// Events moved per input before the forwarder looks at its other sockets.
const BATCH: usize = 512;
/// How long one wait for room in a full subscriber lasts before the forwarder looks again at
/// the inputs of the plugins it waits for (milliseconds).
const WAIT_SLICE_MS: i32 = 1;

/// Where plugin `index` publishes (its PUSH socket connects here).
pub(crate) fn input_endpoint(index: usize) -> String {
    format!("inproc://ee-in-{index}")
}

/// Counters of the bus, shared with the supervisor and readable while the app runs.
#[derive(Debug, Default)]
pub(crate) struct BusCounters {
    pub forwarded: AtomicU64,
    pub tcp_dropped: AtomicU64,
    /// Events still queued at shutdown for a subscriber that never read them (a socket a plugin
    /// kept after its `start` returned).
    pub undeliverable: AtomicU64,
}

/// The bound sockets of the bus.
pub(crate) struct Bus {
    /// One PULL per plugin, in plugin order.
    inputs: Vec<zmq::Socket>,
    inproc_out: zmq::Socket,
    tcp_in: zmq::Socket,
    tcp_out: zmq::Socket,
    control: zmq::Socket,
    tcp_mode: TcpSubscribers,
    buffer_limit: usize,
    /// Endpoint and port of the TCP publish socket.
    pub publish: (String, u16),
    /// Endpoint and port of the TCP subscribe socket.
    pub subscribe: (String, u16),
}

fn bind_error(what: &str, address: &str, port: u16, source: zmq::Error) -> EngineError {
    EngineError::Bind {
        what: what.to_string(),
        endpoint: zmqx::tcp_endpoint(address, port),
        source,
    }
}

impl Bus {
    /// Creates and binds every bus socket, with one input for each of `plugins` plugins.
    pub(crate) fn bind(
        ctx: &EngineContext,
        config: &EngineConfig,
        plugins: usize,
    ) -> Result<Bus, EngineError> {
        let hwm = config.high_water_mark;
        let address = config.bind_address.as_str();
        let publish_port = crate::config::port(config.publish_port, "publish_port")?;
        let subscribe_port = crate::config::port(config.subscribe_port, "subscribe_port")?;

        let mut inputs = Vec::with_capacity(plugins);
        for index in 0..plugins {
            let input = ctx.socket(zmq::PULL)?;
            input.set_rcvhwm(hwm)?;
            input.set_linger(0)?;
            let endpoint = input_endpoint(index);
            input
                .bind(&endpoint)
                .map_err(|_| EngineError::PubSocketInProcBindError(endpoint))?;
            inputs.push(input);
        }

        let mut inproc_out = ctx.socket(zmq::XPUB)?;
        inproc_out.set_sndhwm(hwm)?;
        inproc_out.set_linger(0)?;
        // A send without DONTWAIT waits at most this long for room (see `Forwarder::stalled`).
        inproc_out.set_sndtimeo(WAIT_SLICE_MS)?;
        zmqx::set_nodrop(&mut inproc_out)?;
        inproc_out
            .bind(INPROC_OUT)
            .map_err(|_| EngineError::SubSocketInProcBindError(INPROC_OUT.into()))?;

        let tcp_in = ctx.socket(zmq::SUB)?;
        tcp_in.set_rcvhwm(hwm)?;
        tcp_in.set_linger(0)?;
        if let Some(n) = config.max_message_size {
            tcp_in.set_maxmsgsize(n)?;
        }
        tcp_in
            .set_subscribe(b"")
            .map_err(EngineError::EngineSetSubFilterAllError)?;
        let publish = zmqx::bind_tcp(&tcp_in, address, publish_port)
            .map_err(|e| bind_error("publish port", address, publish_port, e))?;

        let mut tcp_out = ctx.socket(zmq::XPUB)?;
        tcp_out.set_sndhwm(hwm)?;
        // Give TCP subscribers a moment to receive the last events when the app ends.
        tcp_out.set_linger(500)?;
        zmqx::set_nodrop(&mut tcp_out)?;
        let subscribe = zmqx::bind_tcp(&tcp_out, address, subscribe_port)
            .map_err(|e| bind_error("subscribe port", address, subscribe_port, e))?;

        let control = ctx.socket(zmq::PAIR)?;
        control.set_linger(0)?;
        control.bind(INPROC_CONTROL)?;

        debug!("bus bound: publish {} subscribe {}", publish.0, subscribe.0);
        Ok(Bus {
            inputs,
            inproc_out,
            tcp_in,
            tcp_out,
            control,
            tcp_mode: config.tcp_subscribers,
            buffer_limit: config.buffer_limit,
            publish,
            subscribe,
        })
    }

    /// The forwarder loop. `filters[i]` are plugin `i`'s subscriptions. Reports every sync topic
    /// it sees on `synced` (the start barrier), and returns when told to stop (after draining
    /// what is queued) or when the context shuts down.
    pub(crate) fn forward(
        self,
        filters: Vec<Vec<Vec<u8>>>,
        sync_topics: HashSet<Vec<u8>>,
        synced: mpsc::Sender<Vec<u8>>,
        counters: &BusCounters,
    ) -> Result<(), zmq::Error> {
        let mut f = Forwarder {
            bus: self,
            filters,
            pending_sync: sync_topics,
            synced,
            tcp_topics: HashSet::new(),
            counters,
            forwarded: 0,
            backlog: VecDeque::new(),
            warned_full: false,
        };
        f.run()
    }
}

/// One whole message (usually one frame) on its way through the forwarder.
struct Event {
    frames: Vec<Frame>,
    /// Already handed to the TCP subscribers (or skipped for them).
    tcp_done: bool,
}

/// What reading the control socket said.
enum Control {
    Continue,
    Stop,
}

struct Forwarder<'a> {
    bus: Bus,
    filters: Vec<Vec<Vec<u8>>>,
    pending_sync: HashSet<Vec<u8>>,
    synced: mpsc::Sender<Vec<u8>>,
    /// Topics that TCP subscribers want (XPUB reports the first subscribe and last unsubscribe).
    tcp_topics: HashSet<Vec<u8>>,
    counters: &'a BusCounters,
    forwarded: u64,
    /// Events waiting for room in a subscriber, oldest first; nothing overtakes them.
    backlog: VecDeque<Event>,
    warned_full: bool,
}

/// Index of the TCP input in the forwarder's list of inputs (after the plugins' ones).
fn tcp_input(plugins: usize) -> usize {
    plugins
}

impl Forwarder<'_> {
    fn run(&mut self) -> Result<(), zmq::Error> {
        loop {
            let control = if self.backlog.is_empty() {
                self.flowing()?
            } else {
                self.stalled()?
            };
            self.counters
                .forwarded
                .store(self.forwarded, Ordering::Relaxed);
            if let Control::Stop = control {
                self.drain();
                self.counters
                    .forwarded
                    .store(self.forwarded, Ordering::Relaxed);
                debug!("forwarder stopped after {} events", self.forwarded);
                return Ok(());
            }
        }
    }

    /// Normal operation: wait for anything, forward what came.
    fn flowing(&mut self) -> Result<Control, zmq::Error> {
        let n = self.bus.inputs.len();
        let ready = {
            let b = &self.bus;
            let mut items = Vec::with_capacity(n + 4);
            items.push(b.control.as_poll_item(zmq::POLLIN));
            items.push(b.inproc_out.as_poll_item(zmq::POLLIN));
            items.push(b.tcp_out.as_poll_item(zmq::POLLIN));
            items.extend(b.inputs.iter().map(|s| s.as_poll_item(zmq::POLLIN)));
            items.push(b.tcp_in.as_poll_item(zmq::POLLIN));
            zmq::poll(&mut items, -1)?;
            items.iter().map(|i| i.is_readable()).collect::<Vec<_>>()
        };
        self.housekeeping(ready[1], ready[2])?;
        for (input, readable) in ready[3..].iter().enumerate() {
            if *readable {
                self.forward_batch(input)?;
                if !self.backlog.is_empty() {
                    break;
                }
            }
        }
        if ready[0] {
            return self.read_control();
        }
        Ok(Control::Continue)
    }

    /// A subscriber is full: retry the oldest event, and drain the inputs of the plugins it is
    /// for (they may be blocked publishing while we wait for them to consume).
    fn stalled(&mut self) -> Result<Control, zmq::Error> {
        while !self.backlog.is_empty() {
            if !self.deliver_front(false)? {
                break;
            }
        }
        if self.backlog.is_empty() {
            return Ok(Control::Continue);
        }
        let waiting_for = self.plugins_for_front();
        let room = self.backlog.len() < self.bus.buffer_limit;
        if !room && !self.warned_full {
            warn!(
                "the bus holds {} events for a full subscriber; publishers now wait \
                 (does a plugin publish far more than it consumes, without reading?)",
                self.backlog.len()
            );
            self.warned_full = true;
        }
        let ready = {
            let b = &self.bus;
            let mut items = vec![
                b.control.as_poll_item(zmq::POLLIN),
                b.inproc_out.as_poll_item(zmq::POLLIN),
                b.tcp_out.as_poll_item(zmq::POLLIN),
            ];
            for &i in &waiting_for {
                let events = if room {
                    zmq::POLLIN
                } else {
                    zmq::PollEvents::empty()
                };
                items.push(b.inputs[i].as_poll_item(events));
            }
            zmq::poll(&mut items, 0)?;
            items.iter().map(|i| i.is_readable()).collect::<Vec<_>>()
        };
        self.housekeeping(ready[1], ready[2])?;
        let mut took = 0;
        for (k, &i) in waiting_for.iter().enumerate() {
            if ready[3 + k] {
                took += self.take_into_backlog(i)?;
            }
        }
        if ready[0] {
            if let Control::Stop = self.read_control()? {
                return Ok(Control::Stop);
            }
        }
        if took == 0 {
            // Wait (at most WAIT_SLICE_MS) for room; returns at once when the subscriber reads.
            self.deliver_front(true)?;
        }
        Ok(Control::Continue)
    }

    /// Reads subscription messages: the sync topics (start barrier) and the TCP subscribers'.
    fn housekeeping(&mut self, inproc_subs: bool, tcp_subs: bool) -> Result<(), zmq::Error> {
        if inproc_subs {
            while let Some(sub) = recv_nowait(&self.bus.inproc_out)? {
                if let Some(topic) = sub.strip_prefix(b"\x01") {
                    if self.pending_sync.remove(topic) {
                        let _ = self.synced.send(topic.to_vec());
                    }
                }
            }
        }
        if tcp_subs {
            while let Some(sub) = recv_nowait(&self.bus.tcp_out)? {
                match sub.split_first() {
                    Some((1, topic)) => {
                        self.tcp_topics.insert(topic.to_vec());
                    }
                    Some((0, topic)) => {
                        self.tcp_topics.remove(topic);
                    }
                    _ => trace!("ignoring a non-subscription message from a TCP subscriber"),
                }
            }
        }
        Ok(())
    }

    fn read_control(&mut self) -> Result<Control, zmq::Error> {
        let msg = self.bus.control.recv_bytes(0)?;
        Ok(if msg == STOP {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    fn input_mut(&mut self, input: usize) -> &mut zmq::Socket {
        if input == tcp_input(self.bus.inputs.len()) {
            &mut self.bus.tcp_in
        } else {
            &mut self.bus.inputs[input]
        }
    }

    /// Reads one whole message from `input`, if one is there.
    fn read_event(&mut self, input: usize) -> Result<Option<Event>, zmq::Error> {
        let socket = self.input_mut(input);
        let Some(first) = Frame::recv(socket, zmq::DONTWAIT)? else {
            return Ok(None);
        };
        let mut frames = vec![first];
        while frames.last().is_some_and(Frame::more) {
            // The rest of a message is always there once its first frame is.
            match Frame::recv(socket, 0)? {
                Some(f) => frames.push(f),
                None => break,
            }
        }
        Ok(Some(Event {
            frames,
            tcp_done: false,
        }))
    }

    /// Forwards up to [`BATCH`] events from `input`; the first that meets a full subscriber
    /// starts the backlog.
    fn forward_batch(&mut self, input: usize) -> Result<(), zmq::Error> {
        for _ in 0..BATCH {
            let Some(mut event) = self.read_event(input)? else {
                break;
            };
            if !self.deliver(&mut event, false)? {
                self.backlog.push_back(event);
                break;
            }
        }
        Ok(())
    }

    /// Moves what plugin `input` has published into the backlog (it may be blocked publishing).
    fn take_into_backlog(&mut self, input: usize) -> Result<usize, zmq::Error> {
        let mut took = 0;
        while self.backlog.len() < self.bus.buffer_limit {
            match self.read_event(input)? {
                Some(e) => {
                    self.backlog.push_back(e);
                    took += 1;
                }
                None => break,
            }
        }
        Ok(took)
    }

    /// The plugins whose subscriptions match the oldest waiting event.
    fn plugins_for_front(&self) -> Vec<usize> {
        let Some(first) = self.backlog.front().and_then(|e| e.frames.first()) else {
            return Vec::new();
        };
        let data = first.data();
        self.filters
            .iter()
            .enumerate()
            .filter(|(_, fs)| fs.iter().any(|f| data.starts_with(f)))
            .map(|(i, _)| i)
            .collect()
    }

    /// Tries to deliver the oldest waiting event; pops it when delivered.
    fn deliver_front(&mut self, wait: bool) -> Result<bool, zmq::Error> {
        let Some(mut event) = self.backlog.pop_front() else {
            return Ok(true);
        };
        if self.deliver(&mut event, wait)? {
            Ok(true)
        } else {
            self.backlog.push_front(event);
            Ok(false)
        }
    }

    /// Sends `event` to the TCP subscribers (once) and to the plugins. `Ok(false)`: a plugin's
    /// queue is full and the event is still whole in `event`. With `wait`, waits up to
    /// [`WAIT_SLICE_MS`] for room.
    fn deliver(&mut self, event: &mut Event, wait: bool) -> Result<bool, zmq::Error> {
        if !event.tcp_done {
            self.deliver_tcp(event)?;
            event.tcp_done = true;
        }
        let mode = if wait { 0 } else { zmq::DONTWAIT };
        let last = event.frames.len() - 1;
        for (i, frame) in event.frames.iter_mut().enumerate() {
            let more = if i < last { zmq::SNDMORE } else { 0 };
            // With NODROP only a message's first frame can meet a full queue.
            let flags = if i == 0 { more | mode } else { more };
            if !frame.send(&mut self.bus.inproc_out, flags)? {
                if i == 0 {
                    return Ok(false);
                }
                return Err(zmq::Error::EAGAIN);
            }
        }
        self.forwarded += 1;
        Ok(true)
    }

    fn deliver_tcp(&mut self, event: &mut Event) -> Result<(), zmq::Error> {
        let wanted = !self.tcp_topics.is_empty() && {
            let data = event.frames[0].data();
            self.tcp_topics.iter().any(|t| data.starts_with(t))
        };
        if !wanted {
            return Ok(());
        }
        let mode = match self.bus.tcp_mode {
            TcpSubscribers::Block => 0,
            TcpSubscribers::DropAndCount => zmq::DONTWAIT,
        };
        let last = event.frames.len() - 1;
        for (i, frame) in event.frames.iter_mut().enumerate() {
            let mut copy = frame.share()?;
            let more = if i < last { zmq::SNDMORE } else { 0 };
            let flags = if i == 0 { more | mode } else { more };
            if !copy.send(&mut self.bus.tcp_out, flags)? {
                // Only the first frame can meet a full queue; the event is skipped for TCP.
                self.counters.tcp_dropped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        Ok(())
    }

    /// At shutdown every plugin is done: forward what is left without waiting; what a leftover
    /// socket has no room for is counted, not waited for.
    fn drain(&mut self) {
        let undeliverable = |f: &mut Self| {
            f.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
        };
        while let Some(mut event) = self.backlog.pop_front() {
            if !matches!(self.deliver(&mut event, false), Ok(true)) {
                undeliverable(self);
            }
        }
        for input in 0..self.bus.inputs.len() {
            while let Ok(Some(mut event)) = self.read_event(input) {
                if !matches!(self.deliver(&mut event, false), Ok(true)) {
                    undeliverable(self);
                }
            }
        }
        // Unregistered TCP publishers may never stop: one more batch from them.
        let tcp = tcp_input(self.bus.inputs.len());
        for _ in 0..BATCH {
            match self.read_event(tcp) {
                Ok(Some(mut event)) => {
                    if !matches!(self.deliver(&mut event, false), Ok(true)) {
                        undeliverable(self);
                    }
                }
                _ => break,
            }
        }
    }
}

fn recv_nowait(socket: &zmq::Socket) -> Result<Option<Vec<u8>>, zmq::Error> {
    match socket.recv_bytes(zmq::DONTWAIT) {
        Ok(b) => Ok(Some(b)),
        Err(zmq::Error::EAGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}
