//! The engine side of the external-plugin protocol (v1 and v2; `docs/protocol.md`).
//!
//! One thread per registered external plugin runs [`serve`]: it answers the plugin process's
//! requests on a ROUTER socket bound to the plugin's TCP port, hands out the events of the
//! plugin's SUB socket through its delivery [`window`], and publishes what the process sends.
//! The ROUTER socket is what makes the protocol robust: requests from a dead process never wedge
//! the thread, a restarted v2 process is recognised as a new session (and gets the unacknowledged
//! events again), and a request can wait for events while other requests are answered.
//!
//! The thread takes its plugin's events off the bus as they come, whether or not a request
//! waits, into a buffer of at most `buffer_limit` events and `buffer_bytes` bytes (plus the one
//! event that crosses that bound): a process that is not connected (or not
//! reading) holds up the bus only once that buffer is full, and the thread says so (a warning
//! naming the plugin, its port, how many events wait and whether a process is connected).
//!
//! An event's bytes are not copied here: a published event goes to the bus as the `zmq_msg_t`
//! it was read in (events under [`MOVE_AT_LEAST`] bytes are copied, see there), and an event
//! off the bus stays the `zmq_msg_t` it arrived in, in the buffer and the delivery window; a
//! reply sends a shared copy of it (`zmq_msg_copy`, a reference count), so that the window keeps
//! it for redelivery.

mod window;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_engine_protocol::{self as wire, ErrorCode, Reply, Request, WireError};
use log::{debug, info, warn};
use uuid::Uuid;

use crate::errors::EngineError;
use crate::zmqx::{Frame, ListenerGuard};
use window::Window;

/// What the protocol needs to know about the plugin it serves: what the supervisor read from
/// the plugin once, at start-up.
pub(crate) struct PluginInfo {
    pub name: String,
    pub id: Uuid,
    pub filters: Vec<Vec<u8>>,
}

/// Live counters of one external plugin, shared with the supervisor (run report, stats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    delivered: AtomicU64,
    redelivered: AtomicU64,
    acked: AtomicU64,
    pending: AtomicU64,
    buffered: AtomicU64,
    buffered_bytes: AtomicU64,
    published: AtomicU64,
    errors: AtomicU64,
    sessions: AtomicU64,
    /// TCP connections open to the plugin's port (kept by the engine's port monitor).
    pub(crate) connections: AtomicU64,
    dropped_connections: AtomicU64,
    /// Connections refused at the handshake (they did not present the plugin's token).
    pub(crate) refused: AtomicU64,
    /// Set by the port monitor when the port could not accept a connection for lack of file
    /// descriptors; the plugin's thread then closes the port for a while (`ListenerGuard`).
    pub(crate) accept_failed: std::sync::atomic::AtomicBool,
}

impl Counters {
    pub(crate) fn snapshot(&self, name: &str) -> wire::Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        wire::Stats {
            name: name.to_string(),
            delivered: get(&self.delivered),
            redelivered: get(&self.redelivered),
            acked: get(&self.acked),
            pending: get(&self.pending),
            buffered: get(&self.buffered),
            buffered_bytes: get(&self.buffered_bytes),
            published: get(&self.published),
            errors: get(&self.errors),
            sessions: get(&self.sessions),
            connections: get(&self.connections),
            dropped_connections: get(&self.dropped_connections),
            refused: get(&self.refused),
        }
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Everything one plugin's protocol thread needs, handed to [`serve`] by the supervisor: the
/// plugin's description and the engine's settings.
pub(crate) struct Served {
    pub info: PluginInfo,
    pub counters: Arc<Counters>,
    pub max_pending: usize,
    pub buffer_limit: usize,
    /// Most bytes of events in the buffer (`EngineConfig::buffer_bytes`).
    pub buffer_bytes: usize,
    /// The bound TCP port, for messages.
    pub port: u16,
    pub limits: RequestLimits,
    /// The port's bound endpoint, for the listener guard (none: no guard).
    pub endpoint: Option<String>,
}

/// Bounds of one request (`EngineConfig::max_event_bytes`, `max_frames`, `max_request_bytes`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLimits {
    pub max_event_bytes: usize,
    pub max_frames: usize,
    pub max_request_bytes: usize,
}

impl RequestLimits {
    pub(crate) fn of(config: &crate::config::EngineConfig) -> Self {
        RequestLimits {
            max_event_bytes: config.max_event_bytes,
            max_frames: config.max_frames,
            max_request_bytes: config.max_request_bytes,
        }
    }
}

