//! The event bus: the engine's sockets and the forwarder thread that moves every event from the
//! incoming side to the plugins.
//!
//! ```text
//!  plugin 0 ──PUSH──▶ PULL inproc://ee-in-0 ┐           ┌─▶ XPUB inproc://ee-out-0 ──▶ plugin 0's SUB
//!  plugin 1 ──PUSH──▶ PULL inproc://ee-in-1 ┤ forwarder ├─▶ XPUB inproc://ee-out-1 ──▶ plugin 1's SUB
//!  unregistered TCP publishers ──PUB──▶ SUB ┘ (buffers) └─▶ XPUB tcp subscribe port ──▶ TCP subscribers
//!                      (tcp publish port)
//! ```
//!
//! Every plugin has its own input and its own output. The forwarder matches each event against
//! each plugin's subscriptions itself (learnt from the subscription messages of the plugin's SUB
//! socket, so a plugin that calls `set_subscribe` later is followed) and sends it to the outputs
//! of the plugins it is for. A plugin that does not keep up fills its own output; the events for
//! it then wait in its own buffer (bounded in events and bytes: `buffer_limit`, `buffer_bytes`),
//! and only when that is full does the forwarder stop reading the input that published the next
//! event for it. So only the publishers of events for a full plugin wait; nothing is dropped on
//! the way to a registered plugin, and every other plugin keeps receiving (isolation). The
//! decisions are in [`switch`], unit-tested without sockets.
//!
//! Deadlock: a plugin that consumes and publishes (an operator) may be blocked publishing while
//! its own output is full. Its input is still read (it is only held when an event *from it* meets
//! a full buffer), so its publish completes and it goes back to reading. Only a plugin that
//! publishes more than its buffers hold into a subscription it does not read waits on itself.
//!
//! One event is one single-frame message: multi-part messages and empty events are refused and
//! counted (`refused`), whoever sends them; events from the TCP publish port larger than
//! `max_event_bytes` too. TCP subscribers are fed the same way ([`TcpSubscribers::Block`]) or
//! skipped and counted when they fall behind ([`TcpSubscribers::DropAndCount`]).

mod switch;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use log::{debug, warn};

use crate::config::{EngineConfig, TcpSubscribers};
use crate::errors::EngineError;
use crate::zmqx::{self, EngineContext, Frame, ListenerGuard};
use switch::{Bounds, Payload, Sink, Subscriptions, Switch};

/// The supervisor's line to the forwarder.
pub(crate) const INPROC_CONTROL: &str = "inproc://ee-control";
/// Control message: drain what is queued and stop.
pub(crate) const STOP: &[u8] = b"stop";

/// Events moved per input before the forwarder looks at its other sockets.
const BATCH: usize = 512;
/// The longest the forwarder sleeps while events wait for room (a safety net: room is normally
/// noticed at once through the output's mailbox).
const WAIT_SLICE_MS: i64 = 10;
/// How long the forwarder keeps feeding TCP subscribers in `Block` mode after every plugin is
/// done.
const TCP_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Where plugin `index` publishes (its PUSH socket connects here).
pub(crate) fn input_endpoint(index: usize) -> String {
    format!("inproc://ee-in-{index}")
}

/// Where plugin `index` subscribes (its SUB socket connects here).
pub(crate) fn output_endpoint(index: usize) -> String {
    format!("inproc://ee-out-{index}")
}

/// Sockets the bus makes for `plugins` plugins (for sizing the context's socket limit).
pub(crate) fn sockets_needed(plugins: usize) -> usize {
    2 * plugins + 4
}

/// Counters of the bus, shared with the supervisor and readable while the app runs.
#[derive(Debug, Default)]
pub(crate) struct BusCounters {
    pub forwarded: AtomicU64,
    pub tcp_dropped: AtomicU64,
    /// Messages refused: multi-part, empty, or (from the TCP publish port) too large.
    pub refused: AtomicU64,
    /// Events waiting in the forwarder's buffers right now.
    pub buffered: AtomicU64,
    /// Events still queued at shutdown for a subscriber that never read them (a socket a plugin
    /// kept after its `start` returned).
    pub undeliverable: AtomicU64,
}

