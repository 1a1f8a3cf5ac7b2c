//! An engine for the NATS tests: a bridge, a feeder (publishes what the test hands it) and a
//! collector (keeps every event of its filters), on free ports.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::{App, RunningApp};
use event_engine_nats::{BridgeHandle, BridgeStats, NatsBridge};
pub use event_engine_testkit::wait_until;

/// Long enough for a slow CI machine, short enough to fail fast.
pub const DEADLINE: Duration = Duration::from_secs(40);

pub struct Node {
    pub app: Option<RunningApp>,
    pub bridge: BridgeHandle,
    feed: Option<mpsc::Sender<Vec<u8>>>,
    pub received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Node {
    /// An engine with `bridge`, a feeder, and a collector of `collect`.
    pub fn start(bridge: NatsBridge, collect: &[&str]) -> Node {
        let handle = bridge.handle();
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let rx = Mutex::new(rx);
        let feeder = FnPlugin::new("feeder", move |pub_socket, _sub| {
            let rx = rx.lock().unwrap();
            while let Ok(e) = rx.recv() {
                pub_socket.send(e, 0)?;
            }
            Ok(())
        });
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&received);
        let mut collector = FnPlugin::new("collector", move |_pub, sub| loop {
            let e = sub.recv_bytes(0)?;
            r.lock().unwrap().push(e);
        });
        for f in collect {
            collector = collector.subscribe(Filter::new(*f));
        }
        let mut app = App::new(0, 0).with_plugin(bridge).with_plugin(feeder);
        if !collect.is_empty() {
            app = app.with_plugin(collector);
        }
        let app = app.start().expect("engine starts");
        Node {
            app: Some(app),
            bridge: handle,
            feed: Some(tx),
            received,
        }
    }

    pub fn publish(&self, event: impl Into<Vec<u8>>) {
        self.feed.as_ref().unwrap().send(event.into()).unwrap();
    }

    pub fn stats(&self) -> BridgeStats {
        self.bridge.stats()
    }

    pub fn received_count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until the bridge is connected with every import in place.
    pub fn wait_ready(&self, imports: u64) {
        assert!(
            wait_until(DEADLINE, || {
                let s = self.stats();
                s.state == "connected" && s.imports_ready >= imports
            }),
            "bridge not ready: {:?}",
            self.stats()
        );
    }

    /// Stops the engine and returns the bridge's final counters.
    pub fn stop(&mut self) -> BridgeStats {
        self.feed.take();
        if let Some(app) = self.app.take() {
            app.stop();
            let report = app.wait().expect("engine ran");
            let failures = report.failures();
            assert!(failures.is_empty(), "plugins failed: {failures:?}");
        }
        self.stats()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.feed.take();
        if let Some(app) = self.app.take() {
            app.stop();
            let _ = app.wait();
        }
    }
}

/// Sent, received, duplicates and lost, from the events' numbers.
#[derive(Debug, PartialEq, Eq)]
pub struct Figures {
    pub sent: usize,
    pub received: usize,
    pub duplicates: usize,
    pub lost: usize,
}

/// Counts events `<prefix><n>` for n in 0..sent among `received`.
pub fn figures(prefix: &str, sent: usize, received: &[Vec<u8>]) -> Figures {
    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    for e in received {
        let n: usize = std::str::from_utf8(&e[prefix.len()..])
            .ok()
            .and_then(|s| s.split(':').next().and_then(|n| n.parse().ok()))
            .unwrap_or(usize::MAX);
        *seen.entry(n).or_default() += 1;
    }
    let distinct: BTreeSet<usize> = seen.keys().copied().filter(|n| *n < sent).collect();
    Figures {
        sent,
        received: received.len(),
        duplicates: received.len() - seen.len(),
        lost: sent - distinct.len(),
    }
}

pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}