/// Requests read in one go before the thread looks at its other work again (a client that
/// floods requests cannot starve the waiting ones).
const REQUESTS_PER_ROUND: usize = 256;
/// Sessions remembered (for dropping a connection, and ignoring a dropped one) before the oldest
/// memory is let go.
const SESSIONS_REMEMBERED: usize = 65_536;
/// Most frames of a request's routing envelope (routing id, REQ_CORRELATE id, delimiter).
const ENVELOPE_FRAMES: usize = 4;
/// How often the thread looks at its port's accept failures while it would otherwise sleep.
const GUARD_EVERY_MS: i64 = 500;
/// Published events of at least this many bytes go to the bus as the message they were read in;
/// smaller ones are copied into a message of their own. ZeroMQ reads small frames from TCP into
/// one shared 8 KiB buffer (`ZMQ_IN_BATCH_SIZE`) and hands them out as references into it: one
/// such event held for long (in a buffer or a window) would keep the whole 8 KiB alive. Larger
/// frames get a buffer of their own, which moving costs nothing.
const MOVE_AT_LEAST: usize = 8192;

impl Served {
    /// `info` with the default settings of `EngineConfig` (for a plugin's own `start`).
    pub(crate) fn with_defaults(info: PluginInfo) -> Served {
        let config = crate::config::EngineConfig::new(0, 0);
        Served {
            info,
            counters: Arc::default(),
            max_pending: config.max_pending,
            buffer_limit: config.buffer_limit,
            buffer_bytes: config.buffer_bytes,
            port: 0,
            limits: RequestLimits::of(&config),
            endpoint: None,
        }
    }
}

/// How long events may wait, with no request asking for them, before the engine warns: when no
/// process is connected to the plugin's port, and when one is (it may just be slow).
const STALL_WARN_UNCONNECTED: Duration = Duration::from_secs(3);
const STALL_WARN_CONNECTED: Duration = Duration::from_secs(30);
/// Least time between two warnings about the same plugin.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// Watches for events that wait with nobody asking for them, and rate-limits the warnings.
#[derive(Default)]
struct Stall {
    /// Since when events have waited with no consuming request.
    since: Option<Instant>,
    last_warning: Option<Instant>,
    /// A warning was given in the current stall (so its end is worth an info line).
    warned: bool,
}

/// Serves the protocol until the plugin process sends `quit` (Ok) or the engine shuts the
/// context down (an error carrying `ETERM`).
pub(crate) fn serve(
    served: Served,
    push: zmq::Socket,
    sub: zmq::Socket,
    router: zmq::Socket,
) -> Result<(), EngineError> {
    let Served {
        info,
        counters,
        max_pending,
        buffer_limit,
        buffer_bytes,
        port,
        limits,
        endpoint,
    } = served;
    let info = &info;
    let hello = wire::Hello {
        protocol: wire::PROTOCOL_VERSION,
        versions: vec![1, 2],
        engine: format!("event-engine {}", env!("CARGO_PKG_VERSION")),
        name: info.name.clone(),
        id: info.id.to_string(),
        subscriptions: info
            .filters
            .iter()
            .map(|f| wire::Filter::from_bytes(f))
            .collect(),
        max_batch: wire::MAX_BATCH,
        max_pending: max_pending as u64,
        max_event_bytes: limits.max_event_bytes as u64,
        max_frames: limits.max_frames as u64,
        max_request_bytes: limits.max_request_bytes as u64,
    };
    let guard = endpoint.map(|endpoint| {
        let what = format!("the port of external plugin '{}'", info.name);
        ListenerGuard::with_flag(&what, &endpoint)
    });
    let mut server = Server {
        limits,
        guard,
        fds: HashMap::new(),
        dropped: HashSet::new(),
        to_drop: RefCell::new(Vec::new()),
        warned_dropping: false,
        info,
        push,
        sub,
        router,
        window: Window::new(max_pending),
        buffer: Buffer::default(),
        buffer_limit,
        buffer_bytes,
        port,
        waiting: None,
        counters,
        hello: Box::new(hello),
        stall: Stall::default(),
    };
    debug!("external plugin {} ({}) serving", info.name, info.id);
    server.run()
}

enum Wait {
    /// v1 `next_msg`: one event as a bare frame, no time limit.
    V1,
    /// v2 `recv`: up to `max` events behind a header, and at most `max_bytes` bytes of event
    /// data (a single event larger than that goes alone).
    Batch { max: usize, max_bytes: usize },
}

struct Waiting {
    session: Vec<u8>,
    envelope: Vec<Vec<u8>>,
    kind: Wait,
    deadline: Option<Instant>,
}

enum Flow {
    Continue,
    Quit,
}

