//! What happened in a run: each plugin's outcome and counters, and the bus's counters.

use std::fmt;
use std::time::Duration;

use event_engine_protocol as wire;
use uuid::Uuid;

use crate::errors::{EngineError, PluginFailure};

/// Internal (a Rust thread) or external (a separate process served by an engine thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A [`crate::plugins::Plugin`].
    Internal,
    /// A [`crate::plugins::ExternalPlugin`].
    External,
}

/// How a plugin's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `start()` returned `Ok` (for an external plugin: its process sent `quit`).
    Finished,
    /// `start()` returned an error or panicked.
    Failed(PluginFailure),
    /// The engine stopped the plugin (a stop request, or another plugin's failure); the detail
    /// says how `start()` ended.
    Stopped(String),
    /// The plugin never started (set-up failed, or the app stopped before the start barrier).
    NotStarted,
}

/// One plugin in a [`RunReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReport {
    /// The plugin's name.
    pub name: String,
    /// The plugin's id.
    pub id: Uuid,
    /// Internal or external.
    pub kind: PluginKind,
    /// How its run ended.
    pub outcome: Outcome,
    /// An external plugin's protocol counters.
    pub stats: Option<wire::Stats>,
}

/// The result of a run: returned by [`crate::RunningApp::wait`] and
/// [`crate::App::run_with_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Every plugin, in registration order (internal plugins first).
    pub plugins: Vec<PluginReport>,
    /// Events the bus forwarded.
    pub events_forwarded: u64,
    /// Events not sent to TCP subscribers because they were behind
    /// ([`crate::TcpSubscribers::DropAndCount`]). Registered plugins never lose events.
    pub tcp_dropped: u64,
    /// Events still queued at shutdown for a socket that a plugin kept after its `start`
    /// returned (0 unless a plugin leaks its subscription socket).
    pub undeliverable: u64,
    /// Messages the bus refused: multi-part or empty ones, and events too large from the TCP
    /// publish port (each kind is also logged once).
    pub refused: u64,
    /// True when [`crate::StopHandle::stop`] ended the run.
    pub stop_requested: bool,
    /// From the start of `run` to the end of shutdown.
    pub duration: Duration,
}

impl RunReport {
    /// The plugins that failed.
    pub fn failures(&self) -> Vec<PluginFailure> {
        self.plugins
            .iter()
            .filter_map(|p| match &p.outcome {
                Outcome::Failed(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// `Ok` when no plugin failed, else [`EngineError::PluginsFailed`] naming each failure.
    pub fn result(&self) -> Result<(), EngineError> {
        let failures = self.failures();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(EngineError::PluginsFailed(failures))
        }
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} plugin(s), {} event(s) forwarded in {:.2?}{}",
            self.plugins.len(),
            self.events_forwarded,
            self.duration,
            if self.tcp_dropped > 0 {
                format!(", {} skipped for slow TCP subscribers", self.tcp_dropped)
            } else {
                String::new()
            }
        )?;
        for p in &self.plugins {
            let outcome = match &p.outcome {
                Outcome::Finished => "finished".to_string(),
                Outcome::Failed(failure) => format!("FAILED: {}", failure.details),
                Outcome::Stopped(_) => "stopped".to_string(),
                Outcome::NotStarted => "not started".to_string(),
            };
            write!(f, "  {:<24} {outcome}", p.name)?;
            if let Some(s) = &p.stats {
                write!(
                    f,
                    " [delivered {} redelivered {} published {} pending {} buffered {}]",
                    s.delivered, s.redelivered, s.published, s.pending, s.buffered
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
