//! The plugin-protocol client.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::error::{Error, Result};
use crate::wire::{self, Reply, ReplyError, Request};

/// Which protocol a [`Client`] speaks (`docs/protocol.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Protocol v2 (default): batches, server-side time-outs, at-least-once delivery. Needs an
    /// event-engine 0.3 engine or later.
    #[default]
    V2,
    /// Protocol v1, the exact bytes of event-engine 0.2's `events.py`, on a plain REQ socket:
    /// `plugin_command: next_msg`, an event's bytes to publish it, `plugin_command: quit`.
    /// Works with 0.2 engines and ours alike. Each event is delivered once, when its reply is
    /// sent (no acknowledgements, no redelivery, no batches; `hello`, `stats` and `ack` are not
    /// available). A receive that times out leaves its request open: the next receive waits for
    /// that request's reply instead of sending another, so no event is lost; publishing meanwhile
    /// goes through a second connection.
    V1,
}

/// Settings of a [`Client`]. `ClientOptions::default()` suits most plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// How long to wait for a reply beyond the time the engine was asked to wait, before the
    /// engine is considered unreachable and the client reconnects (default 5 s).
    pub reply_timeout: Duration,
    /// How many times a request that is safe to repeat is sent again on a fresh connection
    /// after `reply_timeout` (default 3). Publishing is never repeated.
    pub retries: u32,
    /// First pause before reconnecting; doubles up to `max_backoff` (default 100 ms).
    pub reconnect_backoff: Duration,
    /// Longest pause between reconnects (default 2 s).
    pub max_backoff: Duration,
    /// How long a publish may wait for its reply, which the engine delays while the bus is full
    /// (backpressure). `None` waits as long as it takes (default 30 s).
    pub publish_timeout: Option<Duration>,
    /// How often a blocking call runs its interrupt checks (default 100 ms); the cancel token
    /// wakes it at once.
    pub poll_slice: Duration,
    /// Longest time the engine is asked to hold one receive request; longer waits are made of
    /// several requests (default 1 s).
    pub long_poll: Duration,
    /// The protocol to speak (default v2).
    pub protocol: Protocol,
    /// Most bytes of event data one receive asks the engine for (`recv max_bytes=`), 1 to
    /// [`wire::MAX_RECV_BYTES`]; default [`DEFAULT_MAX_BATCH_BYTES`] (64 MiB). A batch holds
    /// events up to `max` or this many bytes, whichever comes first; a single event larger than
    /// this still comes, alone. It bounds the memory of one batch to about
    /// `max(max_batch_bytes, largest event)` however large the events are. Protocol v2 only
    /// (v1 has no batches); an engine older than the budget is asked without it.
    pub max_batch_bytes: u64,
    /// The token to present to the plugin's port (ZAP PLAIN; [`Token`](crate::Token)). `None`
    /// (default): the one of the launch environment (`EE_PLUGIN_TOKEN`, `EE_PLUGIN_TOKEN_FILE`),
    /// if any. A port started with a token refuses a client without it, and a port without one
    /// refuses a client that presents one.
    pub token: Option<crate::Token>,
    /// The CURVE keys to connect with (the engine's public key, the plugin's key pair:
    /// [`Curve`](crate::Curve)), for a port given the plugin's public key: the connection is
    /// authenticated and encrypted. `None` (default): the launch environment's
    /// (`EE_ENGINE_PUBLIC_KEY` with `EE_PLUGIN_SECRET_KEY` or `EE_PLUGIN_SECRET_KEY_FILE`), if
    /// any. Not with `token`.
    pub curve: Option<crate::Curve>,
}

/// The default [`ClientOptions::max_batch_bytes`]: 64 MiB, the engine's default
/// `max_event_bytes` and `max_request_bytes`. With it one batch never needs more memory than the
/// largest event the engine accepts by default, and batches of small events are not cut (65536
/// events of up to 1 KiB fit).
pub const DEFAULT_MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            reply_timeout: Duration::from_secs(5),
            retries: 3,
            reconnect_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            publish_timeout: Some(Duration::from_secs(30)),
            poll_slice: Duration::from_millis(100),
            long_poll: Duration::from_secs(1),
            protocol: Protocol::V2,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            token: None,
            curve: None,
        }
    }
}

/// An event received from the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its sequence number for this plugin (1, 2, ...); the same on every redelivery.
    pub seq: u64,
    /// The event's bytes (its filter first).
    pub data: Vec<u8>,
    /// True when the engine had delivered it before (to a client that died or lost the reply).
    pub redelivered: bool,
}

/// An event received from the engine that owns the ZeroMQ message it arrived in
/// ([`Client::next_batch_owned`]): its bytes are not copied out of that message
/// ([`OwnedEvent::data`] borrows them). For large events (images) this saves a copy of each.
#[derive(Debug)]
pub struct OwnedEvent {
    /// Its sequence number for this plugin (1, 2, ...); the same on every redelivery.
    pub seq: u64,
    /// True when the engine had delivered it before (to a client that died or lost the reply).
    pub redelivered: bool,
    message: zmq::Message,
}

impl OwnedEvent {
    /// The event's bytes (its filter first), in the message they arrived in.
    pub fn data(&self) -> &[u8] {
        &self.message
    }

    /// The message that holds the event's bytes.
    pub fn into_message(self) -> zmq::Message {
        self.message
    }

    /// The event with its bytes copied into a `Vec<u8>` ([`Event`]).
    pub fn into_event(self) -> Event {
        Event {
            seq: self.seq,
            data: self.message.to_vec(),
            redelivered: self.redelivered,
        }
    }
}

