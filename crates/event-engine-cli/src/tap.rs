//! `event-engine tap`: print live events from a running engine's subscribe port.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use event_engine::zmq;

use crate::target::{bytes_arg, Target, Want};

type Error = Box<dyn std::error::Error>;

/// The leading type of an event for display: a matching filter, else its leading letters and
/// digits, else its first two bytes in hex.
pub fn type_of<'a>(event: &'a [u8], filters: &'a [Vec<u8>]) -> (String, &'a [u8]) {
    if let Some(f) = filters
        .iter()
        .filter(|f| event.starts_with(f))
        .max_by_key(|f| f.len())
    {
        return (show_bytes(f), &event[f.len()..]);
    }
    let n = event
        .iter()
        .take(24)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
        .count();
    if n > 0 {
        (
            String::from_utf8_lossy(&event[..n]).into_owned(),
            &event[n..],
        )
    } else {
        let n = event.len().min(2);
        (
            format!("hex:{}", event_engine::wire::to_hex(&event[..n])),
            &event[n..],
        )
    }
}

fn show_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => format!("hex:{}", event_engine::wire::to_hex(b)),
    }
}

/// Up to `max` characters of `payload`, escaped.
pub fn preview(payload: &[u8], max: usize) -> String {
    let text: String = payload.escape_ascii().to_string();
    if text.chars().count() > max {
        let head: String = text.chars().take(max).collect();
        format!("{head}…")
    } else {
        text
    }
}

fn clock() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

pub fn tap(
    target: &Target,
    filters: &[String],
    count: Option<u64>,
    timeout: Option<Duration>,
) -> Result<(), Error> {
    let endpoint = target.bus(Want::Subscribe)?;
    let filters: Vec<Vec<u8>> = filters
        .iter()
        .map(|f| bytes_arg(f))
        .collect::<Result<_, _>>()?;
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB)?;
    sub.connect(&endpoint)?;
    if filters.is_empty() {
        sub.set_subscribe(b"")?;
    }
    for f in &filters {
        sub.set_subscribe(f)?;
    }
    eprintln!("event-engine tap: listening on {endpoint} (Ctrl-C to stop)");
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut seen = 0u64;
    let stdout = std::io::stdout();
    while count.is_none_or(|c| seen < c) {
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(format!("{seen} event(s) seen before the time-out").into());
                }
                left.as_millis() as i64
            }
            None => -1,
        };
        if sub.poll(zmq::POLLIN, wait)? == 0 {
            continue;
        }
        let event = sub.recv_bytes(0)?;
        let (kind, payload) = type_of(&event, &filters);
        let mut out = stdout.lock();
        writeln!(
            out,
            "{}  {:<16} {:>7} B  {}",
            clock(),
            kind,
            event.len(),
            preview(payload, 72)
        )?;
        out.flush()?;
        seen += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_type_and_a_preview() {
        let filters = vec![b"TypeA".to_vec(), vec![1, 0]];
        assert_eq!(
            type_of(b"TypeAhello", &filters),
            ("TypeA".into(), b"hello".as_slice())
        );
        assert_eq!(type_of(b"\x01\x00\xff", &filters).0, "hex:0100");
        assert_eq!(type_of(b"Frame:42", &[]).0, "Frame");
        assert_eq!(type_of(b"\x07x", &[]).0, "hex:0778");
        assert_eq!(preview(b"a\nb", 10), "a\\nb");
        assert_eq!(preview(b"abcdef", 3), "abc…");
    }
}
