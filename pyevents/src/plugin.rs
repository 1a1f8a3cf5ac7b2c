//! `pyevents.Plugin`: one external plugin's connection to the engine, over the shared Rust
//! client (`event-engine-client`).
//!
//! Every call that can wait releases the GIL, so other Python threads run meanwhile, and checks
//! for signals at least every 100 ms (the client's `poll_slice`): Ctrl-C raises
//! `KeyboardInterrupt` promptly. The client is not `Sync`; it sits behind a mutex, and calls
//! from several threads take turns (a thread waiting for its turn also honours Ctrl-C).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

use event_engine_client::{
    options as rules, CancelToken, Client, ClientOptions, Error, Protocol, Target,
    DEFAULT_MAX_BATCH_BYTES,
};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyType};

use crate::convert::{duration_from_secs, event_bytes, timeout_from_secs};
use crate::errors;
use crate::event::Event;
use crate::info::{Info, Stats};

/// How often a waiting call checks for signals (and cancellation).
const POLL_SLICE: Duration = Duration::from_millis(100);

/// A signal's exception (KeyboardInterrupt...) caught while the client waited, for the call to
/// raise once it returns, with the thread that made the call (signal handlers run only in the
/// main thread; another thread's call finishing meanwhile must not take it).
type PendingSignal = Arc<Mutex<Option<(ThreadId, PyErr)>>>;

/// Why a call failed: the client's error, or a Python exception (a signal handler's).
enum Failure {
    Client(Error),
    Python(PyErr),
}

impl Failure {
    fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Client(e) => errors::to_py(py, e),
            Failure::Python(e) => e,
        }
    }
}

/// Why a call stopped before it could use the client.
enum Stop {
    /// A signal handler raised this exception while the call waited for its turn.
    Signal(PyErr),
    /// The interpreter is shutting down.
    Finalizing,
}

/// A connection to one external plugin's port on an engine.
///
/// ```python
/// with pyevents.Plugin(6000) as plugin:
///     for event in plugin:
///         plugin.publish(b"TypeB" + event.data[5:])
/// ```
#[pyclass(module = "pyevents._native", frozen)]
pub struct Plugin {
    /// `None` once `close()` dropped the connection.
    client: Mutex<Option<Client>>,
    endpoint: String,
    cancel: CancelToken,
    signal: PendingSignal,
    closed: AtomicBool,
    /// The client's `last_seq`, 0 for none (sequence numbers start at 1).
    last_seq: AtomicU64,
    protocol: Protocol,
}

fn invalid(py: Python<'_>, e: Error) -> PyErr {
    errors::to_py(py, e)
}

