//! The engine side of the external-plugin protocol (v1 and v2; `docs/protocol.md`).
//!
//! One thread per registered external plugin runs [`serve`]: it answers the plugin process's
//! requests on a ROUTER socket bound to the plugin's TCP port, hands out the events of the
//! plugin's SUB socket through its delivery [`window`], and publishes what the process sends.
//! The ROUTER socket is what makes the protocol robust: requests from a dead process never wedge
//! the thread, a restarted process is recognised as a new session (and gets the unacknowledged
//! events again), and a request can wait for events while other requests are answered.

mod window;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_engine_protocol::{self as wire, ErrorCode, Reply, Request, WireError};
use log::{debug, info, warn};
use uuid::Uuid;

use crate::errors::EngineError;
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
    published: AtomicU64,
    errors: AtomicU64,
    sessions: AtomicU64,
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
            published: get(&self.published),
            errors: get(&self.errors),
            sessions: get(&self.sessions),
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
}

impl Served {
    /// `info` with the default settings of `EngineConfig` (for a plugin's own `start`).
    pub(crate) fn with_defaults(info: PluginInfo) -> Served {
        let config = crate::config::EngineConfig::new(0, 0);
        Served {
            info,
            counters: Arc::default(),
            max_pending: config.max_pending,
            buffer_limit: config.buffer_limit,
        }
    }
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
    };
    let mut server = Server {
        info,
        push,
        sub,
        router,
        window: Window::new(max_pending),
        backlog: VecDeque::new(),
        buffer_limit,
        waiting: None,
        counters,
        hello: Box::new(hello),
        warned_buffer_full: false,
    };
    debug!("external plugin {} ({}) serving", info.name, info.id);
    server.run()
}

enum Wait {
    /// v1 `next_msg`: one event as a bare frame, no time limit.
    V1,
    /// v2 `recv`: up to `max` events behind a header.
    Batch { max: usize },
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
    window: Window,
    /// Events taken off the bus while a publish waited for room (see `publish`).
    backlog: VecDeque<Vec<u8>>,
    buffer_limit: usize,
    waiting: Option<Waiting>,
    counters: Arc<Counters>,
    hello: Box<wire::Hello>,
    warned_buffer_full: bool,
}