struct Server<'a> {
    info: &'a PluginInfo,
    push: zmq::Socket,
    sub: zmq::Socket,
    router: zmq::Socket,
    window: Window<Frame>,
    /// Events taken off the bus and not yet delivered, oldest first, at most `buffer_limit`
    /// events and `buffer_bytes` bytes (an empty buffer takes one event of any size).
    buffer: Buffer,
    buffer_limit: usize,
    buffer_bytes: usize,
    port: u16,
    waiting: Option<Waiting>,
    counters: Arc<Counters>,
    hello: Box<wire::Hello>,
    stall: Stall,
    limits: RequestLimits,
    guard: Option<ListenerGuard>,
    /// Session -> the file descriptor of its TCP connection (`ZMQ_SRCFD`), to drop it.
    fds: HashMap<Vec<u8>, i32>,
    /// Sessions whose connection was dropped: their requests are ignored.
    dropped: HashSet<Vec<u8>>,
    /// Sessions whose replies did not fit (found by `send`, dropped by the loop).
    to_drop: RefCell<Vec<Vec<u8>>>,
    warned_dropping: bool,
}

/// Events taken off the bus, and their bytes together.
#[derive(Default)]
struct Buffer {
    events: VecDeque<Frame>,
    bytes: usize,
}

impl Buffer {
    fn len(&self) -> usize {
        self.events.len()
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn push_back(&mut self, e: Frame) {
        self.bytes += e.len();
        self.events.push_back(e);
    }

    fn push_front(&mut self, e: Frame) {
        self.bytes += e.len();
        self.events.push_front(e);
    }

    fn pop_front(&mut self) -> Option<Frame> {
        let e = self.events.pop_front()?;
        self.bytes -= e.len();
        Some(e)
    }
}

/// One frame of a reply: bytes to copy (status lines, headers) or an event's message.
enum Body<'b> {
    Bytes(&'b [u8]),
    Frame(Frame),
}

/// One request as read from the ROUTER socket.
enum Incoming {
    /// Its frames (routing envelope first), as read.
    Request(Vec<Frame>),
    /// Over a limit: only the envelope is kept, and the reason.
    TooLarge(Vec<Vec<u8>>, String),
    /// From a dropped connection: ignored.
    Ignored,
}

impl Server<'_> {
    fn id(&self) -> Uuid {
        self.info.id
    }

    fn rcv_err(&self, e: zmq::Error) -> EngineError {
        EngineError::EngineExtSocketRcvError(self.id(), e)
    }

    fn pub_err(&self, e: zmq::Error) -> EngineError {
        EngineError::EngineExtPubSocketSendError(self.id(), e)
    }

    fn snd_err(&self, e: zmq::Error) -> EngineError {
        EngineError::EngineExtSocketSendError(self.id(), e)
    }

    /// True while the buffer takes more events off the bus.
    fn buffer_has_room(&self) -> bool {
        self.buffer.len() < self.buffer_limit && self.buffer.bytes < self.buffer_bytes
    }

    fn run(&mut self) -> Result<(), EngineError> {
        loop {
            if self.waiting.is_some() {
                self.try_fulfill()?;
            }
            self.fill_buffer()?;
            let now = Instant::now();
            let mut wake: Option<Instant> = self.watch(now);
            if let Some(deadline) = self.waiting.as_ref().and_then(|w| w.deadline) {
                if deadline <= now {
                    self.reply_no_events()?;
                } else {
                    wake = Some(wake.map_or(deadline, |w| w.min(deadline)));
                }
            }
            let mut timeout = wake.map_or(-1, |w| ceil_ms(w.saturating_duration_since(now)).max(1));
            if let Some(g) = &self.guard {
                let every = g.retry_in_ms().unwrap_or(GUARD_EVERY_MS);
                timeout = if timeout < 0 {
                    every
                } else {
                    timeout.min(every)
                };
            }
            let want_events = self.buffer_has_room();
            let readable = {
                let mut items = [
                    self.router.as_poll_item(zmq::POLLIN),
                    self.sub.as_poll_item(if want_events {
                        zmq::POLLIN
                    } else {
                        zmq::PollEvents::empty()
                    }),
                ];
                zmq::poll(&mut items, timeout).map_err(|e| self.rcv_err(e))?;
                items[0].is_readable()
            };
            if let Some(g) = &mut self.guard {
                let failed = self.counters.accept_failed.swap(false, Ordering::Relaxed);
                g.check_flag(&self.router, failed);
            }
            if readable {
                for _ in 0..REQUESTS_PER_ROUND {
                    let Some(incoming) = self.read_request()? else {
                        break;
                    };
                    let flow = match incoming {
                        Incoming::Request(frames) => self.handle(frames)?,
                        Incoming::TooLarge(envelope, why) => {
                            let e = WireError::new(ErrorCode::TooLarge, why);
                            self.reply_error(&envelope, &e)?;
                            Flow::Continue
                        }
                        Incoming::Ignored => Flow::Continue,
                    };
                    self.drop_pending();
                    if let Flow::Quit = flow {
                        info!("external plugin {} quit", self.info.name);
                        return Ok(());
                    }
                }
            }
            self.drop_pending();
        }
    }

