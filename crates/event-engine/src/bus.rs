//! The event bus: the engine's sockets and the forwarder thread that moves every event from the
//! incoming side to the outgoing side.
//!
//! ```text
//!  internal plugins, external-plugin threads ──PUSH──▶ PULL  inproc://ee-in  ┐
//!  unregistered TCP publishers ──────────────PUB───▶ SUB   tcp publish port ┤ forwarder
//!                                                                           │
//!  plugins' SUB sockets ◀──────────────────── XPUB (NODROP) inproc://ee-out ◀┤
//!  unregistered TCP subscribers ◀─────────── XPUB          tcp subscribe port◀┘
//! ```
//!
//! Lossless by construction: PUSH blocks when its queue is full, and the inproc XPUB has
//! `ZMQ_XPUB_NODROP`, so a slow subscriber makes the forwarder wait, which fills the incoming
//! queues, which makes publishers wait. Nothing is dropped on the way to a registered plugin.
//! TCP subscribers are either treated the same ([`TcpSubscribers::Block`]) or skipped and counted
//! when they fall behind ([`TcpSubscribers::DropAndCount`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use log::{debug, trace};

use crate::config::{EngineConfig, TcpSubscribers};
use crate::errors::EngineError;
use crate::zmqx::{self, EngineContext};

/// Where plugins publish (PUSH connects here).
pub(crate) const INPROC_IN: &str = "inproc://ee-in";
/// Where plugins subscribe (SUB connects here).
pub(crate) const INPROC_OUT: &str = "inproc://ee-out";
/// The supervisor's line to the forwarder.
pub(crate) const INPROC_CONTROL: &str = "inproc://ee-control";
/// Control message: drain what is queued and stop.
pub(crate) const STOP: &[u8] = b"stop";

