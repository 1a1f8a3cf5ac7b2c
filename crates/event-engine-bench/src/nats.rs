//! The NATS bridge against a raw `async-nats` client, on one nats-server started for the run:
//! export (bus -> NATS subscriber) and import (NATS publisher -> bus) throughput, and the latency
//! the bridge adds, all over core NATS on loopback.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::{App, RunningApp};
use event_engine_nats::{BridgeHandle, NatsBridge};
use event_engine_testkit::nats::NatsServer;
use futures_util::StreamExt;

use crate::Run;

const WAIT: Duration = Duration::from_secs(60);

pub struct Bench {
    pub server: NatsServer,
    rt: tokio::runtime::Runtime,
}

fn event(size: usize, i: u64) -> Vec<u8> {
    let mut e = b"B".to_vec();
    e.extend_from_slice(&i.to_le_bytes());
    e.resize(size.max(9), 0);
    e
}

/// An engine with a bridge, a producer (publishes what it is sent) and a consumer (reports
/// every event it receives).
struct Engine {
    app: Option<RunningApp>,
    bridge: BridgeHandle,
    feed: Option<mpsc::Sender<Vec<u8>>>,
    got: mpsc::Receiver<(Instant, Vec<u8>)>,
}

impl Engine {
    fn start(bridge: NatsBridge) -> Engine {
        let handle = bridge.handle();
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
        let consumer = FnPlugin::new("consumer", move |_, s| loop {
            let e = s.recv_bytes(0)?;
            if tx.send((Instant::now(), e)).is_err() {
                return Ok(());
            }
        })
        .subscribe(Filter::new("B"));
        let app = App::new(0, 0)
            .with_plugin(bridge)
            .with_plugin(producer)
            .with_plugin(consumer)
            .start()
            .expect("engine");
        let e = Engine {
            app: Some(app),
            bridge: handle,
            feed: Some(feed),
            got,
        };
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let s = e.bridge.stats();
            if s.state == "connected" && s.imports_ready as usize == e.imports() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        e
    }

    fn imports(&self) -> usize {
        // Known from the bench's own set-up: import benches have one.
        usize::from(self.bridge.stats().imports_ready > 0)
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
            let mut got = 0;
            let deadline = tokio::time::Instant::now() + WAIT;
            while got < n {
                match tokio::time::timeout_at(deadline, sub.next()).await {
                    Ok(Some(_)) => got += 1,
                    _ => break,
                }
            }
            (Instant::now(), got)
        });
        let _ = ready_rx.recv_timeout(WAIT);
        h
    }

    /// raw client -> raw subscriber.
    pub fn raw(&self, n: u64, size: usize) -> Run {
        let sub = self.subscriber("bench.raw", n);
        let c = self.client();
        let payload = Bytes::from(event(size, 0));
        let start = Instant::now();
        self.rt.block_on(async {
            for _ in 0..n {
                c.publish("bench.raw", payload.clone())
                    .await
                    .expect("publish");
            }
            c.flush().await.expect("flush");
        });
        let (end, got) = self.rt.block_on(sub).expect("subscriber");
        (end - start, n - got)
    }

    /// bus producer -> bridge -> raw subscriber.
    pub fn export(&self, n: u64, size: usize) -> Run {
        let e = Engine::start(
            NatsBridge::builder("bench")
                .server(self.server.url())
                .export_to(Filter::new("B"), "bench.out")
                .build()
                .expect("bridge"),
        );
        let sub = self.subscriber("bench.out", n);
        let events: Vec<Vec<u8>> = (0..n).map(|i| event(size, i)).collect();
        let start = Instant::now();
        if let Some(f) = &e.feed {
            for ev in events {
                let _ = f.send(ev);
            }
        }
        let (end, got) = self.rt.block_on(sub).expect("subscriber");
        (end - start, n - got)
    }

    /// raw publisher -> bridge -> bus consumer.
    pub fn import(&self, n: u64, size: usize) -> Run {
        let e = Engine::start(
            NatsBridge::builder("bench")
                .server(self.server.url())
                .import("bench.in")
                .buffer(n as usize)
                .build()
                .expect("bridge"),
        );
        let c = self.client();
        let payload = Bytes::from(event(size, 0));
        let start = Instant::now();
        self.rt.block_on(async {
            for _ in 0..n {
                c.publish("bench.in", payload.clone())
                    .await
                    .expect("publish");
            }
            c.flush().await.expect("flush");
        });
        let mut got = 0;
        let mut end = start;
        while got < n {
            match e.got.recv_timeout(WAIT) {
                Ok((t, _)) => {
                    got += 1;
                    end = t;
                }
                Err(_) => break,
            }
        }
        (end - start, n - got)
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
            if let Ok((at, _)) = e.got.recv_timeout(WAIT) {
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
