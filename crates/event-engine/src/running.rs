//! A started application: its endpoints, live counters, and the handles that stop it and wait
//! for it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use event_engine_protocol as wire;
use uuid::Uuid;

use crate::bus::BusCounters;
use crate::errors::EngineError;
use crate::external::Counters;
use crate::plugins::{Plugin, PluginStats};
use crate::report::RunReport;
use crate::supervisor::{panic_message, StopState};

/// Where an external plugin is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEndpoint {
    /// The plugin's name.
    pub name: String,
    /// The plugin's id.
    pub id: Uuid,
    /// The TCP port its process connects to (the real one when the plugin asked for port 0).
    pub port: u16,
    /// The endpoint a process on this host connects to, e.g. `tcp://127.0.0.1:6000` (for a
    /// wildcard bind address, `0.0.0.0` or `::`, the loopback address: `tcp://127.0.0.1:6000`,
    /// `tcp://[::1]:6000`). This is what `event-engine run` gives its plugins as
    /// `EE_PLUGIN_ENDPOINT`.
    pub endpoint: String,
}

/// Live counters of a running application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStats {
    /// Events the bus has forwarded so far.
    pub events_forwarded: u64,
    /// Events skipped for slow TCP subscribers so far.
    pub tcp_dropped: u64,
    /// Messages the bus refused so far: multi-part or empty ones, and events too large from the
    /// TCP publish port (`docs/protocol.md`).
    pub refused: u64,
    /// Events waiting in the forwarder's per-plugin buffers right now.
    pub buffered: u64,
    /// Protocol counters of every external plugin.
    pub external_plugins: Vec<wire::Stats>,
}

/// Stops a running application from any thread (a signal handler's thread, a plugin, a test).
///
/// Every blocking socket call of the application's plugins returns `ETERM`; plugins that end
/// that way are reported as stopped, not failed.
#[derive(Clone)]
pub struct StopHandle {
    pub(crate) state: Arc<StopState>,
}

impl StopHandle {
    /// Asks the application to stop. Idempotent; returns at once.
    pub fn stop(&self) {
        self.state.stop(true);
    }

    /// True once a stop was requested.
    pub fn is_stop_requested(&self) -> bool {
        self.state.requested.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stop_requested", &self.is_stop_requested())
            .finish()
    }
}

/// Where a run is (see [`RunningApp::phase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// The start barrier: every plugin's subscriptions are being put in place; no plugin runs.
    Starting = 0,
    /// The barrier has passed; waiting for a process to connect to every external plugin's port
    /// (`wait_for_external_plugins`); no plugin runs.
    WaitingForExternal = 1,
    /// The plugins run.
    Running = 2,
    /// Stopping: a stop was requested, a plugin failed, or the set-up failed.
    Stopping = 3,
}

impl Phase {
    fn from_number(n: u8) -> Phase {
        match n {
            0 => Phase::Starting,
            1 => Phase::WaitingForExternal,
            2 => Phase::Running,
            _ => Phase::Stopping,
        }
    }
}

/// An application whose sockets are bound and whose plugins are starting or running; made by
/// [`crate::App::start`].
///
/// Dropping it without [`RunningApp::wait`] stops the application and waits for it.
pub struct RunningApp {
    pub(crate) publish: (String, u16),
    pub(crate) subscribe: (String, u16),
    pub(crate) externals: Vec<ExternalEndpoint>,
    pub(crate) stop: StopHandle,
    pub(crate) supervisor: Option<JoinHandle<Result<RunReport, EngineError>>>,
    pub(crate) bus: Arc<BusCounters>,
    pub(crate) counters: Vec<(String, Arc<Counters>)>,
    /// The internal plugins, for [`RunningApp::plugin_stats`].
    pub(crate) internal: Vec<(String, Arc<Box<dyn Plugin>>)>,
}

impl RunningApp {
    /// Where the run is: at the start barrier, waiting for external plugins' processes, running,
    /// or stopping.
    pub fn phase(&self) -> Phase {
        Phase::from_number(self.stop.state.phase.load(Ordering::SeqCst))
    }

    /// The TCP endpoint of the publish (incoming) socket, as a client on this host connects to it
    /// (a wildcard bind address is given as the loopback address).
    pub fn publish_endpoint(&self) -> &str {
        &self.publish.0
    }

    /// The TCP port of the publish (incoming) socket.
    pub fn publish_port(&self) -> u16 {
        self.publish.1
    }

    /// The TCP endpoint of the subscribe (outgoing) socket, as a client on this host connects to
    /// it (a wildcard bind address is given as the loopback address).
    pub fn subscribe_endpoint(&self) -> &str {
        &self.subscribe.0
    }

    /// The TCP port of the subscribe (outgoing) socket.
    pub fn subscribe_port(&self) -> u16 {
        self.subscribe.1
    }

    /// Every external plugin with its bound port, in registration order.
    pub fn external_plugins(&self) -> &[ExternalEndpoint] {
        &self.externals
    }

    /// The bound port of the (first) external plugin called `name`.
    pub fn external_port(&self, name: &str) -> Option<u16> {
        self.externals
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.port)
    }

    /// A handle that stops the application from anywhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the application (see [`StopHandle::stop`]); call [`RunningApp::wait`] for the report.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// The counters right now.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            events_forwarded: self.bus.forwarded.load(Ordering::Relaxed),
            tcp_dropped: self.bus.tcp_dropped.load(Ordering::Relaxed),
            refused: self.bus.refused.load(Ordering::Relaxed),
            buffered: self.bus.buffered.load(Ordering::Relaxed),
            external_plugins: self
                .counters
                .iter()
                .map(|(name, c)| c.snapshot(name))
                .collect(),
        }
    }

    /// The live counters of every internal plugin that keeps some ([`Plugin::stats`]), by name,
    /// in registration order. A plugin whose `stats` panics is left out.
    pub fn plugin_stats(&self) -> Vec<(String, PluginStats)> {
        self.internal
            .iter()
            .filter_map(|(name, p)| {
                let stats = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.stats()));
                match stats {
                    Ok(Some(s)) => Some((name.clone(), s)),
                    _ => None,
                }
            })
            .collect()
    }

    /// Waits until every plugin is done and the engine has shut down (its ports are free).
    ///
    /// `Ok` carries the report even when plugins failed (see [`RunReport::result`]); `Err` means the
    /// engine itself could not run (start barrier, `wait_for_external`, an internal error).
    pub fn wait(mut self) -> Result<RunReport, EngineError> {
        self.join()
    }

    fn join(&mut self) -> Result<RunReport, EngineError> {
        match self.supervisor.take() {
            Some(h) => h.join().unwrap_or_else(|p| {
                Err(EngineError::Internal(format!(
                    "the supervisor panicked: {}",
                    panic_message(p)
                )))
            }),
            None => Err(EngineError::Internal("already waited for".into())),
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            self.stop.stop();
            let _ = self.join();
        }
    }
}
