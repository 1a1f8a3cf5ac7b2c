//! The few libzmq features the `zmq` crate does not expose, behind safe functions.
//!
//! * [`EngineContext`] owns a raw libzmq context so the engine can call `zmq_ctx_shutdown` (every
//!   blocking call on its sockets then returns `ETERM`): that is how a failed plugin or a stop
//!   request unblocks all the others, and why shutdown never hangs.
//! * [`set_nodrop`] sets `ZMQ_XPUB_NODROP`, which makes a full subscriber block the sender
//!   instead of losing the event.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use log::{debug, info, warn};

/// A libzmq context owned by one running application.
///
/// Sockets made by [`EngineContext::socket`] are ordinary `zmq::Socket`s. The context is
/// terminated by [`EngineContext::terminate`] once every socket has been closed.
pub(crate) struct EngineContext {
    raw: *mut c_void,
    terminated: AtomicBool,
}

// SAFETY: a libzmq context is thread safe (zmq_ctx_new(3)); we only pass the pointer to libzmq.
unsafe impl Send for EngineContext {}
// SAFETY: as above; zmq_ctx_shutdown and zmq_socket may be called from any thread.
unsafe impl Sync for EngineContext {}

impl EngineContext {
    /// A new context with libzmq's default socket limit (1023).
    #[cfg(test)]
    pub(crate) fn new() -> Result<Arc<Self>, zmq::Error> {
        Self::with_max_sockets(zmq_sys::ZMQ_MAX_SOCKETS_DFLT as usize)
    }

    /// A new context whose sockets may number `max_sockets` (`ZMQ_MAX_SOCKETS`; libzmq's default
    /// of 1023 is two or three hundred plugins). Fails with `EINVAL` beyond libzmq's own ceiling
    /// (`ZMQ_SOCKET_LIMIT`).
    pub(crate) fn with_max_sockets(max_sockets: usize) -> Result<Arc<Self>, zmq::Error> {
        // SAFETY: plain constructor; a null result is handled.
        let raw = unsafe { zmq_sys::zmq_ctx_new() };
        if raw.is_null() {
            return Err(last_error());
        }
        let ctx = EngineContext {
            raw,
            terminated: AtomicBool::new(false),
        };
        let max = c_int::try_from(max_sockets).unwrap_or(c_int::MAX);
        // SAFETY: `raw` is a live context with no socket yet, as zmq_ctx_set(3) requires for
        // ZMQ_MAX_SOCKETS.
        if unsafe { zmq_sys::zmq_ctx_set(raw, zmq_sys::ZMQ_MAX_SOCKETS as c_int, max) } == -1 {
            return Err(last_error());
        }
        Ok(Arc::new(ctx))
    }

    /// The most sockets libzmq allows in one context (`ZMQ_SOCKET_LIMIT`).
    pub(crate) fn socket_ceiling() -> usize {
        // SAFETY: a throwaway context, read and terminated at once.
        unsafe {
            let raw = zmq_sys::zmq_ctx_new();
            if raw.is_null() {
                return zmq_sys::ZMQ_MAX_SOCKETS_DFLT as usize;
            }
            let n = zmq_sys::zmq_ctx_get(raw, zmq_sys::ZMQ_SOCKET_LIMIT as c_int);
            zmq_sys::zmq_ctx_term(raw);
            usize::try_from(n).unwrap_or(zmq_sys::ZMQ_MAX_SOCKETS_DFLT as usize)
        }
    }

    /// A new socket of this context.
    pub(crate) fn socket(&self, kind: zmq::SocketType) -> Result<zmq::Socket, zmq::Error> {
        if self.terminated.load(Ordering::Acquire) {
            return Err(zmq::Error::ETERM);
        }
        // SAFETY: `raw` is a live context (terminate() has not run, and it only runs once every
        // owner is done creating sockets).
        let sock = unsafe { zmq_sys::zmq_socket(self.raw, raw_type(kind)) };
        if sock.is_null() {
            return Err(last_error());
        }
        // SAFETY: `sock` is a fresh socket that nothing else owns; the zmq crate closes it on drop.
        Ok(unsafe { zmq::Socket::from_raw(sock) })
    }

