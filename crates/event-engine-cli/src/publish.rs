//! `event-engine pub`: publish events onto a running engine's publish port.

use std::time::{Duration, Instant};

use event_engine::zmq;

use crate::target::{bytes_arg, Target, Want};

type Error = Box<dyn std::error::Error>;

/// Publishes `prefix + payload` `repeat` times. The socket is an XPUB connected to the engine's
/// SUB: it learns when the engine's subscription has arrived, so the first event is never lost to
/// ZeroMQ's slow-joiner effect.
pub fn publish(
    target: &Target,
    prefix: &str,
    payload: &str,
    hex_payload: bool,
    repeat: u64,
    wait: Duration,
) -> Result<(), Error> {
    let endpoint = target.bus(Want::Publish)?;
    let mut event = bytes_arg(prefix)?;
    if hex_payload {
        event.extend(
            event_engine::wire::from_hex(payload)
                .ok_or_else(|| format!("'{payload}' is not hex (two digits per byte)"))?,
        );
    } else {
        event.extend_from_slice(payload.as_bytes());
    }
    if event.is_empty() {
        return Err("an event cannot be empty".into());
    }
    let ctx = zmq::Context::new();
    let xpub = ctx.socket(zmq::XPUB)?;
    xpub.set_linger(5_000)?;
    xpub.connect(&endpoint)?;
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || xpub.poll(zmq::POLLIN, left.as_millis() as i64)? == 0 {
            return Err(format!("no engine answered on {endpoint} within {wait:?}").into());
        }
        // The engine subscribes to everything: "\x01" followed by an empty topic.
        if xpub.recv_bytes(0)?.first() == Some(&1) {
            break;
        }
    }
    for _ in 0..repeat {
        xpub.send(&event[..], 0)?;
    }
    eprintln!(
        "event-engine pub: {repeat} event(s) of {} B published to {endpoint}",
        event.len()
    );
    Ok(())
}
