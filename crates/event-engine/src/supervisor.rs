//! Plugin threads and the supervisor that runs an application from the start barrier to the end
//! of shutdown.
//!
//! Order of a run:
//! 1. every plugin's sockets are made and subscribed, each with a unique *sync topic* last
//!    (`App::start`, before any thread runs);
//! 2. the forwarder reports each sync topic as it reaches the bus's XPUB: a plugin's earlier
//!    subscriptions travelled the same pipe, so once all sync topics are in, every subscription is
//!    in place (the start barrier; `setup_timeout` bounds it);
//! 3. optionally, wait until a process has connected to every external plugin's port;
//! 4. open the gate: every plugin's `start` runs;
//! 5. collect outcomes; on the first failure (with `stop_on_failure`) shut the context down, which
//!    makes every blocking socket call return `ETERM`;
//! 6. when all plugins are done, drain and stop the forwarder, close everything, terminate the
//!    context: the ports are free when `run` returns.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use uuid::Uuid;

use crate::bus::{BusCounters, STOP};
use crate::errors::{EngineError, FailureKind, PluginFailure};
use crate::external::{self, Counters, Served};
use crate::gate::Gate;
use crate::plugins::Plugin;
use crate::report::{Outcome, PluginKind, PluginReport, RunReport};
use crate::running::Phase;
use crate::zmqx::EngineContext;

/// How a plugin thread ended, before classification.
pub(crate) enum RawOutcome {
    Ok,
    Err(EngineError),
    Panic(String),
    NotStarted,
}

pub(crate) type Done = (usize, RawOutcome);

/// Shared stop state: a stop request or a plugin failure shuts the context down.
pub(crate) struct StopState {
    pub ctx: Arc<EngineContext>,
    pub gate: Arc<Gate>,
    pub requested: AtomicBool,
    pub stopping: AtomicBool,
    /// The run's [`Phase`], as a number (see `Phase::from_number`).
    pub phase: AtomicU8,
}

impl StopState {
    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    pub(crate) fn stop(&self, requested: bool) {
        if requested {
            self.requested.store(true, Ordering::SeqCst);
        }
        self.set_phase(Phase::Stopping);
        if !self.stopping.swap(true, Ordering::SeqCst) {
            info!(
                "engine stopping ({})",
                if requested {
                    "stop requested"
                } else {
                    "a plugin failed"
                }
            );
        }
        self.gate.abort();
        self.ctx.shutdown();
    }
}

/// Who a plugin is, for reports.
pub(crate) struct PluginMeta {
    pub name: String,
    pub id: Uuid,
    pub kind: PluginKind,
    pub counters: Option<Arc<Counters>>,
}

pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f`, turning an `Err` or a panic into a [`RawOutcome`].
fn guarded(f: impl FnOnce() -> Result<(), EngineError>) -> RawOutcome {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => RawOutcome::Ok,
        Ok(Err(e)) => RawOutcome::Err(e),
        Err(p) => RawOutcome::Panic(panic_message(p)),
    }
}

/// Calls a plugin method that may panic (user code), naming the plugin in the error.
pub(crate) fn call_plugin<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, EngineError>,
) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what} returned an error: {e}")),
        Err(p) => Err(format!("{what} panicked: {}", panic_message(p))),
    }
}

/// What a plugin's thread runs once the gate opens.
pub(crate) enum Body {
    /// An internal plugin: `start(push, sub)`.
    Internal(Arc<Box<dyn Plugin>>),
    /// An external plugin: the protocol server on `router`, for the plugin described in
    /// `served` (read from it once by `App::start`).
    External { router: zmq::Socket, served: Served },
}

/// A plugin's thread, ready to spawn: its sockets are made and subscribed.
pub(crate) struct PluginThread {
    pub index: usize,
    pub name: String,
    pub push: zmq::Socket,
    pub sub: zmq::Socket,
    pub sync_topic: Vec<u8>,
    pub body: Body,
}

impl PluginThread {
    /// Spawns the thread: wait at the gate, drop the sync topic, run the plugin, report.
    pub(crate) fn spawn(
        self,
        gate: Arc<Gate>,
        done: mpsc::Sender<Done>,
    ) -> std::io::Result<JoinHandle<()>> {
        let PluginThread {
            index,
            name,
            push,
            sub,
            sync_topic,
            body,
        } = self;
        std::thread::Builder::new()
            .name(name.replace('\0', "?"))
            .spawn(move || {
                let outcome = if gate.wait() {
                    if let Err(e) = sub.set_unsubscribe(&sync_topic) {
                        debug!("could not drop the sync topic: {e}");
                    }
                    match body {
                        Body::Internal(plugin) => guarded(|| plugin.start(push, sub)),
                        Body::External { router, served } => {
                            guarded(|| external::serve(served, push, sub, router))
                        }
                    }
                } else {
                    RawOutcome::NotStarted
                };
                let _ = done.send((index, outcome));
            })
    }
}

/// A monitor of an external plugin's port, used by `wait_for_external`.
pub(crate) struct PortMonitor {
    pub name: String,
    pub port: u16,
    pub socket: zmq::Socket,
}

pub(crate) struct Supervisor {
    pub stop: Arc<StopState>,
    pub control: zmq::Socket,
    pub synced: mpsc::Receiver<Vec<u8>>,
    /// Sync topic -> plugin name, for the barrier's error message.
    pub sync_names: HashMap<Vec<u8>, String>,
    pub done: mpsc::Receiver<Done>,
    pub threads: Vec<JoinHandle<()>>,
    pub forwarder: Option<JoinHandle<Result<(), zmq::Error>>>,
    pub monitors: Vec<PortMonitor>,
    pub setup_timeout: Duration,
    pub wait_for_external: Option<Duration>,
    pub stop_on_failure: bool,
    pub plugins: Vec<PluginMeta>,
    pub bus: Arc<BusCounters>,
    pub started: Instant,
}

enum Setup {
    Ready,
    Stopped,
    Failed(EngineError),
}

impl Supervisor {
    pub(crate) fn run(mut self) -> Result<RunReport, EngineError> {
        let setup = match self.barrier() {
            Setup::Ready => self.wait_for_external(),
            other => other,
        };
        match &setup {
            Setup::Ready => {
                info!(
                    "all {} plugin(s) subscribed; starting them",
                    self.plugins.len()
                );
                self.stop.set_phase(Phase::Running);
                self.stop.gate.open();
            }
            Setup::Stopped => self.stop.stop(true),
            Setup::Failed(e) => {
                error!("engine set-up failed: {e}");
                self.stop.stop(false);
            }
        }
        let outcomes = self.collect();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                error!("a plugin thread ended abnormally");
            }
        }
        // Everything published is forwarded before the bus stops.
        let _ = self.control.send(STOP, 0);
        let joined = match self.forwarder.take() {
            Some(f) => f.join(),
            None => Ok(Ok(())),
        };
        let forwarder = match joined {
            Ok(Ok(())) => Ok(()),
            Ok(Err(zmq::Error::ETERM)) => Ok(()),
            Ok(Err(e)) => Err(EngineError::Internal(format!("the forwarder failed: {e}"))),
            Err(p) => Err(EngineError::Internal(format!(
                "the forwarder panicked: {}",
                panic_message(p)
            ))),
        };
        let report = self.report(outcomes);
        let Supervisor {
            control,
            monitors,
            stop,
            ..
        } = self;
        drop(control);
        drop(monitors);
        stop.ctx.terminate(Duration::from_secs(2));
        debug!("engine shut down");
        if let Setup::Failed(e) = setup {
            return Err(e);
        }
        forwarder?;
        Ok(report)
    }

    fn barrier(&mut self) -> Setup {
        let deadline = Instant::now() + self.setup_timeout;
        let mut waiting = self.sync_names.clone();
        while !waiting.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.synced.recv_timeout(left) {
                Ok(topic) => {
                    waiting.remove(&topic);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let mut names: Vec<String> = waiting.into_values().collect();
                    names.sort();
                    return Setup::Failed(EngineError::BarrierTimeout {
                        timeout: self.setup_timeout,
                        waiting_for: names,
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return if self.stop.requested.load(Ordering::SeqCst) {
                        Setup::Stopped
                    } else {
                        Setup::Failed(EngineError::Internal(
                            "the forwarder ended during the start barrier".into(),
                        ))
                    };
                }
            }
        }
        Setup::Ready
    }

    fn wait_for_external(&mut self) -> Setup {
        let Some(timeout) = self.wait_for_external else {
            return Setup::Ready;
        };
        self.stop.set_phase(Phase::WaitingForExternal);
        let deadline = Instant::now() + timeout;
        let mut connected = vec![false; self.monitors.len()];
        info!(
            "waiting up to {timeout:?} for {} external plugin process(es) to connect",
            self.monitors.len()
        );
        while connected.iter().any(|c| !c) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let missing = self
                    .monitors
                    .iter()
                    .zip(&connected)
                    .filter(|(_, c)| !**c)
                    .map(|(m, _)| format!("{} (port {})", m.name, m.port))
                    .collect();
                return Setup::Failed(EngineError::ExternalPluginsNotConnected {
                    timeout,
                    missing,
                });
            }
            let mut items: Vec<_> = self
                .monitors
                .iter()
                .map(|m| m.socket.as_poll_item(zmq::POLLIN))
                .collect();
            let ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1);
            if let Err(e) = zmq::poll(&mut items, ms) {
                return if e == zmq::Error::ETERM {
                    Setup::Stopped
                } else {
                    Setup::Failed(EngineError::Internal(format!("monitor poll failed: {e}")))
                };
            }
            let ready: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| it.is_readable())
                .map(|(i, _)| i)
                .collect();
            drop(items);
            for i in ready {
                // Each event is two frames; any event here is an accepted connection.
                if let Ok(frames) = self.monitors[i].socket.recv_multipart(zmq::DONTWAIT) {
                    debug!(
                        "external plugin {}: a process connected ({} bytes of event)",
                        self.monitors[i].name,
                        frames.first().map_or(0, Vec::len)
                    );
                    connected[i] = true;
                }
            }
        }
        Setup::Ready
    }

    fn collect(&mut self) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; self.plugins.len()];
        for _ in 0..self.plugins.len() {
            let Ok((index, raw)) = self.done.recv() else {
                break;
            };
            let Some(meta) = self.plugins.get(index) else {
                continue;
            };
            let stopping = self.stop.stopping.load(Ordering::SeqCst);
            let outcome = classify(meta, raw, stopping);
            match &outcome {
                Outcome::Failed(f) => {
                    error!("{f}");
                    if self.stop_on_failure {
                        self.stop.stop(false);
                    }
                }
                Outcome::Finished => debug!("plugin {} finished", meta.name),
                Outcome::Stopped(why) => debug!("plugin {} stopped: {why}", meta.name),
                Outcome::NotStarted => debug!("plugin {} did not start", meta.name),
            }
            outcomes[index] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::NotStarted))
            .collect()
    }

    fn report(&self, outcomes: Vec<Outcome>) -> RunReport {
        let plugins = self
            .plugins
            .iter()
            .zip(outcomes)
            .map(|(meta, outcome)| PluginReport {
                name: meta.name.clone(),
                id: meta.id,
                kind: meta.kind,
                outcome,
                stats: meta.counters.as_ref().map(|c| c.snapshot(&meta.name)),
            })
            .collect();
        let report = RunReport {
            plugins,
            events_forwarded: self.bus.forwarded.load(Ordering::Relaxed),
            tcp_dropped: self.bus.tcp_dropped.load(Ordering::Relaxed),
            undeliverable: self.bus.undeliverable.load(Ordering::Relaxed),
            stop_requested: self.stop.requested.load(Ordering::SeqCst),
            duration: self.started.elapsed(),
        };
        if report.undeliverable > 0 {
            warn!(
                "{} event(s) queued at shutdown for a socket that a plugin kept after its \
                 start() returned were not delivered",
                report.undeliverable
            );
        }
        if report.tcp_dropped > 0 {
            warn!(
                "{} event(s) were not sent to slow TCP subscribers",
                report.tcp_dropped
            );
        }
        report
    }
}

/// A panic that only says the context was shut down (`recv(..).unwrap()` after a stop).
fn is_stop_panic(details: &str) -> bool {
    details.contains("ETERM") || details.contains("Context was terminated")
}

fn classify(meta: &PluginMeta, raw: RawOutcome, stopping: bool) -> Outcome {
    let failure = |kind: FailureKind, details: String, is_stop: bool| {
        if stopping && is_stop {
            Outcome::Stopped(details)
        } else {
            Outcome::Failed(PluginFailure {
                name: meta.name.clone(),
                id: meta.id.to_string(),
                kind,
                details,
            })
        }
    };
    match raw {
        RawOutcome::Ok => Outcome::Finished,
        RawOutcome::Err(e) => failure(FailureKind::Error, e.to_string(), e.is_stop()),
        RawOutcome::Panic(p) => {
            let stop = is_stop_panic(&p);
            failure(FailureKind::Panic, p, stop)
        }
        RawOutcome::NotStarted => Outcome::NotStarted,
    }
}