/// The bound sockets of the bus.
pub(crate) struct Bus {
    /// One PULL per plugin, in plugin order.
    inputs: Vec<zmq::Socket>,
    /// One XPUB per plugin, in plugin order.
    outputs: Vec<zmq::Socket>,
    tcp_in: zmq::Socket,
    tcp_out: zmq::Socket,
    control: zmq::Socket,
    guards: Vec<ListenerGuard>,
    tcp_mode: TcpSubscribers,
    bounds: Bounds,
    max_event_bytes: usize,
    /// Names of the plugins, for warnings.
    names: Vec<String>,
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
    /// Creates and binds every bus socket, with one input and one output for each of `plugins`
    /// plugins.
    pub(crate) fn bind(
        ctx: &EngineContext,
        config: &EngineConfig,
        plugins: usize,
    ) -> Result<Bus, EngineError> {
        let hwm = config.high_water_mark;
        // With require_encryption, the raw ports (no authentication) stay on this host.
        let address = crate::app::raw_bus_address(config);
        let address = address.as_str();
        let publish_port = crate::config::port(config.publish_port, "publish_port")?;
        let subscribe_port = crate::config::port(config.subscribe_port, "subscribe_port")?;

        let mut inputs = Vec::with_capacity(plugins);
        let mut outputs = Vec::with_capacity(plugins);
        for index in 0..plugins {
            let input = ctx.socket(zmq::PULL)?;
            input.set_rcvhwm(hwm)?;
            input.set_linger(0)?;
            let endpoint = input_endpoint(index);
            input
                .bind(&endpoint)
                .map_err(|_| EngineError::PubSocketInProcBindError(endpoint))?;
            inputs.push(input);
            let mut output = ctx.socket(zmq::XPUB)?;
            output.set_sndhwm(hwm)?;
            output.set_linger(0)?;
            zmqx::set_nodrop(&mut output)?;
            let endpoint = output_endpoint(index);
            output
                .bind(&endpoint)
                .map_err(|_| EngineError::SubSocketInProcBindError(endpoint))?;
            outputs.push(output);
        }

        let tcp_in = ctx.socket(zmq::SUB)?;
        tcp_in.set_rcvhwm(hwm)?;
        tcp_in.set_linger(0)?;
        tcp_in.set_maxmsgsize(config.frame_limit())?;
        tcp_in
            .set_subscribe(b"")
            .map_err(EngineError::EngineSetSubFilterAllError)?;
        let publish = zmqx::bind_tcp(&tcp_in, address, publish_port)
            .map_err(|e| bind_error("publish port", address, publish_port, e))?;

        let mut tcp_out = ctx.socket(zmq::XPUB)?;
        tcp_out.set_sndhwm(hwm)?;
        // Give TCP subscribers a moment to receive the last events when the app ends.
        tcp_out.set_linger(500)?;
        // Subscriptions are control messages, never events: a peer cannot fill memory with them.
        tcp_out.set_maxmsgsize(64 * 1024)?;
        zmqx::set_nodrop(&mut tcp_out)?;
        let subscribe = zmqx::bind_tcp(&tcp_out, address, subscribe_port)
            .map_err(|e| bind_error("subscribe port", address, subscribe_port, e))?;
        let guards = vec![
            ListenerGuard::new(ctx, &tcp_in, "the publish port", &publish.0)?,
            ListenerGuard::new(ctx, &tcp_out, "the subscribe port", &subscribe.0)?,
        ];

        let control = ctx.socket(zmq::PAIR)?;
        control.set_linger(0)?;
        control.bind(INPROC_CONTROL)?;

        debug!("bus bound: publish {} subscribe {}", publish.0, subscribe.0);
        Ok(Bus {
            inputs,
            outputs,
            tcp_in,
            tcp_out,
            control,
            guards,
            tcp_mode: config.tcp_subscribers,
            bounds: Bounds {
                events: config.buffer_limit,
                bytes: config.buffer_bytes,
                soft: usize::try_from(config.high_water_mark).unwrap_or(1000),
            },
            max_event_bytes: config.max_event_bytes,
            names: Vec::new(),
            publish,
            subscribe,
        })
    }

    /// Names the plugins, in plugin order, for the forwarder's warnings.
    pub(crate) fn name_plugins(&mut self, names: Vec<String>) {
        self.names = names;
    }

