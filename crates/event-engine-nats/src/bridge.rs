//! The bridge as an internal plugin: its bus thread (reads the events to export), its importer
//! thread (`import`: reads the imports and publishes them on the bus) and its NATS thread
//! (`link`: the connection and the exports).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use event_engine::errors::EngineError;
use event_engine::events::EventType;
use event_engine::plugins::{Plugin, PluginStats};
use event_engine::uuid::Uuid;
use event_engine::zmq;
use log::info;
use tokio::sync::{mpsc, oneshot, watch};

use crate::budget::Budget;
use crate::config::{BridgeConfig, Delivery, WhenFull};
use crate::echo::Imported;
use crate::import;
use crate::link::{self, Outgoing};
use crate::stats::{add, BridgeStats, Counters, State};
use crate::{BridgeBuilder, BridgeError, BridgeHandle};

/// How often a waiting bus thread looks at whether the app or the NATS side stopped.
const CHECK: Duration = Duration::from_millis(100);
/// Most events the bus thread reads per wake-up and hands to the NATS side at once.
const EXPORT_BATCH: usize = 512;

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
    // Batches, so that a thread hand-off (a wake-up) is paid per batch, not per event. The
    // export channel needs no bound of its own: the budget bounds what is in it.
    let (export_tx, export_rx) = mpsc::unbounded_channel::<Vec<Outgoing>>();
    let (connection_tx, connection_rx) = oneshot::channel();
    let (importer_done_tx, importer_done_rx) = oneshot::channel();
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
                    importer: connection_tx,
                    importer_done: importer_done_rx,
                    stop: stop_rx,
                };
                let r = link::run(Arc::clone(&shared), channels);
                alive.store(false, Ordering::SeqCst);
                r
            })
            .map_err(|e| bridge.fail(format!("could not spawn the NATS thread: {e}")))?
    };
    let importer = {
        let (shared, stop) = (Arc::clone(&shared), stop_tx.subscribe());
        std::thread::Builder::new()
            .name(format!("ee-nats-in-{name}"))
            .spawn(move || import::run(shared, pub_socket, connection_rx, stop, importer_done_tx))
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

/// A received ZeroMQ message as the bytes of an exported event, without a copy.
struct Frame(zmq::Message);

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Receives one event (all its frames) with `flags`.
fn recv_event(sub: &zmq::Socket, flags: i32) -> Result<Bytes, zmq::Error> {
    let mut msg = zmq::Message::new();
    sub.recv(&mut msg, flags)?;
    if !msg.get_more() {
        return Ok(Bytes::from_owner(Frame(msg)));
    }
    // A multi-part event: its frames are all there once the first one is.
    let mut data = msg.to_vec();
    let mut more = true;
    while more {
        sub.recv(&mut msg, 0)?;
        data.extend_from_slice(&msg);
        more = msg.get_more();
    }
    Ok(Bytes::from(data))
}

/// The bus thread: reads the events to export, as many as are there (up to a batch and the
/// room in the buffer) per wake-up, and hands them to the NATS side one batch at a time.
fn export_loop(
    shared: &Shared,
    sub: &zmq::Socket,
    tx: &mpsc::UnboundedSender<Vec<Outgoing>>,
    alive: &AtomicBool,
) -> Result<(), Exit> {
    let c = &shared.counters;
    let block = shared.config.when_full == WhenFull::Block;
    let mut events: Vec<Bytes> = Vec::with_capacity(EXPORT_BATCH);
    let mut back = Vec::with_capacity(EXPORT_BATCH);
    loop {
        let mut room = shared.budget.room();
        if block {
            while room == 0 {
                // Not reading the bus: the forwarder holds events for us, then publishers wait.
                if !alive.load(Ordering::SeqCst) {
                    return Err(Exit::Link);
                }
                sub.poll(zmq::PollEvents::empty(), 0).map_err(Exit::Bus)?;
                shared.budget.wait_for_room(CHECK);
                room = shared.budget.room();
            }
        }
        // Block mode reads no more than there is room for; drop mode reads on and drops.
        let limit = if block {
            room.min(EXPORT_BATCH)
        } else {
            EXPORT_BATCH
        };
        events.clear();
        while events.len() < limit {
            match recv_event(sub, zmq::DONTWAIT) {
                Ok(e) => events.push(e),
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => return Err(Exit::Bus(e)),
            }
        }
        if events.is_empty() {
            // Nothing there: wait for the next event (or look at the NATS side now and then).
            if sub
                .poll(zmq::POLLIN, CHECK.as_millis() as i64)
                .map_err(Exit::Bus)?
                == 0
                && !alive.load(Ordering::SeqCst)
            {
                return Err(Exit::Link);
            }
            continue;
        }
        let echoes = shared
            .imported
            .take_many(events.iter().map(|e| &e[..]), &mut back);
        add(&c.echoes_suppressed, echoes as u64);
        let mut batch = Vec::with_capacity(events.len() - echoes);
        let mut unrouted = 0;
        for (i, data) in events.drain(..).enumerate() {
            if back.get(i) == Some(&true) {
                continue;
            }
            match shared.route(&data) {
                Some(export) => batch.push(Outgoing { export, data }),
                None => unrouted += 1,
            }
        }
        add(&c.export_unrouted, unrouted);
        if batch.len() > room {
            // Only in drop mode: block mode read no more than the room.
            add(&c.export_dropped, (batch.len() - room) as u64);
            batch.truncate(room);
        }
        if batch.is_empty() {
            continue;
        }
        let n = batch.len();
        shared.budget.take(n);
        if tx.send(batch).is_err() {
            shared.budget.release(n);
            return Err(Exit::Link);
        }
    }
}
