//! The work measured: plugin bodies that run unchanged on raw ZeroMQ sockets and on the engine's.

use std::time::Instant;

use event_engine::zmq;

/// The size of load-test event `i`: 100 to 1000 bytes, round robin (as in 0.2's load test).
pub fn load_size(i: u64) -> usize {
    100 + (i % 901) as usize
}

/// `prefix` + 8-byte sequence number, padded to `size` bytes.
pub fn event(prefix: &[u8], seq: u64, size: usize) -> Vec<u8> {
    let mut e = Vec::with_capacity(size);
    e.extend_from_slice(prefix);
    e.extend_from_slice(&seq.to_be_bytes());
    e.resize(size.max(prefix.len() + 8), b'x');
    e
}

/// Events whose bytes start with this are start-up probes (raw harness only).
pub const PROBE: &[u8] = b"probe";

/// Receives the next non-probe event.
pub fn recv_event(sub: &zmq::Socket) -> zmq::Result<zmq::Message> {
    loop {
        let m = sub.recv_msg(0)?;
        if !m.starts_with(PROBE) {
            return Ok(m);
        }
    }
}

pub fn produce(pub_socket: &zmq::Socket, n: u64, sizes: fn(u64) -> usize) -> zmq::Result<()> {
    for i in 0..n {
        pub_socket.send(event(b"Initial", i, sizes(i)), 0)?;
    }
    Ok(())
}

/// Receives `n` events; returns when the last arrived and how many were out of order.
pub fn consume(sub: &zmq::Socket, n: u64) -> zmq::Result<(Instant, u64)> {
    let mut disorder = 0;
    for i in 0..n {
        let m = recv_event(sub)?;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&m[7..15]);
        if u64::from_be_bytes(seq) != i {
            disorder += 1;
        }
    }
    Ok((Instant::now(), disorder))
}

/// The load test's operator: answers each Initial event with an Operator event (its length).
pub fn operate(pub_socket: &zmq::Socket, sub: &zmq::Socket, n: u64) -> zmq::Result<()> {
    for i in 0..n {
        let m = recv_event(sub)?;
        let mut out = event(b"Operator", i, 0);
        out.extend_from_slice(&(m.len() as u64).to_be_bytes());
        pub_socket.send(out, 0)?;
    }
    Ok(())
}

/// The load test's accumulator: sums the lengths; returns when the last arrived.
pub fn accumulate(sub: &zmq::Socket, n: u64) -> zmq::Result<(Instant, u64)> {
    let mut total = 0u64;
    for _ in 0..n {
        let m = recv_event(sub)?;
        let mut len = [0u8; 8];
        len.copy_from_slice(&m[16..24]);
        total += u64::from_be_bytes(len);
    }
    Ok((Instant::now(), total))
}
