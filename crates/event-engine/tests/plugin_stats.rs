//! `Plugin::stats` reaches `RunningApp::plugin_stats` while the app runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use event_engine::errors::EngineError;
use event_engine::events::EventType;
use event_engine::plugins::{FnPlugin, Plugin, PluginStats};
use event_engine::uuid::Uuid;
use event_engine::{zmq, App};

struct Counting {
    seen: Arc<AtomicU64>,
}

impl Plugin for Counting {
    fn start(&self, _pub: zmq::Socket, sub: zmq::Socket) -> Result<(), EngineError> {
        loop {
            sub.recv_bytes(0)?;
            self.seen.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(vec![event_engine::events::Filter::new("T").boxed()])
    }
    fn get_id(&self) -> Uuid {
        Uuid::nil()
    }
    fn get_name(&self) -> String {
        "counting".into()
    }
    fn stats(&self) -> Option<PluginStats> {
        Some(PluginStats::new("running").counter("seen", self.seen.load(Ordering::SeqCst)))
    }
}

#[test]
fn internal_plugins_report_live_counters() {
    let seen = Arc::new(AtomicU64::new(0));
    let producer = FnPlugin::new("producer", |p, _| {
        for _ in 0..5 {
            p.send("T", 0)?;
        }
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(Counting {
            seen: Arc::clone(&seen),
        })
        .with_plugin(producer)
        .start()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.load(Ordering::SeqCst) < 5 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stats = app.plugin_stats();
    // The producer (an FnPlugin) keeps none and is left out.
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].0, "counting");
    assert_eq!(stats[0].1.state, "running");
    assert_eq!(stats[0].1.get("seen"), Some(5));
    app.stop();
    app.wait().unwrap();
}