impl Plugin {
    /// Runs `f` on the client with the GIL released, and turns its result into Python's.
    fn call<R, F>(&self, py: Python<'_>, f: F) -> PyResult<R>
    where
        F: FnOnce(&mut Client) -> Result<R, Error> + Send,
        R: Send,
    {
        self.run(py, f).map_err(|e| e.into_py(py))
    }

    /// Runs `f` on the client with the GIL released.
    fn run<R, F>(&self, py: Python<'_>, f: F) -> Result<R, Failure>
    where
        F: FnOnce(&mut Client) -> Result<R, Error> + Send,
        R: Send,
    {
        let outcome = py.detach(|| -> Result<Result<R, Error>, Stop> {
            let mut guard = self.lock()?;
            let Some(client) = guard.as_mut() else {
                return Ok(Err(Error::Closed));
            };
            let result = f(client);
            self.closed.store(client.is_closed(), Ordering::SeqCst);
            self.last_seq
                .store(client.last_seq().unwrap_or(0), Ordering::SeqCst);
            Ok(result)
        });
        // A signal caught by the client's interrupt check is raised whatever the call returned.
        let me = std::thread::current().id();
        let pending = {
            let mut stash = self.signal.lock();
            match stash.take() {
                Some((thread, e)) if thread == me => Some(e),
                other => {
                    *stash = other;
                    None
                }
            }
        };
        if let Some(e) = pending {
            return Err(Failure::Python(e));
        }
        match outcome {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => match py.check_signals() {
                // A signal that raises wins over the error it may have caused (EINTR).
                Err(signal) => Err(Failure::Python(signal)),
                Ok(()) => Err(Failure::Client(e)),
            },
            Err(Stop::Signal(e)) => Err(Failure::Python(e)),
            Err(Stop::Finalizing) => Err(Failure::Client(Error::Interrupted)),
        }
    }

    /// Takes the client, waiting for another thread's call to finish if need be; honours
    /// signals meanwhile. Called without the GIL.
    fn lock(&self) -> Result<parking_lot::MutexGuard<'_, Option<Client>>, Stop> {
        loop {
            if let Some(guard) = self.client.try_lock_for(POLL_SLICE) {
                return Ok(guard);
            }
            match Python::try_attach(|py| py.check_signals()) {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(Stop::Signal(e)),
                None => return Err(Stop::Finalizing),
            }
        }
    }

    /// Publishes events in the SDK core's batches: each batch is taken from `events` in this
    /// thread, with the GIL, and sent with it released.
    fn publish_events<I>(&self, py: Python<'_>, events: I) -> PyResult<usize>
    where
        I: Iterator<Item = Result<crate::convert::EventBytes, Error>>,
    {
        let mut total = 0;
        for batch in event_engine_client::batch::batches(events) {
            let batch = batch.map_err(|e| errors::to_py(py, e))?;
            total += self.call(py, |c| c.publish_batch(&batch))?;
        }
        Ok(total)
    }

    fn next_event(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Event>> {
        let timeout = timeout_from_secs(timeout).map_err(|e| invalid(py, e))?;
        let mut events = self.call(py, |c| c.next_batch_owned(1, timeout))?;
        Ok(events.pop().map(|e| Event::from_owned(py, e)))
    }
}

#[pymethods]
impl Plugin {
    /// Connects to the external plugin at `port` on `host` (default 127.0.0.1), or at
    /// `endpoint` (e.g. `tcp://10.0.0.5:6000`). With neither port nor endpoint, uses
    /// `EE_PLUGIN_ENDPOINT` or `EE_PLUGIN_PORT` from the environment (set by `event-engine run`
    /// for the plugins it launches); with only a host, `EE_PLUGIN_PORT` on that host. The rule is
    /// the SDK core's, the same in every language (`docs/python.md`).
    ///
    /// Connecting is lazy: an engine that is not up yet is found when it starts.
    /// `reply_timeout`: how long to wait for the engine beyond what it was asked to wait before
    /// reconnecting; `retries`: how many times a request that is safe to repeat is sent again;
    /// `publish_timeout`: how long a publish may wait while the bus is full (`None`: no limit);
    /// `long_poll`: longest single wait asked of the engine. Times are in seconds.
    /// `max_batch_bytes`: most bytes of event data one receive takes (1 to 2^40, default 64 MiB):
    /// a batch stops at `max` events or this many bytes, and a single larger event comes alone.
    /// `token` (its text) or `token_file` (a file whose first line is it): the credential the
    /// plugin's port admits (`docs/security.md`); by default the one `event-engine run` passes
    /// in the environment (`EE_PLUGIN_TOKEN`, `EE_PLUGIN_TOKEN_FILE`), if any.
    /// `curve_server_key` (the engine's CURVE public key) with `curve_secret_key` or
    /// `curve_secret_key_file` (the plugin's secret key): CURVE instead of a token, in a build
    /// whose libzmq has CURVE; by default the environment's (`EE_ENGINE_PUBLIC_KEY`,
    /// `EE_PLUGIN_SECRET_KEY`, `EE_PLUGIN_SECRET_KEY_FILE`), if any.
    /// `protocol=1` speaks only event-engine 0.2's v1 bytes (for a 0.2 engine; what
    /// `pyevents.events` uses): one event per receive, each delivered once, no `info`, `stats`
    /// or `ack`.
    #[new]
    #[allow(clippy::too_many_arguments)] // a Python signature with keyword arguments
    #[pyo3(signature = (port = None, host = None, *, endpoint = None, reply_timeout = 5.0,
                        retries = 3, publish_timeout = Some(30.0), long_poll = 1.0, protocol = 2,
                        max_batch_bytes = DEFAULT_MAX_BATCH_BYTES as i64, token = None,
                        token_file = None, curve_server_key = None, curve_secret_key = None,
                        curve_secret_key_file = None),
           text_signature = "(port=None, host=None, *, endpoint=None, reply_timeout=5.0, \
                             retries=3, publish_timeout=30.0, long_poll=1.0, protocol=2, \
                             max_batch_bytes=67108864, token=None, token_file=None, \
                             curve_server_key=None, curve_secret_key=None, \
                             curve_secret_key_file=None)")]
    fn new(
        py: Python<'_>,
        port: Option<i64>,
        host: Option<String>,
        endpoint: Option<String>,
        reply_timeout: f64,
        retries: u32,
        publish_timeout: Option<f64>,
        long_poll: f64,
        protocol: i64,
        max_batch_bytes: i64,
        token: Option<String>,
        token_file: Option<std::path::PathBuf>,
        curve_server_key: Option<String>,
        curve_secret_key: Option<String>,
        curve_secret_key_file: Option<std::path::PathBuf>,
    ) -> PyResult<Plugin> {
        let target = Target {
            port,
            host,
            endpoint,
        };
        let protocol = rules::protocol(protocol).map_err(|e| invalid(py, e))?;
        let options = ClientOptions {
            reply_timeout: duration_from_secs("reply_timeout", reply_timeout)
                .map_err(|e| invalid(py, e))?,
            retries,
            publish_timeout: publish_timeout
                .map(|s| duration_from_secs("publish_timeout", s))
                .transpose()
                .map_err(|e| invalid(py, e))?,
            poll_slice: POLL_SLICE,
            long_poll: duration_from_secs("long_poll", long_poll).map_err(|e| invalid(py, e))?,
            protocol,
            // As a float for the core's rule: exact for every value it accepts (2^40 < 2^53).
            max_batch_bytes: rules::byte_budget("max_batch_bytes", max_batch_bytes as f64)
                .map_err(|e| invalid(py, e))?,
            token: event_engine_client::Token::from_options(
                token.as_deref(),
                token_file.as_deref(),
            )
            .map_err(|e| errors::to_py(py, e))?,
            curve: event_engine_client::Curve::from_options(
                curve_server_key.as_deref(),
                curve_secret_key.as_deref(),
                curve_secret_key_file.as_deref(),
            )
            .map_err(|e| errors::to_py(py, e))?,
            ..ClientOptions::default()
        };
        let mut client = Client::open(&target, options).map_err(|e| errors::to_py(py, e))?;
        let signal = PendingSignal::default();
        let stash = signal.clone();
        // Called by the client, without the GIL, at least every poll slice while it waits.
        client.set_interrupt_check(Some(Box::new(move || {
            match Python::try_attach(|py| py.check_signals()) {
                Some(Ok(())) => false,
                Some(Err(e)) => {
                    *stash.lock() = Some((std::thread::current().id(), e));
                    true
                }
                // The interpreter is going away: stop waiting.
                None => true,
            }
        })));
        Ok(Plugin {
            endpoint: client.endpoint().to_string(),
            cancel: client.cancel_token(),
            client: Mutex::new(Some(client)),
            signal,
            closed: AtomicBool::new(false),
            last_seq: AtomicU64::new(0),
            protocol,
        })
    }