/// Events moved per source before the forwarder looks at its other sockets.
const BATCH: usize = 512;

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
    inproc_in: zmq::Socket,
    inproc_out: zmq::Socket,
    tcp_in: zmq::Socket,
    tcp_out: zmq::Socket,
    control: zmq::Socket,
    tcp_mode: TcpSubscribers,
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
    /// Creates and binds every bus socket.
    pub(crate) fn bind(ctx: &EngineContext, config: &EngineConfig) -> Result<Bus, EngineError> {
        let hwm = config.high_water_mark;
        let address = config.bind_address.as_str();
        let publish_port = crate::config::port(config.publish_port, "publish_port")?;
        let subscribe_port = crate::config::port(config.subscribe_port, "subscribe_port")?;

        let inproc_in = ctx.socket(zmq::PULL)?;
        inproc_in.set_rcvhwm(hwm)?;
        inproc_in.set_linger(0)?;
        inproc_in
            .bind(INPROC_IN)
            .map_err(|_| EngineError::PubSocketInProcBindError(INPROC_IN.into()))?;

        let mut inproc_out = ctx.socket(zmq::XPUB)?;
        inproc_out.set_sndhwm(hwm)?;
        inproc_out.set_linger(0)?;
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
            inproc_in,
            inproc_out,
            tcp_in,
            tcp_out,
            control,
            tcp_mode: config.tcp_subscribers,
            publish,
            subscribe,
        })
    }

    /// The forwarder loop. Reports every sync topic it sees on `synced` (the start barrier), and
    /// returns when told to stop (after draining what is queued) or when the context shuts down.
    pub(crate) fn forward(
        self,
        sync_topics: HashSet<Vec<u8>>,
        synced: mpsc::Sender<Vec<u8>>,
        counters: &BusCounters,
    ) -> Result<(), zmq::Error> {
        let mut state = Forwarder {
            bus: &self,
            tcp_topics: HashSet::new(),
            counters,
            forwarded: 0,
        };
        let mut pending_sync = sync_topics;
        loop {
            let mut items = [
                self.control.as_poll_item(zmq::POLLIN),
                self.inproc_out.as_poll_item(zmq::POLLIN),
                self.tcp_out.as_poll_item(zmq::POLLIN),
                self.inproc_in.as_poll_item(zmq::POLLIN),
                self.tcp_in.as_poll_item(zmq::POLLIN),
            ];
            zmq::poll(&mut items, -1)?;
            if items[1].is_readable() {
                // Subscriptions of plugins; the sync topics tell the barrier who is ready.
                while let Some(sub) = recv_nowait(&self.inproc_out)? {
                    if let Some(topic) = sub.strip_prefix(b"\x01") {
                        if pending_sync.remove(topic) {
                            let _ = synced.send(topic.to_vec());
                        }
                    }
                }
            }
            if items[2].is_readable() {
                state.read_tcp_subscriptions()?;
            }
            if items[3].is_readable() {
                state.forward_batch(&self.inproc_in, true)?;
            }
            if items[4].is_readable() {
                state.forward_batch(&self.tcp_in, true)?;
            }
            if items[0].is_readable() {
                let msg = self.control.recv_bytes(0)?;
                if msg == STOP {
                    // Everything plugins published before the stop is forwarded (to whoever still
                    // listens); unregistered TCP publishers get one more batch, since they may
                    // never stop.
                    // Every plugin is done, so nothing may block the drain: an event that a
                    // leftover socket has no room for is counted, not waited for.
                    while state.forward_batch(&self.inproc_in, false)? > 0 {}
                    state.forward_batch(&self.tcp_in, false)?;
                    state.flush_counters();
                    debug!("forwarder stopped after {} events", state.forwarded);
                    return Ok(());
                }
            }
            state.flush_counters();
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

struct Forwarder<'a> {
    bus: &'a Bus,
    /// Topics that TCP subscribers want (XPUB reports the first subscribe and last unsubscribe).
    tcp_topics: HashSet<Vec<u8>>,
    counters: &'a BusCounters,
    forwarded: u64,
}

impl Forwarder<'_> {
    fn read_tcp_subscriptions(&mut self) -> Result<(), zmq::Error> {
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
        Ok(())
    }

    fn tcp_wants(&self, event: &[u8]) -> bool {
        self.tcp_topics.iter().any(|t| event.starts_with(t))
    }

    /// Moves up to [`BATCH`] events (whole multi-part messages) from `source`; returns how many.
    /// With `blocking`, a full subscriber makes it wait (backpressure); without, the event is
    /// counted as undeliverable.
    fn forward_batch(&mut self, source: &zmq::Socket, blocking: bool) -> Result<usize, zmq::Error> {
        let mut moved = 0;
        let mut in_message = false;
        // Per message: whether its parts go to the TCP subscribers, and to the inproc ones.
        let mut to_tcp = false;
        let mut to_plugins = true;
        while moved < BATCH || in_message {
            let mut msg = zmq::Message::new();
            match source.recv(&mut msg, if in_message { 0 } else { zmq::DONTWAIT }) {
                Ok(()) => {}
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => return Err(e),
            }
            let more = msg.get_more();
            let flags = if more { zmq::SNDMORE } else { 0 };
            if !in_message {
                to_tcp = !self.tcp_topics.is_empty() && self.tcp_wants(&msg);
                to_plugins = true;
            }
            // With NODROP only a message's first part can meet a full queue; when it does, the
            // whole message is skipped for those subscribers and counted.
            if to_tcp {
                let mode = match self.bus.tcp_mode {
                    TcpSubscribers::Block => 0,
                    TcpSubscribers::DropAndCount => zmq::DONTWAIT,
                };
                match self.bus.tcp_out.send(&msg[..], flags | mode) {
                    Ok(()) => {}
                    Err(zmq::Error::EAGAIN) => {
                        self.counters.tcp_dropped.fetch_add(1, Ordering::Relaxed);
                        to_tcp = false;
                    }
                    Err(e) => return Err(e),
                }
            }
            if to_plugins {
                let mode = if blocking { 0 } else { zmq::DONTWAIT };
                match self.bus.inproc_out.send(msg, flags | mode) {
                    Ok(()) => {}
                    Err(zmq::Error::EAGAIN) => {
                        self.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                        to_plugins = false;
                    }
                    Err(e) => return Err(e),
                }
            }
            in_message = more;
            if !more {
                moved += 1;
            }
        }
        self.forwarded += moved as u64;
        Ok(moved)
    }

    fn flush_counters(&self) {
        self.counters
            .forwarded
            .store(self.forwarded, Ordering::Relaxed);
    }
}