    /// Reads one request frame by frame, within the limits: past a limit the rest of the request
    /// is read and let go (ZeroMQ delivers a message whole), keeping only its envelope.
    fn read_request(&mut self) -> Result<Option<Incoming>, EngineError> {
        let id = self.id();
        let err = |e| EngineError::EngineExtSocketRcvError(id, e);
        let Some(first) = Frame::recv(&mut self.router, zmq::DONTWAIT).map_err(err)? else {
            return Ok(None);
        };
        let mut fd = first.source_fd();
        let mut more = first.more();
        let mut frames = vec![first];
        let (mut count, mut bytes) = (0usize, 0usize);
        let mut over: Option<String> = None;
        // The routing envelope (a REQ_CORRELATE request id, the empty delimiter) is not part of
        // the request; it is always kept, so that an error reply reaches the client.
        let mut envelope = 1;
        let mut in_envelope = true;
        let limits = self.limits;
        while more {
            let Some(f) = Frame::recv(&mut self.router, 0).map_err(err)? else {
                break;
            };
            more = f.more();
            if fd < 0 {
                fd = f.source_fd();
            }
            if in_envelope && envelope < ENVELOPE_FRAMES {
                in_envelope = !f.data().is_empty();
                frames.push(f);
                envelope += 1;
                continue;
            }
            in_envelope = false;
            if over.is_some() {
                continue;
            }
            count += 1;
            bytes += f.data().len();
            if count > limits.max_frames {
                over = Some(format!(
                    "the request has more than {} frames (max_frames)",
                    limits.max_frames
                ));
            } else if bytes > limits.max_request_bytes {
                over = Some(format!(
                    "the request is larger than {} bytes (max_request_bytes)",
                    limits.max_request_bytes
                ));
            } else {
                frames.push(f);
            }
        }
        if self.dropped.contains(frames[0].data()) {
            return Ok(Some(Incoming::Ignored));
        }
        if fd >= 0 {
            if self.fds.len() >= SESSIONS_REMEMBERED {
                self.fds.clear();
            }
            self.fds.insert(frames[0].data().to_vec(), fd);
        }
        Ok(Some(match over {
            None => Incoming::Request(frames),
            Some(why) => {
                let envelope = frames[..envelope.min(frames.len())]
                    .iter()
                    .map(|f| f.data().to_vec())
                    .collect();
                Incoming::TooLarge(envelope, why)
            }
        }))
    }

    /// Drops the connections whose replies did not fit: their queue of unread replies is full
    /// (a client that sends requests and does not read the replies). Counted per plugin
    /// (`dropped_connections`); the connection is shut down so it costs nothing more.
    fn drop_pending(&mut self) {
        let sessions: Vec<Vec<u8>> = self.to_drop.borrow_mut().drain(..).collect();
        for session in sessions {
            if !self.dropped.insert(session.clone()) {
                continue;
            }
            if self.dropped.len() >= SESSIONS_REMEMBERED {
                self.dropped.clear();
            }
            add(&self.counters.dropped_connections, 1);
            if self.waiting.as_ref().is_some_and(|w| w.session == session) {
                self.waiting = None;
            }
            if !self.warned_dropping {
                warn!(
                    "external plugin {}: a client does not read its replies; its connection is \
                     dropped (counted in dropped_connections; said once)",
                    self.info.name
                );
                self.warned_dropping = true;
            }
            if let Some(fd) = self.fds.remove(&session) {
                crate::zmqx::shutdown_connection(fd);
            }
        }
    }

    /// Sends `envelope` then `body`; false when the client is gone (nothing was delivered).
    fn send(&mut self, envelope: &[Vec<u8>], body: Vec<Body<'_>>) -> Result<bool, EngineError> {
        let mut body = body.into_iter().peekable();
        // Never blocks: a reply that does not fit means the client has a full queue of unread
        // replies; its connection is dropped (see `drop_pending`).
        for (i, frame) in envelope.iter().enumerate() {
            match self
                .router
                .send(frame.as_slice(), zmq::SNDMORE | zmq::DONTWAIT)
            {
                Ok(()) => {}
                // ROUTER_MANDATORY: the client's connection is gone.
                Err(zmq::Error::EHOSTUNREACH) if i == 0 => return Ok(false),
                Err(zmq::Error::EAGAIN) if i == 0 => {
                    self.to_drop.borrow_mut().push(frame.clone());
                    return Ok(false);
                }
                Err(e) => return Err(self.snd_err(e)),
            }
        }
        while let Some(frame) = body.next() {
            let flags = if body.peek().is_some() {
                zmq::SNDMORE | zmq::DONTWAIT
            } else {
                zmq::DONTWAIT
            };
            let sent = match frame {
                Body::Bytes(bytes) => self.router.send(bytes, flags).map(|()| true),
                // On success libzmq takes the message (a share of the window's): no copy.
                Body::Frame(mut f) => f.send(&mut self.router, flags),
            };
            match sent {
                Ok(true) => {}
                // A ROUTER takes the rest of a message whose first frame it took.
                Ok(false) => return Err(self.snd_err(zmq::Error::EAGAIN)),
                Err(e) => return Err(self.snd_err(e)),
            }
        }
        Ok(true)
    }