    /// The protocol this plugin speaks: 2, or 1 (event-engine 0.2's bytes).
    #[getter]
    fn protocol(&self) -> u32 {
        match self.protocol {
            Protocol::V1 => 1,
            Protocol::V2 => 2,
        }
    }

    /// The endpoint this plugin talks to, e.g. `tcp://127.0.0.1:6000`.
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The sequence number of the last event received (`None` before the first).
    #[getter]
    fn last_seq(&self) -> Option<u64> {
        match self.last_seq.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// True once `quit()` or `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The next event, waiting at most `timeout` seconds (`None`: until one comes). Raises
    /// `pyevents.Timeout` when none came in time; the plugin stays usable.
    ///
    /// Asking for the next event acknowledges the previous ones: after a crash, the engine
    /// delivers again only what was not acknowledged.
    #[pyo3(signature = (timeout = None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Event> {
        match self.next_event(py, timeout)? {
            Some(e) => Ok(e),
            None => Err(errors::timeout(
                py,
                format!(
                    "no event within {} s from {}",
                    timeout.unwrap_or_default(),
                    self.endpoint
                ),
            )),
        }
    }

    /// Up to `max` events (1 to 65536) in one round trip, waiting at most `timeout` seconds for
    /// the first (`None`: until one comes). Returns what is available at once, without waiting
    /// to fill the batch; an empty list when nothing came in time.
    #[pyo3(signature = (max = 1000, timeout = None))]
    fn next_batch<'py>(
        &self,
        py: Python<'py>,
        max: i64,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let timeout = timeout_from_secs(timeout).map_err(|e| invalid(py, e))?;
        let max = usize::try_from(max).unwrap_or(0);
        // Each event's bytes go from its ZeroMQ message into its Python `bytes` once.
        let events = self.call(py, |c| c.next_batch_owned(max, timeout))?;
        let objects = events
            .into_iter()
            .map(|e| Bound::new(py, Event::from_owned(py, e)))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, objects)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event, waiting as long as it takes. The iteration ends when the plugin has quit
    /// or `cancel()` was called.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        match self.run(py, |c| c.next_batch_owned(1, None)) {
            Ok(mut events) => Ok(events.pop().map(|e| Event::from_owned(py, e))),
            Err(Failure::Client(Error::Closed)) => Ok(None),
            Err(Failure::Client(Error::Interrupted)) if self.cancel.is_cancelled() => Ok(None),
            Err(e) => Err(e.into_py(py)),
        }
    }

    /// Publishes one event (bytes, its filter first). Waits while the bus is full
    /// (backpressure), at most `publish_timeout`.
    fn publish(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let event = event_bytes(data)?;
        self.call(py, |c| c.publish(event.as_ref()))
    }

    /// Publishes every event of `events` (an iterable of bytes), in order, in as few round
    /// trips as possible (at most 65536 events and the engine's request size each, the SDK
    /// core's rule); returns how many were published. If a round trip fails, the events of the earlier ones were published.
    fn publish_many(&self, py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<usize> {
        // Events are taken from the iterable as the batches fill (with the GIL, which the
        // client's call releases in between); the first that is not bytes-like stops it.
        let items = events.try_iter()?;
        let mut bad: Option<PyErr> = None;
        let outcome = {
            let events = items.map(|item| {
                item.and_then(|i| event_bytes(&i)).map_err(|e| {
                    bad = Some(e);
                    Error::InvalidArgument("an event is not bytes-like".into())
                })
            });
            self.publish_events(py, events)
        };
        match bad {
            Some(e) => Err(e),
            None => outcome,
        }
    }

    /// Tells the engine every event received so far is processed (receiving does it on its
    /// own; useful before a long pause), or with `seq` those up to and including `seq` only
    /// (1 to `last_seq`). Returns how many events the engine still holds unacknowledged for
    /// this plugin.
    #[pyo3(signature = (seq=None))]
    fn ack(&self, py: Python<'_>, seq: Option<i64>) -> PyResult<u64> {
        match seq {
            None => self.call(py, Client::ack),
            // Below 1: the client core's InvalidArgument.
            Some(seq) => self.call(py, |c| c.ack_through(u64::try_from(seq).unwrap_or(0))),
        }
    }

    /// Who this plugin is on the engine and what the engine supports (protocol `hello`).
    fn info(&self, py: Python<'_>) -> PyResult<Info> {
        Ok(self.call(py, Client::hello)?.into())
    }

    /// This plugin's counters on the engine.
    fn stats(&self, py: Python<'_>) -> PyResult<Stats> {
        Ok(self.call(py, Client::stats)?.into())
    }

    /// Tells the engine this plugin is done (which acknowledges every event received). The
    /// plugin cannot be used afterwards; calling `quit()` again does nothing.
    fn quit(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c| {
            // A cancelled plugin still says goodbye.
            c.cancel_token().reset();
            c.quit()
        })
    }

    /// Drops the connection without quitting: the engine keeps every event not yet
    /// acknowledged and delivers it again to the next connection (as after a crash). Waits for
    /// a call in progress in another thread to end (`cancel()` ends it).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let client = py
            .detach(|| self.lock().map(|mut guard| guard.take()))
            .map_err(|stop| match stop {
                Stop::Signal(e) => e,
                Stop::Finalizing => errors::to_py(py, Error::Interrupted),
            })?;
        self.closed.store(true, Ordering::SeqCst);
        drop(client);
        Ok(())
    }

    /// Interrupts this plugin's blocking calls in every thread, now and later, until
    /// `reset_cancel()`: they raise `pyevents.Interrupted` at once, and iteration ends.
    /// Safe to call from any thread (or a signal handler).
    fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Undoes `cancel()`.
    fn reset_cancel(&self) {
        self.cancel.reset();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Quits. An error while quitting is raised only when no other exception is on its way.
    #[pyo3(signature = (exc_type = None, exc_value = None, traceback = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let _ = (exc_value, traceback);
        match self.quit(py) {
            Err(e) if exc_type.is_none() => Err(e),
            _ => Ok(false),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Plugin(endpoint='{}', closed={})",
            self.endpoint,
            if self.closed() { "True" } else { "False" }
        )
    }
}
