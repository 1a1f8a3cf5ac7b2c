//! The bridge as an internal plugin: its bus thread (reads the events to export), its importer
//! thread (publishes imported events on the bus) and its NATS thread (`link`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use event_engine::errors::EngineError;
use event_engine::events::EventType;
use event_engine::plugins::{Plugin, PluginStats};
use event_engine::uuid::Uuid;
use event_engine::zmq;
use log::{debug, info};
use tokio::sync::{mpsc, watch};

use crate::budget::Budget;
use crate::config::{BridgeConfig, Delivery, WhenFull};
use crate::echo::Imported;
use crate::link::{self, Incoming, Outgoing};
use crate::stats::{add, BridgeStats, Counters, State};
use crate::{BridgeBuilder, BridgeError, BridgeHandle};

/// How often a waiting bus thread looks at whether the app or the NATS side stopped.
const CHECK: Duration = Duration::from_millis(100);
/// Imported events queued between the NATS side and the importer thread.
const IMPORT_QUEUE: usize = 1024;

/// What every thread of a bridge shares.
pub(crate) struct Shared {
    pub config: BridgeConfig,
    pub origin: String,
    pub counters: Counters,
    pub imported: Imported,
    pub budget: Budget,
    /// Export filters, in export order.
    pub filters: Vec<Vec<u8>>,
}

impl Shared {
    pub fn snapshot(&self) -> BridgeStats {
        let mut s = self.counters.snapshot();
        s.export_backlog = self.budget.used() as u64;
        s
    }

    /// The export an event goes to: the longest filter it starts with.
    fn route(&self, event: &[u8]) -> Option<usize> {
        self.filters
            .iter()
            .enumerate()
            .filter(|(_, f)| event.starts_with(f))
            .max_by_key(|(_, f)| f.len())
            .map(|(i, _)| i)
    }

    /// True when the bus hands `event` back to the bridge (it matches an export filter).
    pub fn comes_back(&self, event: &[u8]) -> bool {
        self.filters.iter().any(|f| event.starts_with(f))
    }
}

/// A NATS bridge: an internal plugin ([`Plugin`]) to register with `App::with_plugin`.
///
/// Made by [`NatsBridge::builder`]. It subscribes to its export filters; it runs until the
/// application stops, and then publishes what it still holds for up to
/// [`BridgeConfig::drain_timeout`].
pub struct NatsBridge {
    id: Uuid,
    shared: Arc<Shared>,
    running: AtomicBool,
}

impl NatsBridge {
    /// A builder for a bridge called `name` (the plugin's name).
    pub fn builder(name: impl Into<String>) -> BridgeBuilder {
        BridgeBuilder {
            config: BridgeConfig::new(name),
        }
    }

    /// A bridge with the settings of `config`, checked.
    pub fn new(config: BridgeConfig) -> Result<NatsBridge, BridgeError> {
        config.validate()?;
        if let crate::Auth::CredentialsFile(p) = &config.auth {
            std::fs::metadata(p).map_err(|e| {
                BridgeError::Config(format!(
                    "bridge '{}': credentials file {}: {e}",
                    config.name,
                    p.display()
                ))
            })?;
        }
        let origin = config
            .origin
            .clone()
            .unwrap_or_else(|| match &config.delivery {
                Delivery::JetStream(js) if js.durable.is_some() => {
                    js.durable.clone().unwrap_or_default()
                }
                // Short: it goes on every message.
                _ => Uuid::new_v4().simple().to_string()[..12].to_string(),
            });
        let filters = config
            .exports
            .iter()
            .map(|e| e.filter.get_filter().unwrap_or_default())
            .collect();
        Ok(NatsBridge {
            id: Uuid::new_v4(),
            shared: Arc::new(Shared {
                budget: Budget::new(config.buffer),
                config,
                origin,
                counters: Counters::default(),
                imported: Imported::default(),
                filters,
            }),
            running: AtomicBool::new(false),
        })
    }

    /// The settings.
    pub fn config(&self) -> &BridgeConfig {
        &self.shared.config
    }

    /// A handle that reads the counters while the bridge runs inside an app.
    pub fn handle(&self) -> BridgeHandle {
        BridgeHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Sets the plugin id (a random v4 UUID by default).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    fn fail(&self, details: impl Into<String>) -> EngineError {
        EngineError::PluginExecutionError(
            self.shared.config.name.clone(),
            self.id.to_string(),
            details.into(),
        )
    }
}

impl Plugin for NatsBridge {
    fn start(&self, pub_socket: zmq::Socket, sub_socket: zmq::Socket) -> Result<(), EngineError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(self.fail("this bridge is already running in another app"));
        }
        let result = run(self, pub_socket, sub_socket);
        self.running.store(false, Ordering::SeqCst);
        result
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(self
            .shared
            .config
            .exports
            .iter()
            .map(|e| e.filter.clone().boxed())
            .collect())
    }

    fn get_id(&self) -> Uuid {
        self.id
    }

    fn get_name(&self) -> String {
        self.shared.config.name.clone()
    }

    fn stats(&self) -> Option<PluginStats> {
        Some(self.shared.snapshot().to_plugin_stats())
    }
}