impl From<Event> for OwnedEvent {
    /// Moves the event's bytes into a message (no copy).
    fn from(e: Event) -> OwnedEvent {
        OwnedEvent {
            seq: e.seq,
            redelivered: e.redelivered,
            message: zmq::Message::from(e.data),
        }
    }
}

/// Receives every frame of one message, each as the `zmq::Message` it arrived in (no copy,
/// unlike `Socket::recv_multipart`).
fn recv_messages(socket: &zmq::Socket) -> zmq::Result<Vec<zmq::Message>> {
    let mut frames = Vec::new();
    loop {
        let m = socket.recv_msg(0)?;
        let more = m.get_more();
        frames.push(m);
        if !more {
            return Ok(frames);
        }
    }
}

fn to_vecs(frames: Vec<zmq::Message>) -> Vec<Vec<u8>> {
    frames.into_iter().map(|m| m.to_vec()).collect()
}

/// Cancels a client's blocking calls from another thread: they return [`Error::Interrupted`]
/// at once (a waiting call polls the token's wake-up beside its socket; where there is none,
/// within one `poll_slice`). Sticky until [`CancelToken::reset`].
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<Cancel>);

#[derive(Debug)]
struct Cancel {
    cancelled: AtomicBool,
    /// A socket pair: `cancel` writes a byte, so a call polling the other end wakes up.
    /// `None` when the pair could not be made (out of descriptors) or off Unix.
    wake: Option<Wake>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel {
            cancelled: AtomicBool::new(false),
            wake: Wake::new(),
        }
    }
}

#[cfg(unix)]
type WakeFd = std::os::unix::io::RawFd;
#[cfg(not(unix))]
type WakeFd = std::convert::Infallible;

#[cfg(unix)]
#[derive(Debug)]
struct Wake {
    rx: std::os::unix::net::UnixStream,
    tx: std::os::unix::net::UnixStream,
}

#[cfg(unix)]
impl Wake {
    fn new() -> Option<Wake> {
        let (rx, tx) = std::os::unix::net::UnixStream::pair().ok()?;
        rx.set_nonblocking(true).ok()?;
        tx.set_nonblocking(true).ok()?;
        Some(Wake { rx, tx })
    }

    fn signal(&self) {
        use std::io::Write;
        // A full buffer (WouldBlock) is as good: the other end is readable already.
        let _ = (&self.tx).write(&[1]);
    }

    fn drain(&self) {
        use std::io::Read;
        let mut buf = [0u8; 64];
        while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
    }

    fn fd(&self) -> WakeFd {
        use std::os::unix::io::AsRawFd;
        self.rx.as_raw_fd()
    }
}

#[cfg(not(unix))]
#[derive(Debug)]
struct Wake;

#[cfg(not(unix))]
impl Wake {
    fn new() -> Option<Wake> {
        None
    }
    fn signal(&self) {}
    fn drain(&self) {}
    fn fd(&self) -> WakeFd {
        unreachable!("no wake-up off Unix")
    }
}

impl CancelToken {
    /// Makes current and future blocking calls return `Interrupted`.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(wake) = &self.0.wake {
            wake.signal();
        }
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Clears the cancellation.
    pub fn reset(&self) {
        self.0.cancelled.store(false, Ordering::SeqCst);
        if let Some(wake) = &self.0.wake {
            wake.drain();
        }
    }

    /// What a waiting call polls beside its socket.
    fn wake_fd(&self) -> Option<WakeFd> {
        self.0.wake.as_ref().map(Wake::fd)
    }

    /// After a wake-up: a byte left by a `cancel` that a `reset` overtook would wake every poll.
    fn woken(&self) {
        if !self.is_cancelled() {
            if let Some(wake) = &self.0.wake {
                wake.drain();
            }
        }
    }
}

/// Waits at most `ms` for `socket` to be readable or the wake-up `wake` to be signalled:
/// (socket readable, woken).
fn poll_in(socket: &zmq::Socket, wake: Option<WakeFd>, ms: i64) -> zmq::Result<(bool, bool)> {
    #[cfg(unix)]
    if let Some(fd) = wake {
        let mut items = [
            socket.as_poll_item(zmq::POLLIN),
            zmq::PollItem::from_fd(fd, zmq::POLLIN),
        ];
        zmq::poll(&mut items, ms)?;
        return Ok((items[0].is_readable(), items[1].is_readable()));
    }
    #[cfg(not(unix))]
    let _ = wake;
    Ok((socket.poll(zmq::POLLIN, ms)? > 0, false))
}