    /// Sends `envelope` then `reply`; false when the client is gone.
    fn send_reply<B: AsRef<[u8]>>(
        &mut self,
        envelope: &[Vec<u8>],
        reply: &Reply<B>,
    ) -> Result<bool, EngineError> {
        let frames = reply.to_frames();
        let body = frames.iter().map(|f| Body::Bytes(f.as_ref())).collect();
        self.send(envelope, body)
    }

    fn reply(&mut self, envelope: &[Vec<u8>], reply: Reply<&[u8]>) -> Result<(), EngineError> {
        self.send_reply(envelope, &reply).map(|_| ())
    }

    fn reply_error(&mut self, envelope: &[Vec<u8>], e: &WireError) -> Result<(), EngineError> {
        add(&self.counters.errors, 1);
        debug!("external plugin {}: error reply {e}", self.info.name);
        self.reply(envelope, Reply::Error(e.clone()))
    }

    fn handle(&mut self, mut frames: Vec<Frame>) -> Result<Flow, EngineError> {
        let Some(session) = frames.first().map(|f| f.data().to_vec()) else {
            return Ok(Flow::Continue);
        };
        let Some(delim) = frames
            .iter()
            .skip(1)
            .position(|f| f.data().is_empty())
            .map(|i| i + 1)
        else {
            let e = WireError::new(
                ErrorCode::MissingDelimiter,
                "the request has no empty delimiter frame; use a REQ socket, or send an empty frame first",
            );
            self.reply_error(&[session, Vec::new()], &e)?;
            return Ok(Flow::Continue);
        };
        let envelope: Vec<Vec<u8>> = frames[..=delim].iter().map(|f| f.data().to_vec()).collect();
        let envelope = envelope.as_slice();
        // A newer request from the same client replaces the one it was waiting on
        // (the client gave up on it: REQ_RELAXED, or a DEALER).
        if self.waiting.as_ref().is_some_and(|w| w.session == session) {
            self.waiting = None;
        }
        let body: Vec<&[u8]> = frames[delim + 1..].iter().map(Frame::data).collect();
        let request = match wire::parse_request(&body) {
            Ok(r) => r,
            Err(e) => {
                self.reply_error(envelope, &e)?;
                return Ok(Flow::Continue);
            }
        };
        match request {
            Request::NextMsg => {
                // v1: whatever it is handed is delivered (0.2's semantics); no session rules.
                self.waiting = Some(Waiting {
                    session,
                    envelope: envelope.to_vec(),
                    kind: Wait::V1,
                    deadline: None,
                });
            }
            Request::Recv {
                max,
                timeout_ms,
                max_bytes,
                ack,
            } => {
                let max_bytes =
                    max_bytes.map_or(usize::MAX, |b| usize::try_from(b).unwrap_or(usize::MAX));
                let kind = Wait::Batch {
                    max: max as usize,
                    max_bytes,
                };
                self.consume(session, envelope, ack, kind, timeout_ms)?
            }
            Request::Publish(data) if data.len() > self.limits.max_event_bytes => {
                let e = too_large(data.len(), self.limits.max_event_bytes, None);
                self.reply_error(envelope, &e)?;
            }
            Request::PublishBatch(events)
                if events.iter().any(|e| e.len() > self.limits.max_event_bytes) =>
            {
                let (i, e) = events
                    .iter()
                    .enumerate()
                    .find(|(_, e)| e.len() > self.limits.max_event_bytes)
                    .map(|(i, e)| (i, e.len()))
                    .unwrap_or((0, 0));
                let e = too_large(e, self.limits.max_event_bytes, Some(i + 1));
                self.reply_error(envelope, &e)?;
            }
            Request::Publish(data) => {
                let found = locate(&frames, delim + 1, &[data]).map_err(|e| self.pub_err(e))?;
                let events = take_events(&mut frames, found).map_err(|e| self.pub_err(e))?;
                self.publish(events)?;
                self.reply(envelope, Reply::MsgPublished)?;
            }
            Request::PublishBatch(events) => {
                let count = events.len() as u64;
                let found = locate(&frames, delim + 1, &events).map_err(|e| self.pub_err(e))?;
                let events = take_events(&mut frames, found).map_err(|e| self.pub_err(e))?;
                self.publish(events)?;
                self.reply(envelope, Reply::Published { count })?;
            }
            Request::Hello => {
                self.reply(envelope, Reply::Hello(self.hello.clone()))?;
            }
            Request::Stats => {
                let stats = self.counters.snapshot(&self.info.name);
                self.reply(envelope, Reply::Stats(Box::new(stats)))?;
            }
            Request::Ack { seq } => match self.window.ack(seq) {
                Ok(changes) => {
                    add(&self.counters.acked, changes.acked);
                    self.update_gauges();
                    let pending = self.window.pending() as u64;
                    self.reply(envelope, Reply::Acked { seq, pending })?;
                }
                Err(e) => self.reply_error(envelope, &e)?,
            },
            Request::Quit => {
                add(&self.counters.acked, self.window.finish_session(&session));
                self.update_gauges();
                self.reply(envelope, Reply::Bye)?;
                return Ok(Flow::Quit);
            }
        }
        Ok(Flow::Continue)
    }

