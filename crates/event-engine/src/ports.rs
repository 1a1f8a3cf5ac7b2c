//! The port monitor: one thread that watches the TCP connections to every external plugin's
//! port (libzmq socket monitors), so that the engine can say whether a process is connected
//! (`connections` in the plugin's stats and in its warnings) and `wait_for_external_plugins` can
//! wait for the first connection to each port.
//!
//! Each external plugin's ROUTER socket reports `ZMQ_EVENT_ACCEPTED` and `ZMQ_EVENT_DISCONNECTED`
//! to an inproc PAIR socket; the thread keeps `accepted - disconnected` per port. On a port with a
//! token ([`crate::auth`]) it also counts the connections refused at the handshake (`refused` in
//! the plugin's stats, with a warning at most every [`REFUSAL_WARNING_EVERY`]), and a connection
//! counts as the plugin's for `wait_for_external_plugins` only once its handshake succeeded. It
//! ends when the application's context shuts down (every call then returns `ETERM`).

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::external::Counters;
use crate::zmqx::EngineContext;

/// The longest a run of refused connections goes without a warning.
pub(crate) const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// One watched port.
pub(crate) struct Watched {
    /// The PAIR socket the ROUTER's monitor writes to.
    socket: zmq::Socket,
    counters: Arc<Counters>,
    name: String,
    /// The port admits only its plugin's token.
    authenticated: bool,
    /// When the last refusal warning was logged, and the refusals since.
    warned: Cell<Option<Instant>>,
    unwarned: Cell<u64>,
}

impl Watched {
    /// A port to watch through `socket` (from [`monitor`]).
    pub(crate) fn new(
        socket: zmq::Socket,
        counters: Arc<Counters>,
        name: String,
        authenticated: bool,
    ) -> Self {
        Watched {
            socket,
            counters,
            name,
            authenticated,
            warned: Cell::new(None),
            unwarned: Cell::new(0),
        }
    }

    /// Counts a refused connection, and warns if none was warned of for a while.
    fn refused(&self) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        self.unwarned.set(self.unwarned.get() + 1);
        let due = self
            .warned
            .get()
            .is_none_or(|at| at.elapsed() >= REFUSAL_WARNING_EVERY);
        if due {
            warn!(
                "external plugin {}: refused {} connection(s) that did not present its credential \
                 ({} refused in all)",
                self.name,
                self.unwarned.get(),
                self.counters.refused.load(Ordering::Relaxed)
            );
            self.warned.set(Some(Instant::now()));
            self.unwarned.set(0);
        }
    }
}

/// Starts monitoring `router` (call before it binds, so that no connection is missed); returns
/// the socket to read its events from.
pub(crate) fn monitor(
    ctx: &EngineContext,
    router: &zmq::Socket,
    index: usize,
    authenticated: bool,
) -> Result<zmq::Socket, zmq::Error> {
    let address = format!("inproc://ee-monitor-{index}");
    let mut events = zmq::SocketEvent::ACCEPTED as i32
        | zmq::SocketEvent::DISCONNECTED as i32
        | zmq::SocketEvent::ACCEPT_FAILED as i32;
    if authenticated {
        events |= zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32
            | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32
            | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as i32
            | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as i32;
    }
    router.monitor(&address, events)?;
    let socket = ctx.socket(zmq::PAIR)?;
    socket.set_linger(0)?;
    socket.connect(&address)?;
    Ok(socket)
}

/// Spawns the monitor thread. `accepted` receives the index (in `ports`) of a port each time a
/// connection to it is accepted (on a port with a token: each time one passes the handshake).
pub(crate) fn spawn(
    ports: Vec<Watched>,
    accepted: mpsc::Sender<usize>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ee-ports".into())
        .spawn(move || run(ports, accepted))
}

