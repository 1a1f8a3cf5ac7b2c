//! Large events (1 KB to 16 MB): the engine beside raw ZeroMQ doing the same work.
//!
//! - internal: producer -> engine -> consumer (inproc) beside raw PUB -> XSUB/XPUB proxy -> SUB;
//! - external: a Rust client publishing (`publish_batch_owned`) -> engine -> a client receiving
//!   (`next_batch_owned`, default byte budget) beside one raw TCP PUB -> SUB hop over loopback.
//!
//! Peak RSS: the engine runs in this process, so each run first resets the process's peak
//! (`/proc/self/clear_refs` 5) and reads `VmHWM` after it. The figure is the whole process
//! (engine, plugins or clients, and the bench); the raw runs are measured the same way, so the
//! difference between the two is what the engine keeps on top of raw ZeroMQ.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{zmq, App};
use event_engine_client::Client;

use crate::engine::hwm;
use crate::flows;
use crate::raw::Raw;

/// One run: elapsed time, events lost, the process's peak RSS in bytes during the run.
pub type Run = (Duration, u64, u64);

const TOPIC: &[u8] = b"Big";

/// Resets the process's peak RSS (Linux >= 4.0); false when that is not possible.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak RSS since the last reset, in bytes (0 when unknown).
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn measured(f: impl FnOnce() -> (Duration, u64)) -> Run {
    reset_peak();
    let (t, lost) = f();
    (t, lost, peak_rss())
}

/// A fresh event of `size` bytes: "Big" + sequence number, padded (the same work on both sides).
fn event(seq: u64, size: usize) -> Vec<u8> {
    flows::event(TOPIC, seq, size)
}

fn seq_of(data: &[u8]) -> u64 {
    let mut s = [0u8; 8];
    s.copy_from_slice(&data[3..11]);
    u64::from_be_bytes(s)
}

/// Receives `n` events of `size` bytes on a SUB socket; returns when the last came and how
/// many were missing (wrong size or out of order counts as lost).
fn consume(sub: &zmq::Socket, n: u64, size: usize) -> zmq::Result<(Instant, u64)> {
    let mut bad = 0;
    for i in 0..n {
        let m = flows::recv_event(sub)?;
        if m.len() != size || seq_of(&m) != i {
            bad += 1;
        }
    }
    Ok((Instant::now(), bad))
}

/// Raw inproc: PUB -> XSUB/XPUB proxy -> SUB (HWM 0).
pub fn raw_internal(n: u64, size: usize) -> Run {
    measured(|| {
        let raw = Raw::new();
        let sub = raw.subscriber(TOPIC);
        let consumer = thread::spawn(move || consume(&sub, n, size).expect("consume"));
        let publisher = raw.publisher(TOPIC);
        let start = Instant::now();
        for i in 0..n {
            publisher.send(event(i, size), 0).expect("send");
        }
        let (end, bad) = consumer.join().expect("consumer");
        (end - start, bad)
    })
}

type Stamp = Arc<Mutex<Option<Instant>>>;

fn stamp(s: &Stamp) {
    if let Ok(mut g) = s.lock() {
        *g = Some(Instant::now());
    }
}

/// The engine, inproc: producer -> engine -> consumer (default settings, lossless).
pub fn engine_internal(n: u64, size: usize) -> Run {
    measured(|| {
        let (start, end): (Stamp, Stamp) = Default::default();
        let bad = Arc::new(Mutex::new(0u64));
        let (s, e, b) = (Arc::clone(&start), Arc::clone(&end), Arc::clone(&bad));
        let producer = FnPlugin::new("producer", move |pub_socket, _| {
            stamp(&s);
            for i in 0..n {
                pub_socket.send(event(i, size), 0)?;
            }
            Ok(())
        });
        let consumer = FnPlugin::new("consumer", move |_, sub| {
            let (_, k) = consume(&sub, n, size)?;
            stamp(&e);
            *b.lock().expect("lock") = k;
            Ok(())
        })
        .subscribe(Filter::new("Big"));
        let report = App::new(0, 0)
            .high_water_mark(hwm())
            .with_plugin(producer)
            .with_plugin(consumer)
            .run_with_report()
            .expect("engine");
        report.result().expect("plugins");
        let t = |s: &Stamp| s.lock().ok().and_then(|g| *g).expect("stamped");
        let lost = (n - report.events_forwarded.min(n)).max(*bad.lock().expect("lock"));
        (t(&end) - t(&start), lost)
    })
}