impl Server<'_> {
    fn id(&self) -> Uuid {
        self.info.id
    }

    fn rcv_err(&self, e: zmq::Error) -> EngineError {
        EngineError::EngineExtSocketRcvError(self.id(), e)
    }

    fn snd_err(&self, e: zmq::Error) -> EngineError {
        EngineError::EngineExtSocketSendError(self.id(), e)
    }

    fn run(&mut self) -> Result<(), EngineError> {
        loop {
            if self.waiting.is_some() {
                self.try_fulfill()?;
            }
            let mut timeout: i64 = -1;
            if let Some(deadline) = self.waiting.as_ref().and_then(|w| w.deadline) {
                let now = Instant::now();
                if deadline <= now {
                    self.reply_no_events()?;
                } else {
                    timeout = ceil_ms(deadline - now);
                }
            }
            let want_events = self.waiting.is_some();
            let mut items = [
                self.router.as_poll_item(zmq::POLLIN),
                self.sub.as_poll_item(if want_events {
                    zmq::POLLIN
                } else {
                    zmq::PollEvents::empty()
                }),
            ];
            zmq::poll(&mut items, timeout).map_err(|e| self.rcv_err(e))?;
            if items[0].is_readable() {
                loop {
                    let frames = match self.router.recv_multipart(zmq::DONTWAIT) {
                        Ok(f) => f,
                        Err(zmq::Error::EAGAIN) => break,
                        Err(e) => return Err(self.rcv_err(e)),
                    };
                    if let Flow::Quit = self.handle(frames)? {
                        info!("external plugin {} quit", self.info.name);
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Sends `envelope` then `body`; false when the client is gone (nothing was delivered).
    fn send<'b>(
        &self,
        envelope: &[Vec<u8>],
        body: impl IntoIterator<Item = &'b [u8]>,
    ) -> Result<bool, EngineError> {
        let mut body = body.into_iter().peekable();
        for (i, frame) in envelope.iter().enumerate() {
            match self.router.send(frame.as_slice(), zmq::SNDMORE) {
                Ok(()) => {}
                // ROUTER_MANDATORY: the client's connection is gone.
                Err(zmq::Error::EHOSTUNREACH) if i == 0 => return Ok(false),
                Err(e) => return Err(self.snd_err(e)),
            }
        }
        while let Some(frame) = body.next() {
            let flags = if body.peek().is_some() {
                zmq::SNDMORE
            } else {
                0
            };
            self.router
                .send(frame, flags)
                .map_err(|e| self.snd_err(e))?;
        }
        Ok(true)
    }

    /// Sends `envelope` then `reply`; false when the client is gone.
    fn send_reply<B: AsRef<[u8]>>(
        &self,
        envelope: &[Vec<u8>],
        reply: &Reply<B>,
    ) -> Result<bool, EngineError> {
        let frames = reply.to_frames();
        self.send(envelope, frames.iter().map(|f| f.as_ref()))
    }

    fn reply(&self, envelope: &[Vec<u8>], reply: Reply<&[u8]>) -> Result<(), EngineError> {
        self.send_reply(envelope, &reply).map(|_| ())
    }

    fn reply_error(&self, envelope: &[Vec<u8>], e: &WireError) -> Result<(), EngineError> {
        add(&self.counters.errors, 1);
        debug!("external plugin {}: error reply {e}", self.info.name);
        self.reply(envelope, Reply::Error(e.clone()))
    }

    fn handle(&mut self, frames: Vec<Vec<u8>>) -> Result<Flow, EngineError> {
        let Some(session) = frames.first().cloned() else {
            return Ok(Flow::Continue);
        };
        let Some(delim) = frames
            .iter()
            .skip(1)
            .position(|f| f.is_empty())
            .map(|i| i + 1)
        else {
            let e = WireError::new(
                ErrorCode::MissingDelimiter,
                "the request has no empty delimiter frame; use a REQ socket, or send an empty frame first",
            );
            self.reply_error(&[session, Vec::new()], &e)?;
            return Ok(Flow::Continue);
        };
        let envelope = &frames[..=delim];
        // A newer request from the same client replaces the one it was waiting on
        // (the client gave up on it: REQ_RELAXED, or a DEALER).
        if self.waiting.as_ref().is_some_and(|w| w.session == session) {
            self.waiting = None;
        }
        let body: Vec<&[u8]> = frames[delim + 1..].iter().map(Vec::as_slice).collect();
        let request = match wire::parse_request(&body) {
            Ok(r) => r,
            Err(e) => {
                self.reply_error(envelope, &e)?;
                return Ok(Flow::Continue);
            }
        };
        match request {
            Request::NextMsg => self.consume(session, envelope, None, Wait::V1, None)?,
            Request::Recv {
                max,
                timeout_ms,
                ack,
            } => self.consume(
                session,
                envelope,
                ack,
                Wait::Batch { max: max as usize },
                timeout_ms,
            )?,
            Request::Publish(data) => {
                self.publish(&[data])?;
                self.reply(envelope, Reply::MsgPublished)?;
            }
            Request::PublishBatch(events) => {
                self.publish(&events)?;
                let count = events.len() as u64;
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

    /// Takes the next event off the bus (the backlog first) without blocking.
    fn next_from_bus(&mut self) -> Result<Option<Vec<u8>>, EngineError> {
        if let Some(e) = self.backlog.pop_front() {
            return Ok(Some(e));
        }
        match self.sub.recv_bytes(zmq::DONTWAIT) {
            Ok(e) => Ok(Some(e)),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(EngineError::EngineExtSubSocketRcvError(self.id(), e)),
        }
    }

    /// Answers the waiting request if events are available.
    fn try_fulfill(&mut self) -> Result<(), EngineError> {
        let Some(waiting) = self.waiting.as_ref() else {
            return Ok(());
        };
        let max = match waiting.kind {
            Wait::V1 => 1,
            Wait::Batch { max } => max,
        };
        while self.window.redeliverable() < max && self.window.room() > 0 {
            match self.next_from_bus()? {
                Some(e) => self.window.push(e),
                None => break,
            }
        }
        let Some(waiting) = self.waiting.take() else {
            return Ok(());
        };
        let batch: Vec<_> = self.window.peek(max).collect();
        if batch.is_empty() {
            self.waiting = Some(waiting);
            return Ok(());
        }
        let redelivered = batch.iter().take_while(|o| o.redelivered).count();
        let reply = match waiting.kind {
            Wait::V1 => Reply::Event(batch[0].data),
            Wait::Batch { .. } => Reply::Events {
                seq: batch[0].seq,
                redelivered: redelivered as u32,
                events: batch.iter().map(|o| o.data).collect(),
            },
        };
        let sent = self.send_reply(&waiting.envelope, &reply)?;
        drop(reply);
        let n = batch.len();
        let fresh = batch.iter().filter(|o| !o.redelivered).count() as u64;
        drop(batch);
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
    /// publishes can never deadlock with the forwarder.
    fn publish(&mut self, events: &[&[u8]]) -> Result<(), EngineError> {
        let id = self.id();
        for event in events {
            loop {
                match self.push.send(*event, zmq::DONTWAIT) {
                    Ok(()) => break,
                    Err(zmq::Error::EAGAIN) => {}
                    Err(e) => return Err(EngineError::EngineExtPubSocketSendError(id, e)),
                }
                let can_buffer = self.backlog.len() < self.buffer_limit;
                if !can_buffer && !self.warned_buffer_full {
                    warn!(
                        "external plugin {}: {} events buffered while waiting to publish; \
                         publishing now waits for the bus (is a consumer stuck?)",
                        self.info.name,
                        self.backlog.len()
                    );
                    self.warned_buffer_full = true;
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
                    while self.backlog.len() < self.buffer_limit {
                        match self.sub.recv_bytes(zmq::DONTWAIT) {
                            Ok(e) => self.backlog.push_back(e),
                            Err(zmq::Error::EAGAIN) => break,
                            Err(e) => return Err(EngineError::EngineExtSubSocketRcvError(id, e)),
                        }
                    }
                }
            }
        }
        add(&self.counters.published, events.len() as u64);
        self.update_gauges();
        Ok(())
    }

    fn update_gauges(&self) {
        self.counters
            .pending
            .store(self.window.pending() as u64, Ordering::Relaxed);
        self.counters
            .buffered
            .store(self.backlog.len() as u64, Ordering::Relaxed);
    }
}

fn ceil_ms(d: Duration) -> i64 {
    let ms = d.as_micros().div_ceil(1000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
