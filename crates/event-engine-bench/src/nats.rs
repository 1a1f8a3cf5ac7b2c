//! The NATS bridge against a raw `async-nats` client, on one nats-server started for the run:
//! export (bus -> NATS subscriber) and import (NATS publisher -> bus) throughput, and the latency
//! the bridge adds, all over core NATS on loopback.
//!
//! Every message the bridge exports carries a header (`Ee-Id: <origin> <run> <seq>`: what keeps
//! engines from echoing each other and lets importers count losses), so the raw client is
//! measured twice: publishing the payload alone, and publishing it with the same header built
//! per message, as a hand-written forwarder with the same guarantees would. The second is the
//! like-for-like baseline of the bridge (the same bytes on the wire, the same work for the
//! server and the subscriber); the first shows what the header itself costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::{App, RunningApp};
use event_engine_nats::{headers, BridgeHandle, NatsBridge};
use event_engine_testkit::nats::NatsServer;
use futures_util::StreamExt;

use crate::Run;

const WAIT: Duration = Duration::from_secs(60);

/// One measurement of the NATS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Raw publisher -> raw subscriber, payload only.
    Raw,
    /// Raw publisher -> raw subscriber, with the bridge's header on every message.
    RawHeaders,
    /// Bus producer -> bridge -> raw subscriber.
    Export,
    /// Raw publisher (payload only) -> bridge -> bus consumer.
    Import,
    /// Raw publisher with the headers another engine's bridge puts on (origin, run, sequence
    /// numbers) -> bridge -> bus consumer: what engines exchanging events import.
    ImportHeaders,
}

impl Case {
    pub const ALL: [Case; 5] = [
        Case::Raw,
        Case::RawHeaders,
        Case::Export,
        Case::Import,
        Case::ImportHeaders,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Case::Raw => "raw",
            Case::RawHeaders => "raw-headers",
            Case::Export => "export",
            Case::Import => "import",
            Case::ImportHeaders => "import-headers",
        }
    }

    pub fn parse(s: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == s)
    }
}

pub struct Bench {
    pub server: NatsServer,
    rt: tokio::runtime::Runtime,
}

/// CPU time so far (ns) of every thread of this process and of the nats-server: what one
/// measurement costs the machine, whatever else runs on it.
fn cpu_ns(server: Option<u32>) -> u64 {
    let tasks = |pid: &str| -> u64 {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return 0;
        };
        dir.flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    };
    tasks("self") + server.map_or(0, |p| tasks(&p.to_string()))
}

/// One measurement: its time and losses, and the CPU it took (ns).
pub type Measured = (Run, u64);

fn event(size: usize, i: u64) -> Vec<u8> {
    let mut e = b"B".to_vec();
    e.extend_from_slice(&i.to_le_bytes());
    e.resize(size.max(9), 0);
    e
}

/// The header a bridge puts on message `seq` (`Ee-Id: <origin> <run> <seq>`), built as
/// cheaply as the bridge builds it.
fn id_header(seq: u64) -> async_nats::HeaderMap {
    use std::fmt::Write;
    // As long as a bridge's: a 12-character origin and an 8-character run.
    let mut value = String::with_capacity(40);
    let _ = write!(value, "rawclient123 0a1b2c3d {seq}");
    let mut h = async_nats::HeaderMap::new();
    h.insert(
        async_nats::HeaderName::from_static(headers::ID),
        async_nats::HeaderValue::from(value),
    );
    h
}

/// An engine with a bridge, a producer (publishes what it is sent) and, for imports, a
/// consumer that counts what it receives.
struct Engine {
    app: Option<RunningApp>,
    bridge: BridgeHandle,
    feed: Option<mpsc::Sender<Vec<u8>>>,
    /// The consumer reports the time every `report_every` events (shared with it).
    report_every: Arc<AtomicU64>,
    got: mpsc::Receiver<Instant>,
    imports: u64,
}