    fn consume(
        &mut self,
        session: Vec<u8>,
        envelope: &[Vec<u8>],
        ack: Option<u64>,
        kind: Wait,
        timeout_ms: Option<u64>,
    ) -> Result<(), EngineError> {
        let changes = match self.window.begin_consume(&session, ack) {
            Ok(c) => c,
            Err(e) => return self.reply_error(envelope, &e),
        };
        add(&self.counters.acked, changes.acked);
        if changes.new_session {
            add(&self.counters.sessions, 1);
            if self.window.pending() > 0 {
                info!(
                    "external plugin {}: a new client session gets {} unacknowledged event(s) again",
                    self.info.name,
                    self.window.pending()
                );
            }
        }
        self.update_gauges();
        if self.window.room() == 0 && self.window.redeliverable() == 0 {
            let e = WireError::new(
                ErrorCode::PendingFull,
                format!(
                    "{} events are delivered and unacknowledged; acknowledge some first",
                    self.window.pending()
                ),
            );
            return self.reply_error(envelope, &e);
        }
        // A consuming request from another client takes over: the old one is abandoned.
        self.waiting = Some(Waiting {
            session,
            envelope: envelope.to_vec(),
            kind,
            deadline: timeout_ms.map(|t| Instant::now() + Duration::from_millis(t)),
        });
        Ok(())
    }

    /// Takes the next event off the bus (the buffer first) without blocking.
    fn next_from_bus(&mut self) -> Result<Option<Frame>, EngineError> {
        if let Some(e) = self.buffer.pop_front() {
            return Ok(Some(e));
        }
        self.recv_bus()
    }

    /// The next event off the bus, as the message it came in (no copy).
    fn recv_bus(&mut self) -> Result<Option<Frame>, EngineError> {
        let id = self.id();
        Frame::recv(&mut self.sub, zmq::DONTWAIT)
            .map_err(|e| EngineError::EngineExtSubSocketRcvError(id, e))
    }

    /// Takes what the bus holds for this plugin into the buffer, up to `buffer_limit` events and
    /// `buffer_bytes` bytes, so that the bus is never held up by a process that is not asking
    /// (until the buffer is full).
    fn fill_buffer(&mut self) -> Result<(), EngineError> {
        let before = self.buffer.len();
        while self.buffer_has_room() {
            match self.recv_bus()? {
                Some(e) => self.buffer.push_back(e),
                None => break,
            }
        }
        if self.buffer.len() != before {
            self.update_gauges();
        }
        Ok(())
    }

    /// Warns (at a bounded rate) while events wait and no request asks for them; returns when
    /// to look again.
    fn watch(&mut self, now: Instant) -> Option<Instant> {
        let stalled = !self.buffer.is_empty() && self.waiting.is_none();
        if !stalled {
            if self.stall.warned {
                info!(
                    "external plugin {} (port {}): its process asks for events again ({} waiting)",
                    self.info.name,
                    self.port,
                    self.buffer.len()
                );
            }
            self.stall.since = None;
            self.stall.warned = false;
            return None;
        }
        let since = *self.stall.since.get_or_insert(now);
        let connections = self.counters.connections.load(Ordering::Relaxed);
        let full = !self.buffer_has_room();
        let patience = if connections == 0 {
            STALL_WARN_UNCONNECTED
        } else {
            STALL_WARN_CONNECTED
        };
        let due = self
            .stall
            .last_warning
            .map_or(now, |last| last + WARN_EVERY)
            .max(since + patience);
        // A full buffer of a plugin whose process is away holds up the bus: say so at once (the
        // first time in this stall, and at most every WARN_EVERY). With a process connected, a
        // full buffer is ordinary backpressure (a few large events fill `buffer_bytes` while
        // the process works on the last batch): the usual patience applies.
        let rested = self
            .stall
            .last_warning
            .is_none_or(|last| now >= last + WARN_EVERY);
        if now >= due || (full && connections == 0 && !self.stall.warned && rested) {
            let who = if connections == 0 {
                "no process is connected to its port".to_string()
            } else {
                format!("{connections} connection(s) open, but no request asks for events")
            };
            let bus = if full {
                format!(
                    "; its buffer is full ({} bytes; buffer_limit {}, buffer_bytes {}): the bus \
                     now waits for it, and so does every publisher",
                    self.buffer.bytes, self.buffer_limit, self.buffer_bytes
                )
            } else {
                String::new()
            };
            warn!(
                "external plugin {} (port {}): {} event(s) wait for it, none asked for in {:.0?}; \
                 {who}{bus}",
                self.info.name,
                self.port,
                self.buffer.len(),
                now - since
            );
            self.stall.last_warning = Some(now);
            self.stall.warned = true;
            return Some(now + WARN_EVERY);
        }
        Some(due)
    }