    /// Makes every blocking call on this context's sockets return `ETERM` (zmq_ctx_shutdown(3)).
    /// Idempotent.
    pub(crate) fn shutdown(&self) {
        if self.terminated.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: `raw` is live; zmq_ctx_shutdown is thread safe and may be called repeatedly.
        unsafe {
            zmq_sys::zmq_ctx_shutdown(self.raw);
        }
    }

    /// Terminates the context, waiting at most `limit` for sockets that are still open (a plugin
    /// that kept its socket). Returns whether termination completed in time; if not, it completes
    /// in the background once the last socket closes (the caller says so).
    pub(crate) fn terminate(self: &Arc<Self>, limit: Duration) -> bool {
        if self.terminated.swap(true, Ordering::AcqRel) {
            return true;
        }
        let ctx = Arc::clone(self);
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("ee-ctx-term".into())
            .spawn(move || {
                loop {
                    // SAFETY: `raw` is live and terminated exactly once (guarded by `terminated`).
                    let rc = unsafe { zmq_sys::zmq_ctx_term(ctx.raw) };
                    if rc == 0 || last_error() != zmq::Error::EINTR {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        if spawned.is_err() {
            warn!("could not spawn the context terminator; the context is left open");
            return false;
        }
        rx.recv_timeout(limit).is_ok()
    }
}

impl Drop for EngineContext {
    fn drop(&mut self) {
        // Reached only when terminate() never ran (start() failed half-way); every socket is
        // closed by then, since sockets are dropped before the last Arc of the context.
        if !self.terminated.swap(true, Ordering::AcqRel) {
            // SAFETY: `raw` is live; no socket remains, so this returns at once.
            unsafe {
                zmq_sys::zmq_ctx_shutdown(self.raw);
                zmq_sys::zmq_ctx_term(self.raw);
            }
        }
    }
}

/// Sets `ZMQ_XPUB_NODROP` on a PUB or XPUB socket: sends block (or fail with `EAGAIN` when
/// non-blocking) instead of dropping events at the high-water mark.
pub(crate) fn set_nodrop(socket: &mut zmq::Socket) -> Result<(), zmq::Error> {
    let on: c_int = 1;
    // SAFETY: the pointer is a live socket owned by `socket`; the option value is an int.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            socket.as_mut_ptr(),
            zmq_sys::ZMQ_XPUB_NODROP as c_int,
            &on as *const c_int as *const c_void,
            std::mem::size_of::<c_int>(),
        )
    };
    if rc == -1 {
        return Err(last_error());
    }
    Ok(())
}

/// Watches a bound TCP socket for failed accepts. When the process runs out of file
/// descriptors, libzmq's listener cannot accept the waiting connection and retries it at once, for
/// ever (a busy loop in the I/O thread). The guard notices the first failure through the socket's
/// monitor, says so once, closes the listener (connected clients keep working; new ones are
/// refused and retry, as ZeroMQ clients do) and binds it again every [`LISTENER_RETRY`] until it
/// can.
pub(crate) struct ListenerGuard {
    /// The socket's monitor, when the guard reads it itself (the bus's ports); the external
    /// plugins' ports are watched by the port monitor, which raises a flag instead.
    monitor: Option<zmq::Socket>,
    what: String,
    endpoint: String,
    /// When the listener was closed, and when to try to bind it again.
    closed: Option<(Instant, Instant)>,
    warned: bool,
}

/// How long a listener closed by a [`ListenerGuard`] stays closed before the next try.
pub(crate) const LISTENER_RETRY: Duration = Duration::from_millis(1000);

static GUARDS: AtomicUsize = AtomicUsize::new(0);

impl ListenerGuard {
    /// Starts watching `socket`, bound at `endpoint` (`what` names it in messages). Must be
    /// called, and used, on the thread that owns `socket`.
    pub(crate) fn new(
        ctx: &EngineContext,
        socket: &zmq::Socket,
        what: &str,
        endpoint: &str,
    ) -> Result<ListenerGuard, zmq::Error> {
        let address = format!(
            "inproc://ee-guard-{}",
            GUARDS.fetch_add(1, Ordering::Relaxed)
        );
        socket.monitor(&address, zmq_sys::ZMQ_EVENT_ACCEPT_FAILED as i32)?;
        let monitor = ctx.socket(zmq::PAIR)?;
        monitor.set_linger(0)?;
        monitor.connect(&address)?;
        Ok(ListenerGuard {
            monitor: Some(monitor),
            what: what.to_string(),
            endpoint: endpoint.to_string(),
            closed: None,
            warned: false,
        })
    }

    /// A guard told of failed accepts by [`ListenerGuard::check_flag`] (someone else reads the
    /// socket's monitor).
    pub(crate) fn with_flag(what: &str, endpoint: &str) -> ListenerGuard {
        ListenerGuard {
            monitor: None,
            what: what.to_string(),
            endpoint: endpoint.to_string(),
            closed: None,
            warned: false,
        }
    }

    /// The item to poll (readable when the monitor has an event; never for a flag guard).
    pub(crate) fn poll_item(&self) -> zmq::PollItem<'_> {
        match &self.monitor {
            Some(m) => m.as_poll_item(zmq::POLLIN),
            None => zmq::PollItem::from_fd(-1, zmq::PollEvents::empty()),
        }
    }

    /// While the listener is closed: milliseconds until the next try to bind it.
    pub(crate) fn retry_in_ms(&self) -> Option<i64> {
        self.closed.map(|(_, at)| {
            let left = at.saturating_duration_since(Instant::now());
            i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1)
        })
    }