fn run(bridge: &NatsBridge, pub_socket: zmq::Socket, sub: zmq::Socket) -> Result<(), EngineError> {
    let shared = Arc::clone(&bridge.shared);
    let name = shared.config.name.clone();
    shared.counters.set_state(State::Connecting);
    let (export_tx, export_rx) = mpsc::unbounded_channel::<Outgoing>();
    let (import_tx, import_rx) = mpsc::channel::<Incoming>(IMPORT_QUEUE);
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let alive = Arc::new(AtomicBool::new(true));

    let nats = {
        let shared = Arc::clone(&shared);
        let alive = Arc::clone(&alive);
        std::thread::Builder::new()
            .name(format!("ee-nats-{name}"))
            .spawn(move || {
                let channels = link::Channels {
                    exports: export_rx,
                    imports: import_tx,
                    acks: ack_rx,
                    stop: stop_rx,
                };
                let r = link::run(Arc::clone(&shared), channels);
                alive.store(false, Ordering::SeqCst);
                r
            })
            .map_err(|e| bridge.fail(format!("could not spawn the NATS thread: {e}")))?
    };
    let importer = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("ee-nats-in-{name}"))
            .spawn(move || import_loop(&shared, pub_socket, import_rx, ack_tx))
            .map_err(|e| bridge.fail(format!("could not spawn the importer thread: {e}")))?
    };

    let outcome = export_loop(&shared, &sub, &export_tx, &alive);
    drop(sub);
    // Whatever ended the bus side, the NATS side drains what it holds and stops.
    let _ = stop_tx.send(true);
    drop(export_tx);
    let link_result = nats.join();
    let import_result = importer.join();
    shared.counters.set_state(State::Stopped);
    info!("bridge {name} stopped: {:?}", shared.snapshot());
    match link_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(bridge.fail(format!("the NATS side failed: {e}"))),
        Err(_) => return Err(bridge.fail("the NATS thread panicked")),
    }
    match import_result {
        Ok(Ok(())) => {}
        Ok(Err(zmq::Error::ETERM)) => {}
        Ok(Err(e)) => return Err(bridge.fail(format!("publishing an imported event failed: {e}"))),
        Err(_) => return Err(bridge.fail("the importer thread panicked")),
    }
    outcome.map_err(|e| match e {
        Exit::Bus(e) => EngineError::from(e),
        Exit::Link => bridge.fail("the NATS side ended unexpectedly"),
    })
}

enum Exit {
    /// A bus socket call failed (`ETERM`: the app is stopping).
    Bus(zmq::Error),
    /// The NATS thread ended on its own.
    Link,
}

/// The bus thread: reads the events to export and hands them to the NATS side.
fn export_loop(
    shared: &Shared,
    sub: &zmq::Socket,
    tx: &mpsc::UnboundedSender<Outgoing>,
    alive: &AtomicBool,
) -> Result<(), Exit> {
    let c = &shared.counters;
    let block = shared.config.when_full == WhenFull::Block;
    loop {
        if block {
            while !shared.budget.has_room() {
                // Not reading the bus: the forwarder holds events for us, then publishers wait.
                if !alive.load(Ordering::SeqCst) {
                    return Err(Exit::Link);
                }
                sub.poll(zmq::PollEvents::empty(), 0).map_err(Exit::Bus)?;
                shared.budget.wait_for_room(CHECK);
            }
        }
        if sub
            .poll(zmq::POLLIN, CHECK.as_millis() as i64)
            .map_err(Exit::Bus)?
            == 0
        {
            if !alive.load(Ordering::SeqCst) {
                return Err(Exit::Link);
            }
            continue;
        }
        let frames = sub.recv_multipart(0).map_err(Exit::Bus)?;
        let data = if frames.len() == 1 {
            frames.into_iter().next().unwrap_or_default()
        } else {
            frames.concat()
        };
        if shared.imported.take(&data) {
            add(&c.echoes_suppressed, 1);
            continue;
        }
        let Some(export) = shared.route(&data) else {
            add(&c.export_unrouted, 1);
            continue;
        };
        if !shared.budget.has_room() {
            // Only in drop mode: block mode waited for room above.
            add(&c.export_dropped, 1);
            continue;
        }
        shared.budget.take();
        if tx
            .send(Outgoing {
                export,
                data: Bytes::from(data),
            })
            .is_err()
        {
            shared.budget.release(1);
            return Err(Exit::Link);
        }
    }
}

/// The importer thread: publishes imported events on the bus (waiting when the bus is full),
/// then hands JetStream messages back to be acknowledged.
fn import_loop(
    shared: &Shared,
    pub_socket: zmq::Socket,
    mut rx: mpsc::Receiver<Incoming>,
    acks: mpsc::UnboundedSender<async_nats::jetstream::message::Acker>,
) -> Result<(), zmq::Error> {
    while let Some(incoming) = rx.blocking_recv() {
        let back = shared.comes_back(&incoming.data);
        if back {
            // Recorded before it is published, so the echo cannot overtake the record.
            shared.imported.record(&incoming.data);
        }
        if let Err(e) = pub_socket.send(&incoming.data[..], 0) {
            if back {
                shared.imported.forget(&incoming.data);
            }
            debug!("importer stopped: {e}");
            return Err(e);
        }
        add(&shared.counters.imported, 1);
        if let Some(acker) = incoming.acker {
            let _ = acks.send(acker);
        }
    }
    Ok(())
}