fn run(ports: Vec<Watched>, accepted: mpsc::Sender<usize>) {
    if ports.is_empty() {
        return;
    }
    loop {
        let mut items: Vec<_> = ports
            .iter()
            .map(|p| p.socket.as_poll_item(zmq::POLLIN))
            .collect();
        match zmq::poll(&mut items, -1) {
            Ok(_) => {}
            Err(zmq::Error::EINTR) => continue,
            Err(zmq::Error::ETERM) => return,
            Err(e) => {
                warn!("the port monitor stopped: {e}");
                return;
            }
        }
        let ready: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.is_readable())
            .map(|(i, _)| i)
            .collect();
        drop(items);
        for i in ready {
            loop {
                let frames = match ports[i].socket.recv_multipart(zmq::DONTWAIT) {
                    Ok(f) => f,
                    Err(zmq::Error::EAGAIN) => break,
                    Err(zmq::Error::ETERM) => return,
                    Err(e) => {
                        warn!("the port monitor stopped: {e}");
                        return;
                    }
                };
                note(&ports[i], &frames, || {
                    let _ = accepted.send(i);
                });
            }
        }
    }
}

/// Applies one monitor event (frame 1: a 16-bit event number and a 32-bit value).
fn note(port: &Watched, frames: &[Vec<u8>], on_accept: impl FnOnce()) {
    let Some(event) = frames
        .first()
        .and_then(|f| f.get(..2))
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
    else {
        return;
    };
    let connections = &port.counters.connections;
    if event == zmq::SocketEvent::ACCEPT_FAILED as u16 {
        // The value is the errno; out of descriptors, the plugin's thread closes the port for a
        // while (libzmq would retry the accept at once, for ever).
        let errno = frames
            .first()
            .and_then(|f| f.get(2..6))
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        if matches!(errno, Some(e) if e == libc::EMFILE || e == libc::ENFILE) {
            port.counters.accept_failed.store(true, Ordering::Relaxed);
        }
        return;
    }
    if event == zmq::SocketEvent::ACCEPTED as u16 {
        connections.fetch_add(1, Ordering::Relaxed);
        debug!("external plugin {}: a process connected", port.name);
        if !port.authenticated {
            on_accept();
        }
    } else if event == zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16 {
        debug!(
            "external plugin {}: a process presented its credential",
            port.name
        );
        on_accept();
    } else if event == zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16
        || event == zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16
        || event == zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as u16
    {
        port.refused();
    } else if event == zmq::SocketEvent::DISCONNECTED as u16 {
        // Never below zero, whatever order the events come in.
        let _ = connections.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(1))
        });
        debug!("external plugin {}: a connection closed", port.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watched port with a token, with fresh counters.
    fn authenticated_port(ctx: &zmq::Context) -> Watched {
        Watched::new(
            ctx.socket(zmq::PAIR).unwrap(),
            Arc::new(Counters::default()),
            "victim".into(),
            true,
        )
    }

    #[test]
    fn refusals_are_all_counted_and_warned_of_at_a_bounded_rate() {
        let ctx = zmq::Context::new();
        let port = authenticated_port(&ctx);
        for _ in 0..1000 {
            port.refused();
        }
        assert_eq!(port.counters.refused.load(Ordering::Relaxed), 1000);
        // The first refusal was warned of at once; the 999 since wait for the next warning.
        assert_eq!(port.unwarned.get(), 999);
        assert!(port.warned.get().is_some());
    }

    #[test]
    fn on_an_authenticated_port_only_a_handshake_counts_as_the_plugin() {
        let ctx = zmq::Context::new();
        let port = authenticated_port(&ctx);
        let event = |e: zmq::SocketEvent| vec![(e as u16).to_ne_bytes().to_vec()];
        let mut accepted = 0;
        note(&port, &event(zmq::SocketEvent::ACCEPTED), || accepted += 1);
        assert_eq!(accepted, 0);
        note(
            &port,
            &event(zmq::SocketEvent::HANDSHAKE_FAILED_AUTH),
            || accepted += 1,
        );
        assert_eq!(
            (accepted, port.counters.refused.load(Ordering::Relaxed)),
            (0, 1)
        );
        note(&port, &event(zmq::SocketEvent::HANDSHAKE_SUCCEEDED), || {
            accepted += 1
        });
        assert_eq!(accepted, 1);
        assert_eq!(port.counters.connections.load(Ordering::Relaxed), 1);
    }
}