impl Engine {
    /// `consumer`: whether a plugin subscribes to the bridged events (imports, latency).
    fn start(bridge: NatsBridge, consumer: bool) -> Engine {
        let handle = bridge.handle();
        let imports = bridge.config().imports.len() as u64;
        let (feed, rx) = mpsc::channel::<Vec<u8>>();
        let rx = Mutex::new(rx);
        let producer = FnPlugin::new("producer", move |p, _| {
            let rx = rx.lock().map_err(|_| event_engine::zmq::Error::EFAULT)?;
            while let Ok(e) = rx.recv() {
                p.send(e, 0)?;
            }
            Ok(())
        });
        let (tx, got) = mpsc::channel();
        let report_every = Arc::new(AtomicU64::new(1));
        let every = Arc::clone(&report_every);
        let mut app = App::new(0, 0).with_plugin(bridge).with_plugin(producer);
        if consumer {
            // As cheap per event as the raw subscriber: count, report the time when asked.
            let consumer = FnPlugin::new("consumer", move |_, s| {
                let mut msg = event_engine::zmq::Message::new();
                let mut seen = 0u64;
                loop {
                    s.recv(&mut msg, 0)?;
                    seen += 1;
                    if seen.is_multiple_of(every.load(Ordering::Relaxed).max(1))
                        && tx.send(Instant::now()).is_err()
                    {
                        return Ok(());
                    }
                }
            })
            .subscribe(Filter::new("B"));
            app = app.with_plugin(consumer);
        }
        let app = app.start().expect("engine");
        let e = Engine {
            app: Some(app),
            bridge: handle,
            feed: Some(feed),
            report_every,
            got,
            imports,
        };
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let s = e.bridge.stats();
            if s.state == "connected" && s.imports_ready == e.imports {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        e
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.feed.take();
        if let Some(a) = self.app.take() {
            a.stop();
            let _ = a.wait();
        }
    }
}

impl Bench {
    pub fn start() -> Bench {
        Bench {
            server: NatsServer::start(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    fn client(&self) -> async_nats::Client {
        let url = self.server.url();
        self.rt.block_on(async {
            async_nats::ConnectOptions::new()
                .subscription_capacity(1 << 20)
                .connect(url)
                .await
                .expect("connect")
        })
    }

    /// A raw subscriber counting `n` messages on `subject`; returns when it is in place.
    fn subscriber(&self, subject: &str, n: u64) -> tokio::task::JoinHandle<(Instant, u64)> {
        let c = self.client();
        let subject = subject.to_string();
        let (ready_tx, ready_rx) = mpsc::channel();
        let h = self.rt.spawn(async move {
            let mut sub = c.subscribe(subject).await.expect("subscribe");
            c.flush().await.expect("flush");
            let _ = ready_tx.send(());
            // One time-out for the whole run, not a timer per message: the subscriber does no
            // more per message than count it.
            let mut got = 0;
            let _ = tokio::time::timeout(WAIT, async {
                while got < n && sub.next().await.is_some() {
                    got += 1;
                }
            })
            .await;
            (Instant::now(), got)
        });
        let _ = ready_rx.recv_timeout(WAIT);
        h
    }

    /// A raw client publishing `n` messages of `size` bytes on `subject` (with the bridge's
    /// headers when `with_headers`), then flushing.
    fn publish(
        &self,
        c: &async_nats::Client,
        subject: &'static str,
        n: u64,
        size: usize,
        with_headers: bool,
    ) {
        let payload = Bytes::from(event(size, 0));
        self.rt.block_on(async {
            for seq in 1..=n {
                if with_headers {
                    c.publish_with_headers(subject, id_header(seq), payload.clone())
                        .await
                        .expect("publish");
                } else {
                    c.publish(subject, payload.clone()).await.expect("publish");
                }
            }
            c.flush().await.expect("flush");
        });
    }

    /// One measurement.
    pub fn run(&self, case: Case, n: u64, size: usize) -> Measured {
        match case {
            Case::Raw => self.raw(n, size, false),
            Case::RawHeaders => self.raw(n, size, true),
            Case::Export => self.export(n, size),
            Case::Import => self.import(n, size, false),
            Case::ImportHeaders => self.import(n, size, true),
        }
    }

    /// raw client -> raw subscriber.
    fn raw(&self, n: u64, size: usize, with_headers: bool) -> Measured {
        let sub = self.subscriber("bench.raw", n);
        let c = self.client();
        let cpu = cpu_ns(self.server.pid());
        let start = Instant::now();
        self.publish(&c, "bench.raw", n, size, with_headers);
        let (end, got) = self.rt.block_on(sub).expect("subscriber");
        ((end - start, n - got), cpu_ns(self.server.pid()) - cpu)
    }

    /// bus producer -> bridge -> raw subscriber.
    fn export(&self, n: u64, size: usize) -> Measured {
        let e = Engine::start(
            NatsBridge::builder("bench")
                .server(self.server.url())
                .export_to(Filter::new("B"), "bench.out")
                .build()
                .expect("bridge"),
            false,
        );
        let sub = self.subscriber("bench.out", n);
        let events: Vec<Vec<u8>> = (0..n).map(|i| event(size, i)).collect();
        let cpu = cpu_ns(self.server.pid());
        let start = Instant::now();
        if let Some(f) = &e.feed {
            for ev in events {
                let _ = f.send(ev);
            }
        }
        let (end, got) = self.rt.block_on(sub).expect("subscriber");
        ((end - start, n - got), cpu_ns(self.server.pid()) - cpu)
    }

    /// raw publisher -> bridge -> bus consumer.
    fn import(&self, n: u64, size: usize, with_headers: bool) -> Measured {
        let e = Engine::start(
            NatsBridge::builder("bench")
                .server(self.server.url())
                .import("bench.in")
                // Core NATS drops what a subscription cannot hold: as deep as the raw
                // subscriber's (1 << 20).
                .buffer(1 << 20)
                .build()
                .expect("bridge"),
            true,
        );
        e.report_every.store(n, Ordering::Relaxed);
        let c = self.client();
        let cpu = cpu_ns(self.server.pid());
        let start = Instant::now();
        self.publish(&c, "bench.in", n, size, with_headers);
        let run = match e.got.recv_timeout(WAIT) {
            Ok(end) => (end - start, 0),
            Err(_) => (start.elapsed(), n - e.bridge.stats().imported.min(n)),
        };
        (run, cpu_ns(self.server.pid()) - cpu)
    }

    /// Median one-way latency (µs) of `k` events sent one at a time: raw client to raw
    /// subscriber, bus to NATS subscriber through the bridge, NATS publisher to the bus.
    pub fn latency(&self, k: usize) -> (f64, f64, f64) {
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        let c = self.client();
        let e = Engine::start(
            NatsBridge::builder("lat")
                .server(self.server.url())
                .export_to(Filter::new("B"), "lat.out")
                .import("lat.in")
                .build()
                .expect("bridge"),
            true,
        );
        let (mut raw, mut out, mut inn) = (Vec::new(), Vec::new(), Vec::new());
        let payload = Bytes::from(event(100, 0));
        self.rt.block_on(async {
            let mut sub_raw = c.subscribe("lat.raw").await.expect("sub");
            let mut sub_out = c.subscribe("lat.out").await.expect("sub");
            c.flush().await.expect("flush");
            for _ in 0..k {
                let t = Instant::now();
                c.publish("lat.raw", payload.clone()).await.expect("pub");
                c.flush().await.expect("flush");
                if sub_raw.next().await.is_some() {
                    raw.push(t.elapsed());
                }
            }
            for i in 0..k {
                let t = Instant::now();
                if let Some(f) = &e.feed {
                    let _ = f.send(event(100, i as u64));
                }
                if sub_out.next().await.is_some() {
                    out.push(t.elapsed());
                }
                // The consumer plugin sees the exported event too: drain it.
                let _ = e.got.recv_timeout(WAIT);
            }
        });
        let c2 = c.clone();
        for _ in 0..k {
            let t = Instant::now();
            self.rt.block_on(async {
                c2.publish("lat.in", payload.clone()).await.expect("pub");
                c2.flush().await.expect("flush");
            });
            if let Ok(at) = e.got.recv_timeout(WAIT) {
                inn.push(at - t);
            }
        }
        (median(raw), median(out), median(inn))
    }
}

/// Shared so that the first start's cost is not in a figure.
pub fn bench() -> Arc<Bench> {
    Arc::new(Bench::start())
}
