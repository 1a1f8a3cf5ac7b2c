//! Test helpers shared by the workspace's integration tests (a dev-dependency only).
//!
//! * [`nats`]: `nats-server` processes on free ports (single servers with JetStream and the MQTT
//!   gateway, three-node clusters), ready when their log says so, killed and restarted on demand.
//! * [`netns`]: test hosts in network namespaces joined by a veth pair, for tests of plugins and
//!   engines on different hosts; "cable pulls" (link down, link up).
//! * [`wait_until`]: a poll with a deadline, instead of sleeps.
//!
//! ```no_run
//! use event_engine_testkit::netns::HostPair;
//!
//! let Some(pair) = HostPair::new_or_skip("example") else { return };
//! // pair.a and pair.b are two hosts; run a program on one of them:
//! let out = pair.command(&pair.b, "ping").args(["-c", "1", &pair.a.addr.to_string()]).output();
//! # drop(out);
//! ```

pub mod nats;
pub mod netns;

use std::time::{Duration, Instant};

/// Polls `cond` every few milliseconds until it is true or `timeout` passes; true if it became
/// true.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A port that was free a moment ago on 127.0.0.1 (bound to port 0, read back, released). For
/// programs that cannot bind port 0 themselves (nats-server's cluster and MQTT listeners); the
/// caller retries when another process took it meanwhile.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}