    /// The forwarder loop. Reports every sync topic it sees on `synced` (the start barrier), and
    /// returns when told to stop (after draining what is queued) or when the context shuts down.
    pub(crate) fn forward(
        self,
        sync_topics: HashSet<Vec<u8>>,
        synced: mpsc::Sender<Vec<u8>>,
        counters: &BusCounters,
    ) -> Result<(), zmq::Error> {
        let plugins = self.inputs.len();
        let mut f = Forwarder {
            switch: Switch::new(plugins + 1, plugins + 1, self.bounds),
            subs: Subscriptions::new(plugins + 1),
            bus: self,
            pending_sync: sync_topics,
            synced,
            counters,
            forwarded: 0,
            refused: 0,
            warned: HashSet::new(),
            matched: Vec::new(),
            draining: false,
            last_retry: std::time::Instant::now(),
        };
        f.run()
    }
}

impl Payload for Frame {
    fn bytes(&self) -> usize {
        self.data().len()
    }

    fn share(&mut self) -> Result<Self, zmq::Error> {
        Frame::share(self)
    }
}

/// The outputs as the switch sees them: plugins' XPUBs, then the TCP subscribe port.
struct Outputs<'a> {
    plugins: &'a mut [zmq::Socket],
    tcp: &'a mut zmq::Socket,
    tcp_mode: TcpSubscribers,
    tcp_dropped: &'a AtomicU64,
}

impl Sink<Frame> for Outputs<'_> {
    fn offer(&mut self, output: usize, mut item: Frame) -> Result<Option<Frame>, zmq::Error> {
        let socket = match self.plugins.get_mut(output) {
            Some(s) => s,
            None => &mut *self.tcp,
        };
        if item.send(socket, zmq::DONTWAIT)? {
            return Ok(None);
        }
        if output == self.plugins.len() && self.tcp_mode == TcpSubscribers::DropAndCount {
            self.tcp_dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        Ok(Some(item))
    }
}

/// What reading the control socket said.
enum Control {
    Continue,
    Stop,
}

/// Why a message read from an input is not an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Refusal {
    MultiPart,
    Empty,
    TooLarge,
}

struct Forwarder<'a> {
    bus: Bus,
    switch: Switch<Frame>,
    subs: Subscriptions,
    pending_sync: HashSet<Vec<u8>>,
    synced: mpsc::Sender<Vec<u8>>,
    counters: &'a BusCounters,
    forwarded: u64,
    refused: u64,
    /// (input, reason) already warned about: each is said once.
    warned: HashSet<(usize, Refusal)>,
    /// Scratch: the outputs the current event is for.
    matched: Vec<usize>,
    /// Shutting down: inputs are read without the soft bound.
    draining: bool,
    /// When every waiting output was last retried.
    last_retry: std::time::Instant,
}

