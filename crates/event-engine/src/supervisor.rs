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
//! 5. collect outcomes; on the first failure (with `stop_on_failure`) or a stop request, shut the
//!    context down, which makes every blocking socket call return `ETERM`, and give the plugins
//!    `stop_grace` to return: a plugin that retries for ever on errors is named, reported as
//!    failed ([`FailureKind::DidNotReturn`]) and left behind, not waited for;
//! 6. when all plugins are done (or left behind), drain and stop the forwarder, close
//!    everything, terminate the context: the ports are free when `run` returns.

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

/// What the supervisor hears from plugin threads and from [`StopState::stop`].
pub(crate) enum Note {
    /// Plugin `index` is done.
    Done(usize, RawOutcome),
    /// The engine is stopping: the grace period starts.
    Stopping,
}

/// Shared stop state: a stop request or a plugin failure shuts the context down.
pub(crate) struct StopState {
    pub ctx: Arc<EngineContext>,
    pub gate: Arc<Gate>,
    pub requested: AtomicBool,
    pub stopping: AtomicBool,
    /// The run's [`Phase`], as a number (see `Phase::from_number`).
    pub phase: AtomicU8,
    /// Wakes the supervisor when the stop begins.
    pub notes: mpsc::Sender<Note>,
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
        let _ = self.notes.send(Note::Stopping);
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
        done: mpsc::Sender<Note>,
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
                let _ = done.send(Note::Done(index, outcome));
            })
    }
}

/// An external plugin's port, as `wait_for_external` names it.
pub(crate) struct PortName {
    pub name: String,
    pub port: u16,
}

pub(crate) struct Supervisor {
    pub stop: Arc<StopState>,
    pub control: zmq::Socket,
    pub synced: mpsc::Receiver<Vec<u8>>,
    /// Sync topic -> plugin name, for the barrier's error message.
    pub sync_names: HashMap<Vec<u8>, String>,
    pub notes: mpsc::Receiver<Note>,
    pub threads: Vec<JoinHandle<()>>,
    pub forwarder: Option<JoinHandle<Result<(), zmq::Error>>>,
    /// The external plugins' ports, in the order of the port monitor's indices.
    pub ports: Vec<PortName>,
    /// The port monitor's index of each port that accepted a connection.
    pub accepted: mpsc::Receiver<usize>,
    pub setup_timeout: Duration,
    pub wait_for_external: Option<Duration>,
    pub stop_on_failure: bool,
    pub stop_grace: Duration,
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
        let (outcomes, returned) = self.collect();
        for (i, t) in self.threads.drain(..).enumerate() {
            // A thread that did not return is left running, not joined (it may never end).
            if returned.get(i).copied().unwrap_or(false) && t.join().is_err() {
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
        let Supervisor { control, stop, .. } = self;
        drop(control);
        // Plugins left running keep their sockets open: do not wait for them (the context
        // finishes terminating in the background when they close).
        let left_behind = returned.iter().any(|r| !r);
        let limit = if left_behind {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(2)
        };
        if !stop.ctx.terminate(limit) && !left_behind {
            warn!(
                "a socket of this application is still open {limit:?} after every plugin finished \
                 (a plugin kept its socket?); the context will close when it does"
            );
        }
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
        let mut connected = vec![false; self.ports.len()];
        info!(
            "waiting up to {timeout:?} for {} external plugin process(es) to connect",
            self.ports.len()
        );
        while connected.iter().any(|c| !c) {
            if self.stop.stopping.load(Ordering::SeqCst) {
                return Setup::Stopped;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // Wakes at least every 100 ms to notice a stop request.
            match self
                .accepted
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(i) => {
                    if let Some(c) = connected.get_mut(i) {
                        *c = true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                    let missing = self
                        .ports
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
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return if self.stop.stopping.load(Ordering::SeqCst) {
                        Setup::Stopped
                    } else {
                        Setup::Failed(EngineError::Internal(
                            "the port monitor ended while waiting for external plugins".into(),
                        ))
                    };
                }
            }
        }
        Setup::Ready
    }

    /// Each plugin's outcome, and whether its thread returned. Once the engine is stopping, waits
    /// at most `stop_grace` for the plugins still running; those are reported as failed
    /// ([`FailureKind::DidNotReturn`]) and left behind.
    fn collect(&mut self) -> (Vec<Outcome>, Vec<bool>) {
        let n = self.plugins.len();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
        let mut left = n;
        let mut deadline: Option<Instant> = None;
        while left > 0 {
            if deadline.is_none() && self.stop.stopping.load(Ordering::SeqCst) {
                deadline = Some(Instant::now() + self.stop_grace);
            }
            let note = match deadline {
                None => match self.notes.recv() {
                    Ok(n) => n,
                    Err(_) => break,
                },
                Some(d) => match self
                    .notes
                    .recv_timeout(d.saturating_duration_since(Instant::now()))
                {
                    Ok(n) => n,
                    Err(_) => break,
                },
            };
            let Note::Done(index, raw) = note else {
                continue;
            };
            let Some(meta) = self.plugins.get(index) else {
                continue;
            };
            if outcomes[index].is_some() {
                continue;
            }
            left -= 1;
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
        let returned: Vec<bool> = outcomes.iter().map(Option::is_some).collect();
        let stuck: Vec<&str> = self
            .plugins
            .iter()
            .zip(&returned)
            .filter(|(_, r)| !**r)
            .map(|(m, _)| m.name.as_str())
            .collect();
        if !stuck.is_empty() {
            error!(
                "{} plugin(s) did not return within {:?} of the engine's stop (does start() retry \
                 for ever on errors? ETERM means the engine stopped): {}; left running, not waited for",
                stuck.len(),
                self.stop_grace,
                stuck.join(", ")
            );
        }
        let grace = self.stop_grace;
        let outcomes = outcomes
            .into_iter()
            .zip(&self.plugins)
            .map(|(o, meta)| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(PluginFailure {
                        name: meta.name.clone(),
                        id: meta.id.to_string(),
                        kind: FailureKind::DidNotReturn,
                        details: format!(
                            "start() did not return within {grace:?} after the engine stopped; \
                             its thread was left running"
                        ),
                    })
                })
            })
            .collect();
        (outcomes, returned)
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
            refused: self.bus.refused.load(Ordering::Relaxed),
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