    /// For a flag guard: `failed` says an accept failed for lack of descriptors since the last
    /// call; handles it and the retry timer.
    pub(crate) fn check_flag(&mut self, socket: &zmq::Socket, failed: bool) {
        self.handle(socket, failed.then_some(libc::EMFILE));
    }

    /// Handles the monitor's events (`readable`: its poll item was) and the retry timer.
    pub(crate) fn check(&mut self, socket: &zmq::Socket, readable: bool) {
        let mut failed = None;
        if let (true, Some(monitor)) = (readable, &self.monitor) {
            while let Ok(frames) = monitor.recv_multipart(zmq::DONTWAIT) {
                let errno = frames
                    .first()
                    .and_then(|f| f.get(2..6))
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                if let Some(e) = errno {
                    failed = Some(e);
                }
            }
        }
        self.handle(socket, failed);
    }

    fn handle(&mut self, socket: &zmq::Socket, failed: Option<i32>) {
        if let Some(errno) = failed {
            let out_of_descriptors = errno == libc::EMFILE || errno == libc::ENFILE;
            if out_of_descriptors && self.closed.is_none() {
                if !self.warned {
                    warn!(
                        "{} cannot accept connections: the process has no file descriptor left \
                         (RLIMIT_NOFILE {}); it stops listening until descriptors free up, \
                         connected clients keep working (said once)",
                        self.what,
                        nofile_limit().map_or("unknown".into(), |l| l.to_string())
                    );
                    self.warned = true;
                }
                if let Err(e) = socket.unbind(&self.endpoint) {
                    debug!("could not close {} ({e})", self.endpoint);
                }
                let now = Instant::now();
                self.closed = Some((now, now + LISTENER_RETRY));
            }
        }
        if let Some((since, at)) = self.closed {
            if Instant::now() >= at {
                match socket.bind(&self.endpoint) {
                    Ok(()) => {
                        info!(
                            "{} listens again on {} (closed {:.1?})",
                            self.what,
                            self.endpoint,
                            since.elapsed()
                        );
                        self.closed = None;
                    }
                    Err(e) => {
                        debug!("{} still cannot listen ({e})", self.what);
                        self.closed = Some((since, Instant::now() + LISTENER_RETRY));
                    }
                }
            }
        }
    }
}