    /// Answers the waiting request if events are available.
    fn try_fulfill(&mut self) -> Result<(), EngineError> {
        let Some(waiting) = self.waiting.as_ref() else {
            return Ok(());
        };
        let (max, max_bytes) = match waiting.kind {
            Wait::V1 => return self.fulfill_v1(),
            Wait::Batch { max, max_bytes } => (max, max_bytes),
        };
        // What the window holds for this session first (redeliveries), then new events off the
        // bus, while the batch has room in both its count and its bytes. An event that does not
        // fit goes back to the front of the buffer, for the next request.
        let fit = self.window.fit(max, max_bytes);
        let (mut count, mut bytes) = (fit.count, fit.bytes);
        if !fit.full {
            while count < max && self.window.room() > 0 {
                let Some(e) = self.next_from_bus()? else {
                    break;
                };
                if !fits(count, bytes, e.len(), max_bytes) {
                    self.buffer.push_front(e);
                    break;
                }
                count += 1;
                bytes = bytes.saturating_add(e.len());
                self.window.push(e);
            }
        }
        let Some(waiting) = self.waiting.take() else {
            return Ok(());
        };
        let (seq, n, redelivered, fresh) = {
            let batch: Vec<_> = self.window.peek(count).collect();
            let Some(first) = batch.first() else {
                self.waiting = Some(waiting);
                return Ok(());
            };
            let redelivered = batch.iter().take_while(|o| o.redelivered).count();
            let fresh = batch.iter().filter(|o| !o.redelivered).count() as u64;
            (first.seq, batch.len(), redelivered, fresh)
        };
        let header = wire::EventsHeader {
            seq,
            count: u32::try_from(n).unwrap_or(u32::MAX),
            redelivered: u32::try_from(redelivered).unwrap_or(u32::MAX),
        }
        .to_frame();
        // The reply takes a share of each event; the window keeps its own for redelivery.
        let mut body = Vec::with_capacity(n + 1);
        body.push(Body::Bytes(&header));
        for e in self.window.peek_data_mut(n) {
            body.push(Body::Frame(e.share().map_err(|e| {
                EngineError::EngineExtSocketSendError(self.info.id, e)
            })?));
        }
        let sent = self.send(&waiting.envelope, body)?;
        if sent {
            self.window.commit(n);
            add(&self.counters.delivered, fresh);
            add(&self.counters.redelivered, n as u64 - fresh);
        } else {
            debug!(
                "external plugin {}: client left before its reply; {n} event(s) stay pending",
                self.info.name
            );
        }
        self.update_gauges();
        Ok(())
    }

    /// Answers a waiting v1 `next_msg` with the oldest unacknowledged event, or the next one off
    /// the bus; once sent it is delivered and acknowledged (0.2's semantics).
    fn fulfill_v1(&mut self) -> Result<(), EngineError> {
        if self.window.pending() == 0 {
            match self.next_from_bus()? {
                Some(e) => self.window.push(e),
                None => return Ok(()),
            }
        }
        let Some(waiting) = self.waiting.take() else {
            return Ok(());
        };
        let Some(redelivered) = self.window.front().map(|f| f.redelivered) else {
            self.waiting = Some(waiting);
            return Ok(());
        };
        let share = match self.window.front_data_mut() {
            Some(e) => e.share().map_err(|e| self.snd_err(e))?,
            None => return Ok(()),
        };
        // A v1 reply is the event's bare frame.
        if self.send(&waiting.envelope, vec![Body::Frame(share)])? {
            add(&self.counters.acked, self.window.deliver_front());
            let counter = if redelivered {
                &self.counters.redelivered
            } else {
                &self.counters.delivered
            };
            add(counter, 1);
        } else {
            debug!(
                "external plugin {}: client left before its reply; the event stays",
                self.info.name
            );
        }
        self.update_gauges();
        Ok(())
    }