/// Raw TCP over loopback: one PUB -> SUB hop (HWM 0; the publisher is an XPUB that waits for
/// the subscription, so nothing is lost at start-up).
pub fn raw_tcp(n: u64, size: usize) -> Run {
    measured(|| {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::XPUB).expect("xpub");
        publisher.set_sndhwm(0).expect("hwm");
        publisher.bind("tcp://127.0.0.1:*").expect("bind");
        let endpoint = publisher
            .get_last_endpoint()
            .expect("endpoint")
            .expect("utf-8");
        let sub = ctx.socket(zmq::SUB).expect("sub");
        sub.set_rcvhwm(0).expect("hwm");
        sub.connect(&endpoint).expect("connect");
        sub.set_subscribe(TOPIC).expect("subscribe");
        publisher.recv_bytes(0).expect("subscription");
        let consumer = thread::spawn(move || consume(&sub, n, size).expect("consume"));
        let start = Instant::now();
        for i in 0..n {
            publisher.send(event(i, size), 0).expect("send");
        }
        let (end, bad) = consumer.join().expect("consumer");
        (end - start, bad)
    })
}

/// How many events of `size` bytes one `publish_batch` call gets: about 4 MB, 1 to 1000.
fn batch_of(size: usize) -> u64 {
    ((4 << 20) / size.max(1)).clamp(1, 1000) as u64
}

/// The engine, external: client `publish_batch_owned` -> engine -> client `next_batch_owned`
/// (TCP; the events' buffers move into their messages, and the received ones stay in theirs).
pub fn engine_external(n: u64, size: usize) -> Run {
    measured(|| {
        let app = App::new(0, 0)
            .high_water_mark(hwm())
            .with_external_plugin(ExternalPluginSpec::new("sender", 0))
            .with_external_plugin(
                ExternalPluginSpec::new("receiver", 0).subscribe(Filter::new("Big")),
            )
            .start()
            .expect("engine");
        let (tx_port, rx_port) = (
            app.external_port("sender").expect("port"),
            app.external_port("receiver").expect("port"),
        );
        let mut rx = Client::connect_port("127.0.0.1", rx_port).expect("client");
        rx.hello().expect("hello");
        let ready = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ready);
        let receiver = thread::spawn(move || {
            let (mut got, mut bad) = (0u64, 0u64);
            r.store(true, Ordering::SeqCst);
            while got < n {
                let batch = rx
                    .next_batch_owned(1000, Some(Duration::from_secs(20)))
                    .expect("next_batch_owned");
                if batch.is_empty() {
                    break;
                }
                for e in &batch {
                    if e.data().len() != size || seq_of(e.data()) != got {
                        bad += 1;
                    }
                    got += 1;
                }
            }
            let end = Instant::now();
            rx.quit().expect("quit");
            (end, got, bad)
        });
        while !ready.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        let mut tx = Client::connect_port("127.0.0.1", tx_port).expect("client");
        tx.hello().expect("hello");
        let batch = batch_of(size);
        let start = Instant::now();
        let mut sent = 0;
        while sent < n {
            let k = batch.min(n - sent);
            let events: Vec<Vec<u8>> = (sent..sent + k).map(|i| event(i, size)).collect();
            sent += tx.publish_batch_owned(events).expect("publish") as u64;
        }
        tx.quit().expect("quit");
        let (end, got, bad) = receiver.join().expect("receiver");
        app.wait().expect("engine").result().expect("plugins");
        (end - start, (n - got.min(n)).max(bad))
    })
}

/// The sizes and event counts of the table (each cell about 1-3 s on a 2-core machine).
pub fn sizes(smoke: bool) -> Vec<(usize, u64)> {
    if smoke {
        return vec![(1 << 10, 200), (64 << 10, 20)];
    }
    vec![
        (1 << 10, 1_000_000),
        (64 << 10, 20_000),
        (1 << 20, 2_000),
        (8 << 20, 250),
        (16 << 20, 120),
    ]
}

pub fn label(size: usize) -> String {
    if size >= 1 << 20 {
        format!("{} MB", size >> 20)
    } else {
        format!("{} KB", size >> 10)
    }
}