/// A connection to one external plugin's port on an engine.
///
/// ```no_run
/// use std::time::Duration;
/// use event_engine_client::Client;
///
/// let mut plugin = Client::connect("tcp://127.0.0.1:6000")?;
/// while let Some(event) = plugin.next(Some(Duration::from_secs(1)))? {
///     plugin.publish(&[b"Seen".as_slice(), &event.data].concat())?;
/// }
/// plugin.quit()?;
/// # Ok::<(), event_engine_client::Error>(())
/// ```
pub struct Client {
    endpoint: String,
    options: ClientOptions,
    ctx: zmq::Context,
    socket: Option<zmq::Socket>,
    /// Handshake failures of `socket` (a libzmq socket monitor), to say why no reply came.
    monitor: Option<zmq::Socket>,
    /// The current request's connection was refused at the handshake.
    refused: Option<crate::error::Refusal>,
    /// The monitor saw a connection whose handshake has not completed yet.
    handshaking: bool,
    cancel: CancelToken,
    /// Highest sequence number handed to the application.
    last_seq: Option<u64>,
    /// Highest sequence number the engine has been told about.
    acked: Option<u64>,
    /// A `recv` was given up (interrupted, or no reply in time) before any event was handed
    /// out: the engine may have delivered events to it, and a `recv` without `ack` would
    /// acknowledge them, so the next one says `ack=0` (nothing processed; send them again).
    recv_abandoned: bool,
    closed: bool,
    /// Checked by every blocking call, beside the cancel token (see `set_interrupt_check`).
    interrupt_check: Option<InterruptCheck>,
    /// v1: a `next_msg` was sent on `socket` and its reply has not come yet.
    outstanding: bool,
    /// v1: the connection for publishing and quitting while `next_msg` is outstanding.
    side: Option<zmq::Socket>,
    /// The engine refused `recv max_bytes=` (it predates the byte budget): receives are sent
    /// without it.
    no_byte_budget: bool,
    /// Most bytes of one request the engine accepts, all frames together: its `hello`'s
    /// `max_request_bytes` once known, else the default.
    max_request_bytes: usize,
}

/// A check that a client's blocking calls make at least every `poll_slice`; see
/// [`Client::set_interrupt_check`].
pub type InterruptCheck = Box<dyn FnMut() -> bool + Send>;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("last_seq", &self.last_seq)
            .field("closed", &self.closed)
            .finish()
    }
}

/// What a request is, for retries and deadlines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Safe to send again on a new connection.
    Idempotent,
    /// Must not be sent twice (publish).
    Once,
}

impl Client {
    /// Connects to an engine endpoint such as `tcp://127.0.0.1:6000` with default options.
    /// Connecting is lazy: an engine that is not there yet is found when it starts.
    pub fn connect(endpoint: &str) -> Result<Client> {
        Client::connect_with(endpoint, ClientOptions::default())
    }

    /// Connects with the given options. Without `options.token` and `options.curve`, the client
    /// presents the credential of its launch environment ([`crate::curve::resolve`]: CURVE keys
    /// if `EE_ENGINE_PUBLIC_KEY` is set, else the token of `EE_PLUGIN_TOKEN` or
    /// `EE_PLUGIN_TOKEN_FILE`), if any, so a plugin launched by `event-engine run`
    /// authenticates with no code.
    pub fn connect_with(endpoint: &str, mut options: ClientOptions) -> Result<Client> {
        if !endpoint.contains("://") {
            return Err(Error::InvalidArgument(format!(
                "'{endpoint}' is not an endpoint (expected e.g. tcp://127.0.0.1:6000)"
            )));
        }
        options.validate()?;
        crate::curve::resolve(&mut options, &crate::LaunchEnv::from_env())?;
        let mut client = Client {
            endpoint: endpoint.to_string(),
            options,
            ctx: zmq::Context::new(),
            socket: None,
            cancel: CancelToken::default(),
            last_seq: None,
            recv_abandoned: false,
            acked: None,
            closed: false,
            interrupt_check: None,
            outstanding: false,
            side: None,
            no_byte_budget: false,
            max_request_bytes: wire::DEFAULT_MAX_REQUEST_BYTES,
            monitor: None,
            refused: None,
            handshaking: false,
        };
        client.socket()?;
        Ok(client)
    }

    /// Connects to `port` on `host`.
    pub fn connect_port(host: &str, port: u16) -> Result<Client> {
        Client::connect_port_with(host, port, ClientOptions::default())
    }