/// Ends the TCP connection on descriptor `fd` (from [`Frame::source_fd`]): libzmq sees the
/// connection close and cleans up as for any peer that left. The descriptor stays libzmq's.
pub(crate) fn shutdown_connection(fd: i32) {
    if fd >= 0 {
        // SAFETY: shutdown(2) on a descriptor only changes the connection's state; it never
        // frees the descriptor, which libzmq closes when it sees the connection end.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process.
pub(crate) fn nofile_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0 {
        Some(l.rlim_cur)
    } else {
        None
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (once per process). Returns the soft limit
/// in force afterwards.
pub(crate) fn raise_nofile_limit() -> Option<u64> {
    static RAISED: std::sync::Once = std::sync::Once::new();
    RAISED.call_once(|| {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the struct we own.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
                let old = l.rlim_cur;
                l.rlim_cur = l.rlim_max;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &l) == 0 {
                    debug!("raised RLIMIT_NOFILE from {old} to {}", l.rlim_max);
                }
            }
        }
    });
    nofile_limit()
}

/// The libzmq constant of a socket type (`zmq::SocketType::to_raw` is private).
fn raw_type(kind: zmq::SocketType) -> c_int {
    use zmq::SocketType::*;
    let raw = match kind {
        PAIR => zmq_sys::ZMQ_PAIR,
        PUB => zmq_sys::ZMQ_PUB,
        SUB => zmq_sys::ZMQ_SUB,
        REQ => zmq_sys::ZMQ_REQ,
        REP => zmq_sys::ZMQ_REP,
        DEALER => zmq_sys::ZMQ_DEALER,
        ROUTER => zmq_sys::ZMQ_ROUTER,
        PULL => zmq_sys::ZMQ_PULL,
        PUSH => zmq_sys::ZMQ_PUSH,
        XPUB => zmq_sys::ZMQ_XPUB,
        XSUB => zmq_sys::ZMQ_XSUB,
        STREAM => zmq_sys::ZMQ_STREAM,
    };
    raw as c_int
}

/// One message frame (`zmq_msg_t`) owned by the forwarder. Unlike `zmq::Message`, a
/// non-blocking send that finds the queue full leaves the frame with its owner (libzmq keeps the
/// message when `zmq_msg_send` fails), so a full subscriber never costs an event.
#[repr(C, align(8))]
pub(crate) struct Frame {
    msg: zmq_sys::zmq_msg_t,
}

// SAFETY: a zmq_msg_t is plain data owned by this value; libzmq's shared payloads are
// reference-counted atomically.
unsafe impl Send for Frame {}

impl Frame {
    /// An empty frame (no bytes).
    pub(crate) fn empty() -> Frame {
        let mut f = Frame {
            msg: zmq_sys::zmq_msg_t { __: [0; 64] },
        };
        // SAFETY: initialises the message we own; zmq_msg_init cannot fail.
        unsafe { zmq_sys::zmq_msg_init(&mut f.msg) };
        f
    }