impl Forwarder<'_> {
    fn plugins(&self) -> usize {
        self.bus.inputs.len()
    }

    fn run(&mut self) -> Result<(), zmq::Error> {
        loop {
            let control = self.step()?;
            self.publish_counters();
            if let Control::Stop = control {
                self.drain();
                self.publish_counters();
                debug!("forwarder stopped after {} events", self.forwarded);
                return Ok(());
            }
        }
    }

    fn publish_counters(&self) {
        let c = self.counters;
        c.forwarded.store(self.forwarded, Ordering::Relaxed);
        c.refused.store(self.refused, Ordering::Relaxed);
        c.buffered
            .store(self.switch.total_waiting() as u64, Ordering::Relaxed);
    }

    /// One round: wait for anything, then handle subscriptions, room, inputs and control.
    fn step(&mut self) -> Result<Control, zmq::Error> {
        let n = self.plugins();
        let tcp = n;
        let (ready, guards_ready) = {
            let b = &self.bus;
            let mut items = Vec::with_capacity(2 * n + 8);
            items.push(b.control.as_poll_item(zmq::POLLIN));
            // Outputs: an output with events waiting is watched through its mailbox descriptor,
            // which signals when its reader makes room; the others for subscription messages.
            for o in 0..=n {
                let socket = if o == tcp { &b.tcp_out } else { &b.outputs[o] };
                if self.switch.waiting(o) {
                    items.push(zmq::PollItem::from_fd(socket.get_fd()?, zmq::POLLIN));
                } else {
                    items.push(socket.as_poll_item(zmq::POLLIN));
                }
            }
            for i in 0..=n {
                let socket = if i == tcp { &b.tcp_in } else { &b.inputs[i] };
                let own = (i < n).then_some(i);
                let events = if self.switch.readable(i) && !self.switch.throttled(i, own) {
                    zmq::POLLIN
                } else {
                    zmq::PollEvents::empty()
                };
                items.push(socket.as_poll_item(events));
            }
            for g in &b.guards {
                items.push(g.poll_item());
            }
            let waiting = (0..=n).any(|o| self.switch.waiting(o));
            let timeout = match (
                waiting,
                b.guards.iter().filter_map(|g| g.retry_in_ms()).min(),
            ) {
                (true, Some(g)) => g.min(WAIT_SLICE_MS),
                (true, None) => WAIT_SLICE_MS,
                (false, Some(g)) => g,
                (false, None) => -1,
            };
            zmq::poll(&mut items, timeout)?;
            let ready: Vec<bool> = items.iter().map(|i| i.is_readable()).collect();
            let guards = ready[ready.len() - b.guards.len()..].to_vec();
            (ready, guards)
        };
        for (g, r) in guards_ready.into_iter().enumerate() {
            let socket = if g == 0 {
                &self.bus.tcp_in
            } else {
                &self.bus.tcp_out
            };
            self.bus.guards[g].check(socket, r);
        }
        // Subscriptions and room. An output with events waiting is retried when its mailbox
        // signalled, and all of them every WAIT_SLICE_MS (a wake-up can be consumed unseen).
        let retry_all = self.last_retry.elapsed().as_millis() >= WAIT_SLICE_MS as u128;
        if retry_all {
            self.last_retry = std::time::Instant::now();
        }
        for o in 0..=n {
            let waiting = self.switch.waiting(o);
            if !(ready[1 + o] || (waiting && retry_all)) {
                continue;
            }
            self.subscriptions(o)?;
            if waiting {
                let mut sink = Outputs {
                    plugins: &mut self.bus.outputs,
                    tcp: &mut self.bus.tcp_out,
                    tcp_mode: self.bus.tcp_mode,
                    tcp_dropped: &self.counters.tcp_dropped,
                };
                self.switch.flush(o, &mut sink)?;
            }
        }
        // Inputs.
        let first_input = 2 + n;
        for i in 0..=n {
            if ready[first_input + i] {
                self.forward_batch(i)?;
            }
        }
        if ready[0] {
            return self.read_control();
        }
        Ok(Control::Continue)
    }

    /// Reads the subscription messages of output `o` (a plugin's SUB, or the TCP subscribers).
    fn subscriptions(&mut self, o: usize) -> Result<(), zmq::Error> {
        let n = self.plugins();
        loop {
            let socket = if o == n {
                &self.bus.tcp_out
            } else {
                &self.bus.outputs[o]
            };
            let msg = match socket.recv_bytes(zmq::DONTWAIT) {
                Ok(m) => m,
                Err(zmq::Error::EAGAIN) => return Ok(()),
                Err(e) => return Err(e),
            };
            if let Some(topic) = self.subs.apply(o, &msg) {
                if o < n && self.pending_sync.remove(topic) {
                    let _ = self.synced.send(topic.to_vec());
                }
            }
        }
    }

    fn read_control(&mut self) -> Result<Control, zmq::Error> {
        let msg = self.bus.control.recv_bytes(0)?;
        Ok(if msg == STOP {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    /// Reads one message from `input`: `Ok(None)` when none is there, `Err(refusal)` inside when
    /// it is not an event (already read whole and dropped).
    fn read_event(&mut self, input: usize) -> Result<Option<Result<Frame, Refusal>>, zmq::Error> {
        let n = self.plugins();
        let socket = if input == n {
            &mut self.bus.tcp_in
        } else {
            &mut self.bus.inputs[input]
        };
        let Some(first) = Frame::recv(socket, zmq::DONTWAIT)? else {
            return Ok(None);
        };
        if first.more() {
            // The rest of a message is always there once its first frame is.
            let mut more = true;
            while more {
                more = match Frame::recv(socket, 0)? {
                    Some(f) => f.more(),
                    None => false,
                };
            }
            return Ok(Some(Err(Refusal::MultiPart)));
        }
        if first.data().is_empty() {
            return Ok(Some(Err(Refusal::Empty)));
        }
        if input == n && first.data().len() > self.bus.max_event_bytes {
            return Ok(Some(Err(Refusal::TooLarge)));
        }
        Ok(Some(Ok(first)))
    }

    fn refuse(&mut self, input: usize, why: Refusal) {
        self.refused += 1;
        if self.warned.insert((input, why)) {
            let who = self
                .bus
                .names
                .get(input)
                .map_or("a process on the TCP publish port".to_string(), |n| {
                    format!("plugin '{n}'")
                });
            let what = match why {
                Refusal::MultiPart => "a multi-part message (an event is one frame)",
                Refusal::Empty => "an empty event",
                Refusal::TooLarge => "an event larger than max_event_bytes",
            };
            warn!("{who} published {what}: refused and counted (refused), said once");
        }
    }

    /// Forwards up to [`BATCH`] events from `input`, stopping when it holds one.
    fn forward_batch(&mut self, input: usize) -> Result<(), zmq::Error> {
        let own = (input < self.plugins()).then_some(input);
        for _ in 0..BATCH {
            let throttled = !self.draining && self.switch.throttled(input, own);
            if !self.switch.readable(input) || throttled {
                break;
            }
            let event = match self.read_event(input)? {
                None => break,
                Some(Err(why)) => {
                    self.refuse(input, why);
                    continue;
                }
                Some(Ok(e)) => e,
            };
            self.subs.matching(event.data(), &mut self.matched);
            self.forwarded += 1;
            let mut sink = Outputs {
                plugins: &mut self.bus.outputs,
                tcp: &mut self.bus.tcp_out,
                tcp_mode: self.bus.tcp_mode,
                tcp_dropped: &self.counters.tcp_dropped,
            };
            self.switch.route(input, event, &self.matched, &mut sink)?;
        }
        Ok(())
    }

    /// At shutdown every plugin is done: forward what is left. Plugins' outputs are not waited
    /// for (a plugin that kept its socket gets what fits; the rest is counted); TCP subscribers in
    /// [`TcpSubscribers::Block`] mode are, for at most [`TCP_DRAIN`].
    fn drain(&mut self) {
        let n = self.plugins();
        self.draining = true;
        let deadline = std::time::Instant::now() + TCP_DRAIN;
        let mut round = 0;
        loop {
            for o in 0..=n {
                let _ = self.subscriptions(o);
                let mut sink = Outputs {
                    plugins: &mut self.bus.outputs,
                    tcp: &mut self.bus.tcp_out,
                    tcp_mode: self.bus.tcp_mode,
                    tcp_dropped: &self.counters.tcp_dropped,
                };
                let _ = self.switch.flush(o, &mut sink);
            }
            let mut read = false;
            for i in 0..n {
                // Every plugin is done: its input ends.
                while self.switch.readable(i) {
                    let before = self.forwarded + self.refused;
                    if self.forward_batch(i).is_err() || self.forwarded + self.refused == before {
                        break;
                    }
                    read = true;
                }
            }
            // Unregistered TCP publishers may never stop: one more batch from them.
            if round == 0 {
                let _ = self.forward_batch(n);
            }
            round += 1;
            let tcp_waits = self.bus.tcp_mode == TcpSubscribers::Block && self.switch.waiting(n);
            if round >= 3 && !read && (!tcp_waits || std::time::Instant::now() >= deadline) {
                break;
            }
            if tcp_waits {
                if let Ok(fd) = self.bus.tcp_out.get_fd() {
                    let mut items = [zmq::PollItem::from_fd(fd, zmq::POLLIN)];
                    let _ = zmq::poll(&mut items, WAIT_SLICE_MS);
                }
                let _ = self.bus.tcp_out.get_events();
            }
        }
        let left = self.switch.clear() as u64;
        self.counters
            .undeliverable
            .fetch_add(left, Ordering::Relaxed);
    }
}
