//! The bridge's live state and counters, shared by its threads and read by `stats`.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use event_engine::plugins::PluginStats;

/// The bridge's connection to NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet.
    Idle,
    /// Connecting for the first time.
    Connecting,
    /// Connected (and, with JetStream, the stream and consumers are ready).
    Connected,
    /// Lost the connection; reconnecting by itself.
    Reconnecting,
    /// Connected, but setting up the stream or consumers failed; retrying.
    SetupFailed,
    /// Stopping: publishing what it holds.
    Draining,
    /// Stopped.
    Stopped,
}

impl State {
    fn from_u8(v: u8) -> State {
        match v {
            1 => State::Connecting,
            2 => State::Connected,
            3 => State::Reconnecting,
            4 => State::SetupFailed,
            5 => State::Draining,
            6 => State::Stopped,
            _ => State::Idle,
        }
    }

    /// The state as shown by `stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Reconnecting => "reconnecting",
            State::SetupFailed => "setup-failed",
            State::Draining => "draining",
            State::Stopped => "stopped",
        }
    }
}

/// A snapshot of a bridge's counters ([`crate::BridgeHandle::stats`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BridgeStats {
    /// The connection's state.
    pub state: String,
    /// The last error met (connection, stream set-up, publish), if any.
    pub last_error: Option<String>,
    /// Exported events taken from the bus and not yet confirmed by NATS.
    pub export_backlog: u64,
    /// Events exported (core NATS: handed to the connection; JetStream: acknowledged by the
    /// stream).
    pub exported: u64,
    /// Exported events the stream said it already had (a retried publish; not stored twice).
    pub export_duplicates: u64,
    /// Publishes tried again (no acknowledgement in time, connection lost).
    pub export_retries: u64,
    /// Events dropped because the buffer was full ([`crate::WhenFull::DropAndCount`]).
    pub export_dropped: u64,
    /// Events still held when a stopping bridge's drain time ran out.
    pub export_unsent: u64,
    /// Events dropped because they were larger, with their header, than the server takes (its
    /// `max_payload`, 1 MB by default); `last_error` says by how much.
    pub export_too_large: u64,
    /// Events whose filter matched no export (0 unless the subscriptions and exports differ).
    pub export_unrouted: u64,
    /// Events imported from NATS and published on the bus.
    pub imported: u64,
    /// Imported events that came back to the bridge from the bus and were not exported again.
    pub echoes_suppressed: u64,
    /// Messages skipped because this bridge had published them (its own origin).
    pub import_own: u64,
    /// Messages skipped because they had already been imported (the same origin and sequence).
    pub import_duplicates: u64,
    /// Messages another engine's bridge published that never arrived (gaps in its sequence).
    pub import_lost: u64,
    /// Times the NATS client dropped messages for the bridge because the bus was behind (core
    /// NATS has no flow control).
    pub import_slow_consumer: u64,
    /// Times the connection was re-established.
    pub reconnects: u64,
    /// Imports whose subscription (core NATS) or durable consumer (JetStream) is in place.
    pub imports_ready: u64,
}

impl BridgeStats {
    /// As the engine's [`PluginStats`] (what `RunningApp::plugin_stats` and `event-engine stats`
    /// show).
    pub fn to_plugin_stats(&self) -> PluginStats {
        let mut state = self.state.clone();
        if let Some(e) = &self.last_error {
            if self.state != "connected" {
                state = format!("{state} ({e})");
            }
        }
        PluginStats::new(state)
            .counter("export_backlog", self.export_backlog)
            .counter("exported", self.exported)
            .counter("export_duplicates", self.export_duplicates)
            .counter("export_retries", self.export_retries)
            .counter("export_dropped", self.export_dropped)
            .counter("export_unsent", self.export_unsent)
            .counter("export_too_large", self.export_too_large)
            .counter("export_unrouted", self.export_unrouted)
            .counter("imported", self.imported)
            .counter("echoes_suppressed", self.echoes_suppressed)
            .counter("import_own", self.import_own)
            .counter("import_duplicates", self.import_duplicates)
            .counter("import_lost", self.import_lost)
            .counter("import_slow_consumer", self.import_slow_consumer)
            .counter("reconnects", self.reconnects)
            .counter("imports_ready", self.imports_ready)
    }
}

/// The counters, shared.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    state: AtomicU8,
    last_error: Mutex<Option<String>>,
    pub export_backlog: AtomicU64,
    pub exported: AtomicU64,
    pub export_duplicates: AtomicU64,
    pub export_retries: AtomicU64,
    pub export_dropped: AtomicU64,
    pub export_unsent: AtomicU64,
    pub export_too_large: AtomicU64,
    pub export_unrouted: AtomicU64,
    pub imported: AtomicU64,
    pub echoes_suppressed: AtomicU64,
    pub import_own: AtomicU64,
    pub import_duplicates: AtomicU64,
    pub import_lost: AtomicU64,
    pub import_slow_consumer: AtomicU64,
    pub reconnects: AtomicU64,
    pub imports_ready: AtomicU64,
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::SeqCst);
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::SeqCst))
    }

    pub fn set_error(&self, e: impl Into<String>) {
        let e = e.into();
        log::warn!("{e}");
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e);
        }
    }

    pub fn snapshot(&self) -> BridgeStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BridgeStats {
            state: self.state().as_str().to_string(),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            export_backlog: g(&self.export_backlog),
            exported: g(&self.exported),
            export_duplicates: g(&self.export_duplicates),
            export_retries: g(&self.export_retries),
            export_dropped: g(&self.export_dropped),
            export_unsent: g(&self.export_unsent),
            export_too_large: g(&self.export_too_large),
            export_unrouted: g(&self.export_unrouted),
            imported: g(&self.imported),
            echoes_suppressed: g(&self.echoes_suppressed),
            import_own: g(&self.import_own),
            import_duplicates: g(&self.import_duplicates),
            import_lost: g(&self.import_lost),
            import_slow_consumer: g(&self.import_slow_consumer),
            reconnects: g(&self.reconnects),
            imports_ready: g(&self.imports_ready),
        }
    }
}