    fn reply_no_events(&mut self) -> Result<(), EngineError> {
        if let Some(w) = self.waiting.take() {
            let none = Reply::<&[u8]>::Events {
                seq: 0,
                redelivered: 0,
                events: Vec::new(),
            };
            self.send_reply(&w.envelope, &none)?;
        }
        Ok(())
    }

    /// Publishes events onto the bus, in order. While the bus is full, keeps taking this plugin's
    /// own events off the bus (up to `buffer_limit`), so that a plugin which both consumes and
    /// publishes can never deadlock with the forwarder. Waits for room as long as it takes: the
    /// client is told only once its events are on the bus (backpressure).
    fn publish(&mut self, events: Vec<Frame>) -> Result<(), EngineError> {
        let id = self.id();
        let count = events.len();
        for mut event in events {
            loop {
                // The event's own message: libzmq takes it (no copy), or leaves it here when the
                // bus is full.
                match event.send(&mut self.push, zmq::DONTWAIT) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => return Err(EngineError::EngineExtPubSocketSendError(id, e)),
                }
                let can_buffer = self.buffer_has_room();
                let now = Instant::now();
                let rested = self
                    .stall
                    .last_warning
                    .is_none_or(|last| now >= last + WARN_EVERY);
                if !can_buffer && !self.stall.warned && rested {
                    warn!(
                        "external plugin {} (port {}): {} events buffered while waiting to \
                         publish; publishing now waits for the bus (is a consumer stuck?)",
                        self.info.name,
                        self.port,
                        self.buffer.len()
                    );
                    self.stall.warned = true;
                    self.stall.last_warning = Some(now);
                }
                let mut items = [
                    self.push.as_poll_item(zmq::POLLOUT),
                    self.sub.as_poll_item(if can_buffer {
                        zmq::POLLIN
                    } else {
                        zmq::PollEvents::empty()
                    }),
                ];
                zmq::poll(&mut items, -1)
                    .map_err(|e| EngineError::EngineExtPubSocketSendError(id, e))?;
                if items[1].is_readable() {
                    self.fill_buffer()?;
                }
            }
        }
        add(&self.counters.published, count as u64);
        self.update_gauges();
        Ok(())
    }

    fn update_gauges(&self) {
        self.counters
            .pending
            .store(self.window.pending() as u64, Ordering::Relaxed);
        self.counters
            .buffered
            .store(self.buffer.len() as u64, Ordering::Relaxed);
        self.counters
            .buffered_bytes
            .store(self.buffer.bytes as u64, Ordering::Relaxed);
    }
}

/// True when an event of `len` bytes may join a batch of `count` events and `bytes` bytes
/// within `max_bytes`: always when the batch is empty (an event larger than the budget goes
/// alone), else when the sum stays within the budget.
fn fits(count: usize, bytes: usize, len: usize, max_bytes: usize) -> bool {
    count == 0 || bytes.saturating_add(len) <= max_bytes
}

/// Where each event of a publish request is: a frame of `frames[from..]` (the events are
/// slices of them, in order), or, should one not be a frame's whole bytes, a copy of it.
enum Found {
    At(usize),
    Copied(Frame),
}

fn locate(frames: &[Frame], from: usize, events: &[&[u8]]) -> Result<Vec<Found>, zmq::Error> {
    let mut next = from;
    events
        .iter()
        .map(|e| {
            let at = (next..frames.len()).find(|&i| {
                let d = frames[i].data();
                d.len() == e.len() && std::ptr::eq(d.as_ptr(), e.as_ptr())
            });
            match at {
                Some(i) => {
                    next = i + 1;
                    Ok(Found::At(i))
                }
                None => Frame::from_bytes(e).map(Found::Copied),
            }
        })
        .collect()
}

/// The messages to publish: a frame of at least [`MOVE_AT_LEAST`] bytes is taken out of
/// `frames` (left empty there), a smaller one copied.
fn take_events(frames: &mut [Frame], found: Vec<Found>) -> Result<Vec<Frame>, zmq::Error> {
    found
        .into_iter()
        .map(|f| match f {
            Found::At(i) if frames[i].len() >= MOVE_AT_LEAST => {
                Ok(std::mem::replace(&mut frames[i], Frame::empty()))
            }
            Found::At(i) => Frame::from_bytes(frames[i].data()),
            Found::Copied(f) => Ok(f),
        })
        .collect()
}

fn too_large(size: usize, max: usize, index: Option<usize>) -> WireError {
    let which = index.map_or("the event".to_string(), |i| {
        format!("event {i} of the batch")
    });
    WireError::new(
        ErrorCode::TooLarge,
        format!(
            "{which} has {size} bytes, more than {max} (max_event_bytes); nothing was published"
        ),
    )
}

fn ceil_ms(d: Duration) -> i64 {
    let ms = d.as_micros().div_ceil(1000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
