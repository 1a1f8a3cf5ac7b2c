//! Engine settings: where the bus listens, queue limits, time-outs and failure policy.
//!
//! ```
//! use std::time::Duration;
//! use event_engine::{EngineConfig, TcpSubscribers};
//!
//! let config = EngineConfig {
//!     bind_address: "0.0.0.0".into(),
//!     high_water_mark: 10_000,
//!     wait_for_external: Some(Duration::from_secs(30)),
//!     tcp_subscribers: TcpSubscribers::Block,
//!     ..EngineConfig::new(5559, 5560)
//! };
//! assert!(config.validate().is_ok());
//! ```

use std::time::Duration;

use crate::errors::EngineError;

const MIB: usize = 1024 * 1024;

/// The environment variable that [`EngineConfig::new`] (and so `App::new`) takes the bind
/// address from when it is set, e.g. `EE_BIND_ADDRESS=0.0.0.0` in a container whose plugins
/// connect from other containers. An address given in code or in `app.toml` wins over it.
pub const BIND_ADDRESS_ENV: &str = "EE_BIND_ADDRESS";

/// The address every TCP socket binds to unless configured otherwise.
pub const DEFAULT_BIND_ADDRESS: &str = "127.0.0.1";

fn bind_address_from_env() -> Option<String> {
    std::env::var(BIND_ADDRESS_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// What the engine does when a subscriber on the TCP subscribe port (an unregistered process
/// reading the bus directly) cannot keep up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpSubscribers {
    /// Skip the event for the TCP subscribers and count it in `tcp_dropped` (default): a stuck
    /// tap never stalls the application. Registered plugins are never affected.
    #[default]
    DropAndCount,
    /// Block the bus until the TCP subscribers have room: lossless for them too.
    Block,
}

/// Settings of an application's engine. `EngineConfig::new(publish_port, subscribe_port)` gives
/// the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Address every TCP socket binds to: `EE_BIND_ADDRESS` when it is set, else `127.0.0.1`
    /// (`0.0.0.0` or `::` for all interfaces). A non-loopback address is logged as a warning at
    /// start-up.
    pub bind_address: String,
    /// TCP port of the incoming socket, where unregistered processes PUB events (0: any free port).
    pub publish_port: i32,
    /// TCP port of the outgoing socket, where unregistered processes SUB to events (0: any free port).
    pub subscribe_port: i32,
    /// High-water mark (in events) of every queue on the bus; a full queue makes its sender wait.
    pub high_water_mark: i32,
    /// How TCP subscribers are treated when they fall behind.
    pub tcp_subscribers: TcpSubscribers,
    /// Longest wait for every plugin's subscriptions to reach the bus before plugins start.
    pub setup_timeout: Duration,
    /// When set, plugins start only once a process has connected to every external plugin's port,
    /// waiting at most this long.
    pub wait_for_external: Option<Duration>,
    /// Most events an external plugin may hold delivered but unacknowledged.
    pub max_pending: usize,
    /// Most events held aside in memory: by each external plugin's engine thread for its
    /// process (events taken off the bus that the process has not asked for yet, e.g. while it is
    /// not connected; when full, the bus waits for that plugin, and the engine warns), by the
    /// same thread while it waits to publish, and by the forwarder for one plugin whose queue is
    /// full (its own buffer; see `docs/architecture.md`): when that buffer is full, the
    /// publishers of events for that plugin wait, and nobody else. Lower it when events are large.
    pub buffer_limit: usize,
    /// Most bytes held aside for one plugin: by the forwarder for a plugin whose queue is full,
    /// and by each external plugin's engine thread for its process (`buffered_bytes` in its
    /// stats). An empty buffer still takes one event of any size, so a buffer holds at most this
    /// plus one event.
    pub buffer_bytes: usize,
    /// Largest event, in bytes (all frames together), accepted from a network client: larger
    /// ones get an error reply (protocol v1/v2) or are dropped and counted (TCP publish port).
    pub max_event_bytes: usize,
    /// Most frames in one request of an external plugin (a v2 `publish` of N events has N + 1).
    pub max_frames: usize,
    /// Most bytes in one request of an external plugin (all frames together). A single frame
    /// larger than this cannot even be read: ZeroMQ closes that connection.
    pub max_request_bytes: usize,
    /// On the first plugin failure, stop every other plugin. Default false, as in event-engine
    /// 0.2: the others keep running, the failure is logged when it happens, and `run()` reports
    /// it once they are done (`docs/architecture.md` says why).
    pub stop_on_failure: bool,
    /// Once the engine stops (a stop request, or a failure with `stop_on_failure`), how long
    /// `run()` waits for plugins to return from `start()`. A plugin still running then (one that
    /// retries for ever on `ETERM`) is reported as failed and left running (default 2 s).
    pub stop_grace: Duration,
    /// Largest frame accepted from a TCP peer, in bytes; larger ones disconnect the peer
    /// (`ZMQ_MAXMSGSIZE`). Default (`None`): `max_request_bytes`.
    pub max_message_size: Option<i64>,
    /// The engine's CURVE key pair (`docs/security.md`): the server key of every external plugin
    /// port given a CURVE public key ([`ExternalPluginSpec::with_curve_public_key`]); its
    /// plugins connect with its public key. Default `None`. Needs the CURVE build
    /// ([`crate::auth::curve_available`]): without it, a start-up that asks for CURVE fails.
    ///
    /// [`ExternalPluginSpec::with_curve_public_key`]: crate::plugins::ExternalPluginSpec::with_curve_public_key
    pub curve_keys: Option<crate::auth::CurveKeys>,
    /// Refuse to start when an external plugin's port would listen beyond loopback without
    /// CURVE (default false: the engine only warns). With it and a non-loopback
    /// `bind_address`, the raw publish/subscribe ports (which have no authentication) bind on
    /// loopback (`127.0.0.1` or `::1`) instead, so nothing in clear leaves the host.
    pub require_encryption: bool,
}