    /// Connects to `port` on `host` (an IPv6 address may be given without brackets) with the
    /// given options.
    pub fn connect_port_with(host: &str, port: u16, options: ClientOptions) -> Result<Client> {
        let endpoint = crate::Target::port(host, port).resolve(&crate::LaunchEnv::default())?;
        Client::connect_with(&endpoint, options)
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// A token that interrupts this client's blocking calls from another thread.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Installs (or, with `None`, removes) a check that **every** blocking call of this client
    /// makes at least every `poll_slice` while it waits: receiving, publishing, `hello`, `stats`,
    /// `ack`, `quit`, and the pauses between reconnects. When it returns true the call ends with
    /// [`Error::Interrupted`], as with the `interrupted` callback of
    /// [`Client::next_batch_interruptible`]. Bindings use it to honour signals (Ctrl-C) in calls
    /// that take no callback. A call that gets its reply without waiting does not consult it.
    pub fn set_interrupt_check(&mut self, check: Option<InterruptCheck>) {
        self.interrupt_check = check;
    }

    /// True when the cancel token is set or the interrupt check says so.
    fn should_stop(&mut self, interrupted: &mut dyn FnMut() -> bool) -> bool {
        self.cancel.is_cancelled()
            || interrupted()
            || self.interrupt_check.as_mut().is_some_and(|check| check())
    }

    /// The sequence number of the last event handed out by `next`/`next_batch`.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// True once `quit` has been called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The protocol this client speaks.
    pub fn protocol(&self) -> Protocol {
        self.options.protocol
    }

    fn new_socket(&self) -> Result<zmq::Socket> {
        let s = self.ctx.socket(zmq::REQ)?;
        if self.options.protocol == Protocol::V2 {
            // A request that timed out never blocks the next one, and its late reply is discarded.
            s.set_req_relaxed(true)?;
            s.set_req_correlate(true)?;
        }
        // v1: a plain REQ socket, as events.py's (its requests never overlap).
        s.set_linger(0)?;
        if let Some(token) = &self.options.token {
            s.set_plain_username(Some(wire::token::USERNAME))?;
            s.set_plain_password(Some(token.as_str()))?;
        }
        if let Some(curve) = &self.options.curve {
            curve.apply(&s)?;
        }
        if wire::endpoint::is_ipv6(&self.endpoint) {
            s.set_ipv6(true)?;
        }
        // Connected by the caller (after a monitor, if any, is in place).
        Ok(s)
    }

    /// A monitor of `socket`'s failed handshakes (set up before it connects).
    fn watch_handshakes(&self, socket: &zmq::Socket) -> Result<zmq::Socket> {
        static MONITORS: AtomicU64 = AtomicU64::new(0);
        let address = format!(
            "inproc://ee-client-handshakes-{}",
            MONITORS.fetch_add(1, Ordering::Relaxed)
        );
        socket.monitor(
            &address,
            zmq::SocketEvent::CONNECTED as i32
                | zmq::SocketEvent::DISCONNECTED as i32
                | zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32
                | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as i32
                | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as i32,
        )?;
        let monitor = self.ctx.socket(zmq::PAIR)?;
        monitor.set_linger(0)?;
        monitor.connect(&address)?;
        Ok(monitor)
    }

    /// Notes whether the current connection was refused at the handshake (what its monitor
    /// reported so far): a failed handshake, or a connection the engine closed before the
    /// handshake completed (when the mechanisms differ, the engine may close before this side
    /// can tell why).
    fn note_refusal(&mut self) {
        let Some(monitor) = &self.monitor else {
            return;
        };
        let mut refused = false;
        while let Ok(frames) = monitor.recv_multipart(zmq::DONTWAIT) {
            let Some(event) = frames
                .first()
                .and_then(|f| f.get(..2))
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            else {
                continue;
            };
            if event == zmq::SocketEvent::CONNECTED as u16 {
                self.handshaking = true;
            } else if event == zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16 {
                self.handshaking = false;
            } else if event == zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16
                || event == zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16
                || (event == zmq::SocketEvent::DISCONNECTED as u16 && self.handshaking)
            {
                self.handshaking = false;
                refused = true;
            }
        }
        if refused {
            self.refused = Some(if self.options.curve.is_some() {
                crate::error::Refusal::WrongKey
            } else if self.options.token.is_some() {
                crate::error::Refusal::WrongToken
            } else {
                crate::error::Refusal::NoToken
            });
        }
    }

    /// The "no reply" error of a request that waited `started.elapsed()` over `attempts`.
    fn disconnected(&mut self, started: Instant, attempts: u32) -> Error {
        self.note_refusal();
        Error::Disconnected {
            endpoint: self.endpoint.clone(),
            waited_ms: started.elapsed().as_millis() as u64,
            attempts,
            refused: self.refused,
        }
    }

    fn socket(&mut self) -> Result<&zmq::Socket> {
        if self.socket.is_none() {
            let socket = self.new_socket()?;
            // Without a monitor (e.g. no descriptor left) the client works, and only its "no
            // reply" error cannot say that the handshake was refused.
            self.monitor = self.watch_handshakes(&socket).ok();
            socket.connect(&self.endpoint)?;
            self.socket = Some(socket);
        }
        self.socket
            .as_ref()
            .ok_or_else(|| Error::UnexpectedReply("no socket".into()))
    }

    fn reset_socket(&mut self) {
        self.note_refusal();
        self.socket = None;
        self.monitor = None;
        self.handshaking = false;
        self.outstanding = false;
    }

    fn v2_only(&self, what: &str) -> Result<()> {
        if self.options.protocol == Protocol::V1 {
            return Err(Error::InvalidArgument(format!(
                "{what} needs protocol v2; this client speaks v1 (ClientOptions::protocol)"
            )));
        }
        Ok(())
    }

    /// v1: waits for the reply on the main socket (`side` false) or the side one, at most
    /// `wait` (`None`: as long as it takes). `Ok(None)`: no reply in time (the request stays
    /// open on the main socket; the side socket is dropped, since a REQ socket cannot send again
    /// before its reply).
    fn v1_wait(
        &mut self,
        side: bool,
        wait: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            let slice = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(self.options.poll_slice),
                None => self.options.poll_slice,
            };
            let ms = (slice.as_millis() as i64).max(1);
            let socket = if side { &self.side } else { &self.socket };
            let Some(socket) = socket.as_ref() else {
                return Err(Error::UnexpectedReply("no socket".into()));
            };
            let (ready, woken) = match poll_in(socket, self.cancel.wake_fd(), ms) {
                Ok(r) => r,
                Err(zmq::Error::EINTR) => (false, false),
                Err(e) => return Err(e.into()),
            };
            if ready {
                return Ok(Some(socket.recv_multipart(0)?));
            }
            if woken {
                self.cancel.woken();
            }
            if self.should_stop(interrupted) {
                if side {
                    self.side = None;
                }
                return Err(Error::Interrupted);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if side {
                    self.side = None;
                }
                return Ok(None);
            }
        }
    }

    /// v1: one request that is not `next_msg` (a publish, `quit`): on the main socket, or on the
    /// side one while a `next_msg` is outstanding there. `Ok(None)`: no reply within `wait`.
    fn v1_request(
        &mut self,
        frame: &[u8],
        wait: Option<Duration>,
        linger: Option<i32>,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let side = self.outstanding;
        if side && self.side.is_none() {
            let side = self.new_socket()?;
            side.connect(&self.endpoint)?;
            self.side = Some(side);
        }
        let socket = if side {
            self.side
                .as_ref()
                .ok_or_else(|| Error::UnexpectedReply("no socket".into()))?
        } else {
            self.socket()?
        };
        if let Some(ms) = linger {
            socket.set_linger(ms)?;
        }
        socket.send(frame, 0)?;
        let reply = self.v1_wait(side, wait, &mut || false);
        if !side && !matches!(reply, Ok(Some(_))) {
            // A REQ socket without its reply cannot send again.
            self.reset_socket();
        }
        reply
    }

    /// v1: the next event. Sends `next_msg` unless one is still outstanding from a call that
    /// timed out, then waits for its reply at most `timeout`.
    fn v1_next(
        &mut self,
        timeout: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Event>> {
        if self.closed {
            return Err(Error::Closed);
        }
        if !self.outstanding {
            self.socket()?.send(wire::NEXT_MSG, 0)?;
            self.outstanding = true;
        }
        let Some(mut reply) = self.v1_wait(false, timeout, interrupted)? else {
            return Ok(None);
        };
        self.outstanding = false;
        if reply.len() != 1 {
            return Err(Error::UnexpectedReply(format!(
                "a v1 event is one frame, got {}",
                reply.len()
            )));
        }
        let data = reply.pop().unwrap_or_default();
        if data.starts_with(b"event-engine: error ") {
            if let Some(wire::Status::Error(e)) = wire::parse_status(&data) {
                return Err(Error::Protocol(e));
            }
        }
        let seq = self.last_seq.map_or(1, |s| s + 1);
        self.last_seq = Some(seq);
        self.acked = Some(seq);
        Ok(Some(Event {
            seq,
            data,
            redelivered: false,
        }))
    }

    /// Sends `frames` and waits for the reply: at most `engine_wait` (what the engine was asked to
    /// wait) plus `reply_timeout` per attempt, reconnecting between attempts.
    fn request(
        &mut self,
        frames: &[&[u8]],
        kind: Kind,
        engine_wait: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<Vec<u8>>> {
        self.request_with(
            &mut |socket| socket.send_multipart(frames, 0),
            kind,
            engine_wait,
            interrupted,
        )
        .map(to_vecs)
    }

    /// [`Client::request`] that sends with `send` (once per attempt) and keeps the reply's
    /// frames as the messages they arrived in.
    fn request_with(
        &mut self,
        send: &mut dyn FnMut(&zmq::Socket) -> zmq::Result<()>,
        kind: Kind,
        engine_wait: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<zmq::Message>> {
        if self.closed {
            return Err(Error::Closed);
        }
        let attempts = match kind {
            Kind::Idempotent => self.options.retries + 1,
            Kind::Once => 1,
        };
        let started = Instant::now();
        self.refused = None;
        let mut backoff = self.options.reconnect_backoff;
        for attempt in 1..=attempts {
            send(self.socket()?)?;
            let deadline = engine_wait.map(|w| Instant::now() + w + self.options.reply_timeout);
            loop {
                let slice = match deadline {
                    Some(d) => d
                        .saturating_duration_since(Instant::now())
                        .min(self.options.poll_slice),
                    None => self.options.poll_slice,
                };
                let ms = (slice.as_millis() as i64).max(1);
                let wake = self.cancel.wake_fd();
                let (ready, woken) = match poll_in(self.socket()?, wake, ms) {
                    Ok(r) => r,
                    // A signal arrived while waiting: not an error of the request. Whether it
                    // ends the call is for the cancel token and the interrupt checks below.
                    Err(zmq::Error::EINTR) => (false, false),
                    Err(e) => return Err(e.into()),
                };
                if ready {
                    return Ok(recv_messages(self.socket()?)?);
                }
                if woken {
                    self.cancel.woken();
                }
                if self.should_stop(interrupted) {
                    // The request is abandoned; REQ_RELAXED lets the next one go out, and the
                    // engine drops the abandoned one when it arrives.
                    return Err(Error::Interrupted);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
            debug!(
                "no reply from {} (attempt {attempt} of {attempts}); reconnecting",
                self.endpoint
            );
            self.reset_socket();
            if attempt < attempts {
                self.pause(backoff, interrupted)?;
                backoff = (backoff * 2).min(self.options.max_backoff);
            }
        }
        Err(self.disconnected(started, attempts))
    }

    /// [`Client::request`] of a typed request, not interruptible but by the cancel token and
    /// the interrupt check.
    fn send_request(
        &mut self,
        request: Request<'_>,
        kind: Kind,
        engine_wait: Option<Duration>,
    ) -> Result<Vec<Vec<u8>>> {
        let frames = request.to_frames();
        let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_ref()).collect();
        self.request(&frames, kind, engine_wait, &mut || false)
    }

    fn pause(&mut self, d: Duration, interrupted: &mut dyn FnMut() -> bool) -> Result<()> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.should_stop(interrupted) {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(
                end.saturating_duration_since(Instant::now())
                    .min(self.options.poll_slice),
            );
        }
        Ok(())
    }

    /// Parses a reply ([`Reply::parse`]), turning error replies into [`Error::Protocol`] and
    /// replies of another kind than `expected` into [`Error::UnexpectedReply`].
    fn expect(reply: Vec<Vec<u8>>, expected: &str) -> Result<Reply> {
        let first = reply.first().cloned().unwrap_or_default();
        let unexpected = |what: String| {
            Error::UnexpectedReply(format!(
                "expected '{expected}', got {what}{}",
                if expected != "msg" && first.as_slice() == wire::MSG_PUBLISHED {
                    " (the engine published the request: it speaks only protocol v1)"
                } else {
                    ""
                }
            ))
        };
        match Reply::parse(reply) {
            Ok(Reply::Error(e)) => Err(Error::Protocol(e)),
            Ok(r) if r.kind() == expected => Ok(r),
            Ok(Reply::Event(_)) | Err(ReplyError::NotStatus { .. }) => Err(unexpected(format!(
                "{} bytes that are not a status",
                first.len()
            ))),
            Ok(_) => Err(unexpected(format!("{:?}", String::from_utf8_lossy(&first)))),
            Err(ReplyError::UnknownKind(_)) => {
                Err(unexpected(format!("{:?}", String::from_utf8_lossy(&first))))
            }
            Err(e @ ReplyError::UnknownError { .. }) | Err(e @ ReplyError::Malformed(_)) => {
                Err(Error::UnexpectedReply(e.to_string()))
            }
            Err(ReplyError::Empty) => Err(Error::UnexpectedReply("an empty reply".into())),
        }
    }

    /// Asks the engine who this plugin is and what it supports (protocol v2 only).
    pub fn hello(&mut self) -> Result<wire::Hello> {
        self.v2_only("hello")?;
        let reply = self.send_request(Request::Hello, Kind::Idempotent, Some(Duration::ZERO))?;
        match Self::expect(reply, "hello")? {
            Reply::Hello(h) => {
                if let Ok(n @ 1..) = usize::try_from(h.max_request_bytes) {
                    self.max_request_bytes = n;
                }
                Ok(*h)
            }
            other => Err(Error::UnexpectedReply(format!("{other:?}"))),
        }
    }

    /// This plugin's counters on the engine (protocol v2 only).
    pub fn stats(&mut self) -> Result<wire::Stats> {
        self.v2_only("stats")?;
        let reply = self.send_request(Request::Stats, Kind::Idempotent, Some(Duration::ZERO))?;
        match Self::expect(reply, "stats")? {
            Reply::Stats(s) => Ok(*s),
            other => Err(Error::UnexpectedReply(format!("{other:?}"))),
        }
    }

    /// The next event, waiting at most `timeout` (`None`: until one arrives). `Ok(None)` when
    /// none came in time.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Option<Event>> {
        Ok(self.next_batch(1, timeout)?.pop())
    }

    /// Up to `max` events, waiting at most `timeout` for the first (`None`: until one arrives).
    /// Returns what is available at once after the first, within
    /// [`ClientOptions::max_batch_bytes`] bytes (an event larger than that comes alone); empty
    /// when none came in time.
    pub fn next_batch(&mut self, max: usize, timeout: Option<Duration>) -> Result<Vec<Event>> {
        self.next_batch_interruptible(max, timeout, &mut || false)
    }

    /// Like [`Client::next_batch`], calling `interrupted` at least every `poll_slice`; when it
    /// returns true the call ends with [`Error::Interrupted`] (how bindings honour Ctrl-C).
    pub fn next_batch_interruptible(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<Event>> {
        let events = self.next_batch_owned_interruptible(max, timeout, interrupted)?;
        Ok(events.into_iter().map(OwnedEvent::into_event).collect())
    }

    /// Like [`Client::next_batch`], but each event keeps the ZeroMQ message it arrived in: its
    /// bytes are not copied again ([`OwnedEvent::data`] borrows them). Same rules otherwise.
    pub fn next_batch_owned(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<OwnedEvent>> {
        self.next_batch_owned_interruptible(max, timeout, &mut || false)
    }

    /// Like [`Client::next_batch_owned`], calling `interrupted` at least every `poll_slice`; when
    /// it returns true the call ends with [`Error::Interrupted`].
    pub fn next_batch_owned_interruptible(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<OwnedEvent>> {
        crate::options::batch_max(max as f64)?;
        if self.options.protocol == Protocol::V1 {
            // v1 has no batches: one event per round trip.
            let event = self.v1_next(timeout, interrupted)?;
            return Ok(event.into_iter().map(OwnedEvent::from).collect());
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let wait = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(self.options.long_poll),
                None => self.options.long_poll,
            };
            let events = self.recv_once(max, wait, interrupted)?;
            if !events.is_empty() {
                return Ok(events);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(events);
            }
            if self.should_stop(interrupted) {
                return Err(Error::Interrupted);
            }
        }
    }

    /// One `recv` round trip in which the engine waits at most `wait`.
    fn recv_once(
        &mut self,
        max: usize,
        wait: Duration,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<OwnedEvent>> {
        let max_bytes = (!self.no_byte_budget).then_some(self.options.max_batch_bytes);
        let command = Request::Recv {
            max: max as u32,
            timeout_ms: Some(wait.as_millis() as u64),
            max_bytes,
            ack: self.last_seq.or(self.recv_abandoned.then_some(0)),
        };
        let frames = command.to_frames();
        let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_ref()).collect();
        let mut reply = self
            .request_with(
                &mut |socket| socket.send_multipart(&frames, 0),
                Kind::Idempotent,
                Some(wait),
                interrupted,
            )
            .inspect_err(|_| self.recv_abandoned = true)?;
        // The reply is parsed with its first frame (the header, or a status) and empty stand-ins
        // for the events, which stay in their messages.
        let mut messages = reply.split_off(reply.len().min(1));
        let head: Vec<Vec<u8>> = reply
            .first()
            .map(|m| m.to_vec())
            .into_iter()
            .chain(messages.iter().map(|_| Vec::new()))
            .collect();
        let parsed = match Self::expect(head, "events") {
            Err(Error::Protocol(e))
                if e.code == wire::ErrorCode::BadArgument
                    && max_bytes.is_some()
                    && e.message.contains("max_bytes") =>
            {
                // An engine from before the byte budget: nothing was consumed or acknowledged
                // (an error changes nothing); ask again without it.
                warn!(
                    "the engine at {} does not take recv max_bytes (an older engine): batches \
                     are bounded by their count only",
                    self.endpoint
                );
                self.no_byte_budget = true;
                return self.recv_once(max, wait, interrupted);
            }
            other => other,
        };
        self.acked = self.last_seq;
        let (seq, redelivered, events) = match parsed {
            Err(Error::Protocol(e))
                if e.code == wire::ErrorCode::BadSequence && self.last_seq.is_some() =>
            {
                // The engine never delivered the number we acknowledge: it was restarted and
                // numbers its events from 1 again. Start over with its numbering.
                warn!(
                    "the engine at {} does not know event {} (it restarted?); \
                     sequence numbers start again",
                    self.endpoint,
                    self.last_seq.unwrap_or_default()
                );
                self.last_seq = None;
                self.acked = None;
                return self.recv_once(max, wait, interrupted);
            }
            Ok(Reply::Events {
                seq,
                redelivered,
                events,
            }) => (seq, redelivered as usize, events.len()),
            Ok(other) => return Err(Error::UnexpectedReply(format!("{other:?}"))),
            Err(e) => return Err(e),
        };
        messages.truncate(events);
        let mut events = Vec::with_capacity(messages.len());
        for (i, message) in messages.into_iter().enumerate() {
            let event_seq = seq + i as u64;
            // Already handed to the application (another client took the window over and gave
            // it back): never hand out a number twice from one client.
            if self.last_seq.is_some_and(|last| event_seq <= last) {
                continue;
            }
            events.push(OwnedEvent {
                seq: event_seq,
                message,
                redelivered: i < redelivered,
            });
        }
        if let Some(last) = events.last() {
            self.last_seq = Some(last.seq);
        }
        Ok(events)
    }

    /// Publishes one event (its filter first).
    pub fn publish(&mut self, event: &[u8]) -> Result<()> {
        self.publish_batch([event]).map(|_| ())
    }

    /// Publishes events in one round trip, in order; returns how many. Events that add up to
    /// more than the engine's request size (`max_request_bytes` of its `hello` once
    /// [`Client::hello`] was called, else [`wire::DEFAULT_MAX_REQUEST_BYTES`], the command frame
    /// included) go in several round trips, in order; if one fails, the events before it are
    /// published. An event larger than that alone is sent alone (the engine refuses it).
    pub fn publish_batch<I, B>(&mut self, events: I) -> Result<usize>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let events: Vec<B> = events.into_iter().collect();
        if events.is_empty() {
            return Ok(0);
        }
        if events.len() > wire::MAX_BATCH as usize {
            return Err(Error::InvalidArgument(format!(
                "at most {} events per batch (got {})",
                wire::MAX_BATCH,
                events.len()
            )));
        }
        if let Some(i) = events.iter().position(|e| e.as_ref().is_empty()) {
            return Err(Error::InvalidArgument(format!(
                "event {} of the batch is empty",
                i + 1
            )));
        }
        if self.options.protocol == Protocol::V1 {
            return self.v1_publish(&events);
        }
        let mut published = 0;
        let mut start = 0;
        // A request's bytes are all its frames: the command frame and the events.
        let limit = self.max_request_bytes;
        while start < events.len() {
            let mut end = start + 1;
            let mut bytes = wire::PUBLISH_COMMAND.len() + events[start].as_ref().len();
            while end < events.len() && bytes.saturating_add(events[end].as_ref().len()) <= limit {
                bytes += events[end].as_ref().len();
                end += 1;
            }
            published += self.publish_request(&events[start..end])?;
            start = end;
        }
        Ok(published)
    }

    /// Like [`Client::publish_batch`], but takes the events' buffers: each `Vec<u8>` becomes
    /// the ZeroMQ message that is sent, without a copy (`publish_batch` copies each event into
    /// its message). Same rules and splitting otherwise.
    pub fn publish_batch_owned<I>(&mut self, events: I) -> Result<usize>
    where
        I: IntoIterator<Item = Vec<u8>>,
    {
        let mut events: Vec<Vec<u8>> = events.into_iter().collect();
        if events.is_empty() {
            return Ok(0);
        }
        if events.len() > wire::MAX_BATCH as usize {
            return Err(Error::InvalidArgument(format!(
                "at most {} events per batch (got {})",
                wire::MAX_BATCH,
                events.len()
            )));
        }
        if let Some(i) = events.iter().position(Vec::is_empty) {
            return Err(Error::InvalidArgument(format!(
                "event {} of the batch is empty",
                i + 1
            )));
        }
        if self.options.protocol == Protocol::V1 {
            return self.v1_publish(&events);
        }
        let mut published = 0;
        let limit = self.max_request_bytes;
        while !events.is_empty() {
            let mut end = 1;
            let mut bytes = wire::PUBLISH_COMMAND.len() + events[0].len();
            while end < events.len() && bytes.saturating_add(events[end].len()) <= limit {
                bytes += events[end].len();
                end += 1;
            }
            let rest = events.split_off(end);
            published += self.publish_request_owned(std::mem::replace(&mut events, rest))?;
        }
        Ok(published)
    }

    /// Publishes one event, taking its buffer (no copy; see [`Client::publish_batch_owned`]).
    pub fn publish_owned(&mut self, event: Vec<u8>) -> Result<()> {
        self.publish_batch_owned([event]).map(|_| ())
    }

    /// One `publish` request of `events`, each moved into its message.
    fn publish_request_owned(&mut self, events: Vec<Vec<u8>>) -> Result<usize> {
        let n = events.len();
        let mut frames = Some(
            std::iter::once(zmq::Message::from(wire::PUBLISH_COMMAND))
                .chain(events.into_iter().map(zmq::Message::from))
                .collect::<Vec<_>>(),
        );
        // A publish is sent once (`Kind::Once`): the messages go with the first attempt.
        let reply = self.request_with(
            &mut |socket| match frames.take() {
                Some(frames) => socket.send_multipart(frames, 0),
                None => Err(zmq::Error::EINVAL),
            },
            Kind::Once,
            self.options.publish_timeout,
            &mut || false,
        )?;
        let count = match Self::expect(to_vecs(reply), "published")? {
            Reply::Published { count } => count as usize,
            other => return Err(Error::UnexpectedReply(format!("{other:?}"))),
        };
        if count != n {
            return Err(Error::UnexpectedReply(format!(
                "published {count} of {n} events"
            )));
        }
        Ok(count)
    }

    /// One `publish` request of `events`.
    fn publish_request<B: AsRef<[u8]>>(&mut self, events: &[B]) -> Result<usize> {
        let request = Request::PublishBatch(events.iter().map(AsRef::as_ref).collect());
        let reply = self.send_request(request, Kind::Once, self.options.publish_timeout)?;
        let n = match Self::expect(reply, "published")? {
            Reply::Published { count } => count as usize,
            other => return Err(Error::UnexpectedReply(format!("{other:?}"))),
        };
        if n != events.len() {
            return Err(Error::UnexpectedReply(format!(
                "published {n} of {} events",
                events.len()
            )));
        }
        Ok(n)
    }

    /// v1: each event as its own request, whose reply is `event-engine: msg published`.
    fn v1_publish<B: AsRef<[u8]>>(&mut self, events: &[B]) -> Result<usize> {
        if let Some(i) = events
            .iter()
            .position(|e| e.as_ref().starts_with(wire::COMMAND_PREFIX))
        {
            return Err(Error::InvalidArgument(format!(
                "event {} starts with 'plugin_command:', which protocol v1 cannot publish",
                i + 1
            )));
        }
        if self.closed {
            return Err(Error::Closed);
        }
        for (i, event) in events.iter().enumerate() {
            let started = Instant::now();
            let reply = self.v1_request(event.as_ref(), self.options.publish_timeout, None)?;
            let Some(reply) = reply else {
                return Err(self.disconnected(started, 1));
            };
            if reply.first().map(Vec::as_slice) != Some(wire::MSG_PUBLISHED) {
                if let Ok(Reply::Error(e)) = Reply::parse(reply.clone()) {
                    return Err(Error::Protocol(e));
                }
                return Err(Error::UnexpectedReply(format!(
                    "expected 'event-engine: msg published' for event {}, got {:?}",
                    i + 1,
                    String::from_utf8_lossy(reply.first().map_or(&[][..], Vec::as_slice))
                )));
            }
        }
        Ok(events.len())
    }

    /// Tells the engine every event handed out so far is processed; returns how many events the
    /// engine still holds for this plugin. `next`/`next_batch` acknowledge implicitly. Protocol v2
    /// only (in v1 every event is acknowledged when it is delivered).
    pub fn ack(&mut self) -> Result<u64> {
        self.v2_only("ack")?;
        let Some(seq) = self.last_seq else {
            return Ok(0);
        };
        self.ack_through(seq)
    }

    /// Like [`Client::ack`], for the events up to and including `seq` only: those handed out
    /// after it stay unacknowledged (e.g. events an application fetched ahead and has not
    /// processed). `seq` must be at least 1 and at most [`Client::last_seq`]; one below what
    /// was acknowledged already changes nothing. Protocol v2 only.
    pub fn ack_through(&mut self, seq: u64) -> Result<u64> {
        self.v2_only("ack")?;
        if seq == 0 || self.last_seq.is_none_or(|last| seq > last) {
            return Err(Error::InvalidArgument(format!(
                "ack_through({seq}): {}",
                match self.last_seq {
                    Some(last) => format!("the last event handed out is {last}"),
                    None => "no event was handed out yet".into(),
                }
            )));
        }
        let reply =
            self.send_request(Request::Ack { seq }, Kind::Idempotent, Some(Duration::ZERO))?;
        let pending = match Self::expect(reply, "acked")? {
            Reply::Acked { pending, .. } => pending,
            other => return Err(Error::UnexpectedReply(format!("{other:?}"))),
        };
        self.acked = Some(self.acked.map_or(seq, |a| a.max(seq)));
        Ok(pending)
    }

    /// Tells the engine this plugin is done (which also acknowledges every event handed out).
    /// The client cannot be used afterwards; calling it twice is harmless.
    pub fn quit(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        if self.options.protocol == Protocol::V1 {
            // 0.2 engines send no reply to quit (ours does, at once): wait briefly, and let the
            // socket linger so that the request leaves even if no reply comes.
            let wait = self.options.reply_timeout.min(Duration::from_millis(200));
            let reply = self.v1_request(wire::QUIT, Some(wait), Some(1000));
            self.closed = true;
            self.reset_socket();
            self.side = None;
            return reply.map(|_| ());
        }
        let reply = self.send_request(Request::Quit, Kind::Once, Some(Duration::ZERO));
        self.closed = true;
        self.reset_socket();
        Self::expect(reply?, "bye").map(|_| ())
    }
}