    /// A new frame holding a copy of `bytes`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Frame, zmq::Error> {
        let mut f = Frame::empty();
        // SAFETY: `f.msg` is initialised and ours; zmq_msg_init_size re-initialises it with room
        // for `bytes.len()` bytes, which are then written within that room.
        unsafe {
            zmq_sys::zmq_msg_close(&mut f.msg);
            if zmq_sys::zmq_msg_init_size(&mut f.msg, bytes.len()) == -1 {
                let e = last_error();
                zmq_sys::zmq_msg_init(&mut f.msg);
                return Err(e);
            }
            if !bytes.is_empty() {
                let data = zmq_sys::zmq_msg_data(&mut f.msg) as *mut u8;
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            }
        }
        Ok(f)
    }

    /// How many bytes the frame has.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: reads the message we own.
        unsafe { zmq_sys::zmq_msg_size(&self.msg) }
    }

    /// The next frame from `socket`, or `None` when `flags` has DONTWAIT and none is there.
    pub(crate) fn recv(socket: &mut zmq::Socket, flags: i32) -> Result<Option<Frame>, zmq::Error> {
        let mut f = Frame::empty();
        // SAFETY: `socket` is a live socket and `f` an initialised message we own.
        let rc = unsafe { zmq_sys::zmq_msg_recv(&mut f.msg, socket.as_mut_ptr(), flags as c_int) };
        if rc == -1 {
            return match last_error() {
                zmq::Error::EAGAIN => Ok(None),
                e => Err(e),
            };
        }
        Ok(Some(f))
    }

    /// The frame's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        let msg = &self.msg as *const zmq_sys::zmq_msg_t;
        // SAFETY: zmq_msg_data and zmq_msg_size only read the message; the slice lives as long as
        // `self` and is not changed while borrowed (sending needs `&mut self`).
        unsafe {
            let size = zmq_sys::zmq_msg_size(msg);
            if size == 0 {
                return &[];
            }
            let data = zmq_sys::zmq_msg_data(msg as *mut zmq_sys::zmq_msg_t);
            std::slice::from_raw_parts(data as *const u8, size)
        }
    }

    /// True when more frames of the same message follow.
    pub(crate) fn more(&self) -> bool {
        // SAFETY: reads the message we own.
        unsafe { zmq_sys::zmq_msg_more(&self.msg) == 1 }
    }

    /// Sends the frame. `Ok(false)` when the queue is full (`EAGAIN`): the frame stays here.
    pub(crate) fn send(
        &mut self,
        socket: &mut zmq::Socket,
        flags: i32,
    ) -> Result<bool, zmq::Error> {
        // SAFETY: `socket` is live; on success libzmq takes the content and leaves an empty
        // message, on failure the message is untouched.
        let rc =
            unsafe { zmq_sys::zmq_msg_send(&mut self.msg, socket.as_mut_ptr(), flags as c_int) };
        if rc == -1 {
            return match last_error() {
                zmq::Error::EAGAIN => Ok(false),
                e => Err(e),
            };
        }
        Ok(true)
    }

    /// The file descriptor of the TCP connection this frame came from (`ZMQ_SRCFD`), or -1.
    pub(crate) fn source_fd(&self) -> i32 {
        // SAFETY: reads a property of the message we own.
        unsafe {
            zmq_sys::zmq_msg_get(
                &self.msg,
                2 /* ZMQ_SRCFD, deprecated in libzmq but served by 4.3 */ as c_int,
            )
        }
    }

    /// Another frame with the same bytes (shared, not copied, when they are large).
    pub(crate) fn share(&mut self) -> Result<Frame, zmq::Error> {
        let mut f = Frame::empty();
        // SAFETY: both are initialised messages we own.
        if unsafe { zmq_sys::zmq_msg_copy(&mut f.msg, &mut self.msg) } == -1 {
            return Err(last_error());
        }
        Ok(f)
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: closes the message we own, once.
        unsafe {
            zmq_sys::zmq_msg_close(&mut self.msg);
        }
    }
}

fn last_error() -> zmq::Error {
    // SAFETY: reads the thread-local errno libzmq set.
    zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() })
}

/// The TCP endpoint a socket binds for `address` and `port` (0: any free port): the protocol's
/// spelling ([`wire::endpoint::bind`](crate::wire::endpoint::bind)).
pub(crate) fn tcp_endpoint(address: &str, port: u16) -> String {
    crate::wire::endpoint::bind(address, port)
}

/// The endpoint a client on this host connects to for a bound `endpoint`: a wildcard address
/// (`0.0.0.0`, `::`) becomes the matching loopback address (`127.0.0.1`, `[::1]`).
pub(crate) fn connectable(endpoint: &str) -> String {
    let port = endpoint
        .strip_prefix("tcp://")
        .and_then(|rest| rest.rsplit_once(':'))
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)));
    match port {
        Some((host, port)) => {
            crate::wire::endpoint::tcp(crate::wire::endpoint::connectable(host), port)
        }
        None => endpoint.to_string(),
    }
}

