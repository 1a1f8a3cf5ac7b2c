//! Built-in internal plugins that an `app.toml` can declare: generators publish events from a
//! template, collectors receive events and count them per subscription.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use event_engine::errors::EngineError;
use event_engine::events::EventType;
use event_engine::plugins::{FnPlugin, Plugin, PluginStats};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::config::{Collector, Generator};

/// The event a generator publishes as number `i`.
pub fn render(template: &str, i: u64) -> Vec<u8> {
    template.replace("{i}", &i.to_string()).into_bytes()
}

pub fn generator(g: &Generator) -> FnPlugin {
    let g = g.clone();
    FnPlugin::new(g.name.clone(), move |pub_socket, _sub| {
        for i in 0..g.count {
            pub_socket.send(render(&g.template, i), 0)?;
            if !g.interval.is_zero() {
                std::thread::sleep(g.interval);
            }
        }
        Ok(())
    })
}

/// What a collector received: events per subscription (the longest filter that matched).
#[derive(Debug, Default)]
pub struct Tally {
    pub per_filter: Mutex<BTreeMap<String, u64>>,
    pub received: AtomicU64,
    pub done: AtomicBool,
}

/// A collector: counts what it receives, and says so in `event-engine stats`.
pub struct CollectorPlugin {
    inner: FnPlugin,
    tally: Arc<Tally>,
}

impl Plugin for CollectorPlugin {
    fn start(&self, p: zmq::Socket, s: zmq::Socket) -> Result<(), EngineError> {
        self.inner.start(p, s)
    }
    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        self.inner.get_subscriptions()
    }
    fn get_id(&self) -> event_engine::uuid::Uuid {
        self.inner.get_id()
    }
    fn get_name(&self) -> String {
        self.inner.get_name()
    }
    fn stats(&self) -> Option<PluginStats> {
        let state = if self.tally.done.load(Ordering::SeqCst) {
            "finished"
        } else {
            "collecting"
        };
        Some(
            PluginStats::new(state).counter("received", self.tally.received.load(Ordering::SeqCst)),
        )
    }
}

impl Tally {
    pub fn summary(&self) -> String {
        let map = self
            .per_filter
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let total: u64 = map.values().sum();
        let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{total} event(s): {}", parts.join(", "))
    }
}

pub fn collector(c: &Collector) -> (CollectorPlugin, Arc<Tally>) {
    let tally = Arc::new(Tally::default());
    let filters: Vec<(String, Vec<u8>)> = c
        .filters
        .iter()
        .map(|f| (f.get_name(), f.get_filter().unwrap_or_default()))
        .collect();
    let (name, count, timeout) = (c.name.clone(), c.count, c.timeout);
    let t = Arc::clone(&tally);
    let mut plugin = FnPlugin::new(name.clone(), move |_pub, sub| {
        let deadline = timeout.map(|t| Instant::now() + t);
        for received in 0..count {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if sub.poll(zmq::POLLIN, left.as_millis() as i64)? == 0 {
                    return Err(EngineError::PluginExecutionError(
                        name.clone(),
                        String::new(),
                        format!(
                            "received {received} of {count} events within {:?}",
                            timeout.unwrap_or(Duration::ZERO)
                        ),
                    ));
                }
            }
            let event = sub.recv_bytes(0)?;
            let key = filters
                .iter()
                .filter(|(_, f)| event.starts_with(f))
                .max_by_key(|(_, f)| f.len())
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| "other".into());
            if let Ok(mut m) = t.per_filter.lock() {
                *m.entry(key).or_default() += 1;
            }
            t.received.fetch_add(1, Ordering::SeqCst);
        }
        t.done.store(true, Ordering::SeqCst);
        Ok(())
    });
    for f in &c.filters {
        plugin = plugin.subscribe(f.clone());
    }
    (
        CollectorPlugin {
            inner: plugin,
            tally: Arc::clone(&tally),
        },
        tally,
    )
}

use event_engine::zmq;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(render("TypeA{i}:{i}", 7), b"TypeA7:7");
        assert_eq!(render("Fixed", 7), b"Fixed");
    }
}