impl EngineConfig {
    /// The defaults, with the two bus ports. The bind address is `EE_BIND_ADDRESS` when that is
    /// set, else `127.0.0.1`.
    pub fn new(publish_port: i32, subscribe_port: i32) -> Self {
        EngineConfig {
            bind_address: bind_address_from_env().unwrap_or_else(|| DEFAULT_BIND_ADDRESS.into()),
            publish_port,
            subscribe_port,
            high_water_mark: 1000,
            tcp_subscribers: TcpSubscribers::DropAndCount,
            setup_timeout: Duration::from_secs(10),
            wait_for_external: None,
            max_pending: 100_000,
            buffer_limit: 100_000,
            buffer_bytes: 64 * MIB,
            stop_on_failure: false,
            stop_grace: Duration::from_secs(2),
            max_event_bytes: 64 * MIB,
            max_frames: 65_537,
            max_request_bytes: 64 * MIB,
            max_message_size: None,
            curve_keys: None,
            require_encryption: false,
        }
    }

    /// The largest frame a TCP peer may send (`ZMQ_MAXMSGSIZE` of every TCP socket).
    pub(crate) fn frame_limit(&self) -> i64 {
        self.max_message_size.unwrap_or_else(|| {
            i64::try_from(self.max_request_bytes.max(self.max_event_bytes)).unwrap_or(i64::MAX)
        })
    }

    /// Where `bind_address` came from, for messages: the environment, the default, or the
    /// configuration (code or `app.toml`).
    pub fn bind_address_origin(&self) -> &'static str {
        match bind_address_from_env() {
            Some(env) if env == self.bind_address => "from EE_BIND_ADDRESS",
            None if self.bind_address == DEFAULT_BIND_ADDRESS => "the default",
            _ => "from the configuration",
        }
    }

    /// Checks every value; the error names the setting and the reason.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |msg: String| Err(EngineError::Config(msg));
        port(self.publish_port, "publish_port")?;
        port(self.subscribe_port, "subscribe_port")?;
        if self.publish_port != 0 && self.publish_port == self.subscribe_port {
            return bad(format!(
                "publish_port and subscribe_port are both {}",
                self.publish_port
            ));
        }
        if self.bind_address.parse::<std::net::IpAddr>().is_err() {
            return bad(format!(
                "bind_address '{}' ({}) is not an IP address (use 127.0.0.1, 0.0.0.0, ::1 or ::)",
                self.bind_address,
                self.bind_address_origin()
            ));
        }
        if self.high_water_mark < 1 {
            return bad(format!(
                "high_water_mark must be at least 1 (got {}); an unbounded queue would let memory grow without limit",
                self.high_water_mark
            ));
        }
        if self.max_pending < 1 || self.buffer_limit < 1 || self.buffer_bytes < 1 {
            return bad(
                "max_pending, buffer_limit and buffer_bytes must be at least 1".to_string(),
            );
        }
        if self.max_event_bytes < 1 || self.max_request_bytes < 1 {
            return bad("max_event_bytes and max_request_bytes must be at least 1".to_string());
        }
        if self.max_frames < 2 {
            return bad(format!(
                "max_frames must be at least 2 (a command and one event; got {})",
                self.max_frames
            ));
        }
        if self.setup_timeout.is_zero() {
            return bad("setup_timeout must be longer than zero".to_string());
        }
        if let Some(n) = self.max_message_size {
            if n < 1 {
                return bad(format!("max_message_size must be positive (got {n})"));
            }
        }
        Ok(())
    }
}

/// Checks a port number from the 0.2 `i32` API; 0 means "any free port".
pub(crate) fn port(value: i32, what: &str) -> Result<u16, EngineError> {
    u16::try_from(value)
        .map_err(|_| EngineError::Config(format!("{what} {value} is not a TCP port (0..=65535)")))
}

/// The settings of event-engine 0.2 (two ports); kept so 0.2 code that names it still compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppConfig {
    /// TCP port of the incoming (publish) socket.
    pub publish_port: i32,
    /// TCP port of the outgoing (subscribe) socket.
    pub subscribe_port: i32,
}

impl From<AppConfig> for EngineConfig {
    fn from(c: AppConfig) -> Self {
        EngineConfig::new(c.publish_port, c.subscribe_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_local() {
        let c = EngineConfig::new(0, 0);
        assert!(c.validate().is_ok());
        if std::env::var_os(BIND_ADDRESS_ENV).is_none() {
            assert_eq!(c.bind_address, "127.0.0.1");
            assert_eq!(c.bind_address_origin(), "the default");
        }
        assert!(!c.stop_on_failure);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let msg = |c: EngineConfig| c.validate().unwrap_err().to_string();
        assert!(msg(EngineConfig::new(70000, 0)).contains("publish_port 70000"));
        assert!(msg(EngineConfig::new(0, -1)).contains("subscribe_port -1"));
        assert!(msg(EngineConfig::new(5000, 5000)).contains("both 5000"));
        let c = EngineConfig {
            bind_address: "everywhere".into(),
            ..EngineConfig::new(0, 0)
        };
        assert!(msg(c).contains("bind_address 'everywhere'"));
        let c = EngineConfig {
            high_water_mark: 0,
            ..EngineConfig::new(0, 0)
        };
        assert!(msg(c).contains("high_water_mark"));
    }
}