/// Binds `socket` to TCP `address:port` (IPv6 enabled when the address is IPv6) and returns the
/// endpoint actually bound (with the real port when `port` was 0).
pub(crate) fn bind_tcp(
    socket: &zmq::Socket,
    address: &str,
    port: u16,
) -> Result<(String, u16), zmq::Error> {
    if crate::wire::endpoint::is_ipv6_host(address) {
        socket.set_ipv6(true)?;
    }
    socket.bind(&tcp_endpoint(address, port))?;
    let endpoint = socket
        .get_last_endpoint()?
        .map_err(|_| zmq::Error::EINVAL)?;
    let bound = crate::wire::endpoint::port_of(&endpoint).ok_or(zmq::Error::EINVAL)?;
    Ok((endpoint, bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(tcp_endpoint("127.0.0.1", 0), "tcp://127.0.0.1:*");
        assert_eq!(tcp_endpoint("0.0.0.0", 5559), "tcp://0.0.0.0:5559");
        assert_eq!(tcp_endpoint("::1", 7), "tcp://[::1]:7");
    }

    #[test]
    fn wildcard_endpoints_become_connectable() {
        assert_eq!(connectable("tcp://0.0.0.0:5559"), "tcp://127.0.0.1:5559");
        assert_eq!(connectable("tcp://[::]:7"), "tcp://[::1]:7");
        assert_eq!(connectable("tcp://10.1.2.3:7"), "tcp://10.1.2.3:7");
        assert_eq!(connectable("tcp://[fe80::1]:7"), "tcp://[fe80::1]:7");
        assert_eq!(connectable("tcp://127.0.0.1:7"), "tcp://127.0.0.1:7");
    }

    #[test]
    fn shutdown_unblocks_a_blocking_receive() {
        let ctx = EngineContext::new().unwrap();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://x").unwrap();
        let t = std::thread::spawn(move || pull.recv_bytes(0));
        ctx.shutdown();
        assert_eq!(t.join().unwrap(), Err(zmq::Error::ETERM));
        assert!(ctx.terminate(Duration::from_secs(5)));
        assert!(ctx.socket(zmq::PULL).is_err());
    }

    #[test]
    fn a_frame_that_finds_the_queue_full_is_kept() {
        let ctx = EngineContext::new().unwrap();
        let (mut src_in, src_out) = (
            ctx.socket(zmq::PAIR).unwrap(),
            ctx.socket(zmq::PAIR).unwrap(),
        );
        src_in.bind("inproc://src").unwrap();
        src_out.connect("inproc://src").unwrap();
        let mut push = ctx.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(1).unwrap();
        let mut pull = ctx.socket(zmq::PULL).unwrap();
        pull.set_rcvhwm(1).unwrap();
        pull.bind("inproc://dst").unwrap();
        push.connect("inproc://dst").unwrap();
        let mut sent = 0u8;
        let kept = loop {
            src_out.send(vec![sent; 50], 0).unwrap();
            let mut f = Frame::recv(&mut src_in, 0).unwrap().unwrap();
            assert_eq!((f.data(), f.more()), (vec![sent; 50].as_slice(), false));
            if !f.send(&mut push, zmq::DONTWAIT).unwrap() {
                break f;
            }
            sent += 1;
            assert!(sent < 100, "the queue never filled");
        };
        // The full queue left the frame with us, intact, and a shared copy reads the same.
        let mut kept = kept;
        assert_eq!(kept.data(), vec![sent; 50].as_slice());
        assert_eq!(kept.share().unwrap().data(), kept.data());
        assert_eq!(
            Frame::recv(&mut pull, 0).unwrap().unwrap().data(),
            vec![0u8; 50].as_slice()
        );
        drop((push, pull, src_in, src_out, kept));
        assert!(ctx.terminate(Duration::from_secs(5)));
    }

    #[test]
    fn binds_port_zero_and_reads_it_back() {
        let ctx = EngineContext::new().unwrap();
        let s = ctx.socket(zmq::PULL).unwrap();
        let (endpoint, port) = bind_tcp(&s, "127.0.0.1", 0).unwrap();
        assert!(port > 0);
        assert_eq!(endpoint, format!("tcp://127.0.0.1:{port}"));
        drop(s);
        assert!(ctx.terminate(Duration::from_secs(5)));
    }
}
