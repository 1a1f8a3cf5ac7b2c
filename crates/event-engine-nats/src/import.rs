//! The importer thread: the imports' subscriptions (core NATS) or durable consumers
//! (JetStream), read on a small tokio runtime of their own, and published onto the bus from
//! there.
//!
//! The connection itself (its reader, which parses what the server sends) runs on the NATS
//! thread; it hands each import's messages to this thread through the subscription's queue.
//! Reading them here, rather than on the NATS thread, lets the two threads work at once:
//! a current-thread runtime that both parsed and consumed would run the consumer only when the
//! reader had emptied the socket, with tens of thousands of messages queued in between.
//!
//! An event is on the bus before its JetStream message is acknowledged (at least once), and an
//! event the bus hands back to the bridge is recorded before it is published (the `echo`
//! module), so that the bridge never exports it again.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, consumer};
use async_nats::HeaderMap;
use event_engine::zmq;
use futures_util::stream::StreamExt;
use log::debug;
use tokio::sync::{oneshot, watch};

use crate::bridge::Shared;
use crate::config::{DeliverFrom, Import, JetStream};
use crate::echo::Key;
use crate::id;
use crate::link::backoff;
use crate::sequence::{Seen, Sequences};
use crate::stats::add;

/// Most messages read and published at once (one lock of the sequences, one of the echo
/// records, per batch).
const BATCH: usize = 256;

/// What the NATS thread hands over once it has a client.
pub(crate) struct Connection {
    pub client: async_nats::Client,
    /// With JetStream: the context, the settings, and whether the stream is ready.
    pub jetstream: Option<(jetstream::Context, JetStream, watch::Receiver<bool>)>,
}

/// Runs the imports until the bridge stops or the bus goes away (`ETERM`).
///
/// `done` is dropped when it returns: the NATS thread waits for that before it closes the
/// connection, so that the last acknowledgements go out.
pub(crate) fn run(
    shared: Arc<Shared>,
    pub_socket: zmq::Socket,
    connection: oneshot::Receiver<Connection>,
    mut stop: watch::Receiver<bool>,
    done: oneshot::Sender<()>,
) -> Result<(), zmq::Error> {
    let _done = done;
    // Timers only (JetStream's heartbeats, back-off): the sockets are the NATS thread's. Without
    // an I/O driver the thread parks on a futex, which another thread wakes cheaply.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| {
            shared.counters.set_error(format!(
                "bridge {}: could not make the importer's runtime: {e}",
                shared.config.name
            ));
            zmq::Error::EFAULT
        })?;
    // The socket stays on this thread; every import task shares it.
    let bus = Rc::new(pub_socket);
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        // No connection: the NATS side failed, and says why.
        let Ok(connection) = connection.await else {
            return Ok(());
        };
        let seqs = Rc::new(Mutex::new(Sequences::default()));
        let mut tasks = tokio::task::JoinSet::new();
        for import in shared.config.imports.clone() {
            let (shared, bus, seqs) = (Arc::clone(&shared), Rc::clone(&bus), Rc::clone(&seqs));
            let client = connection.client.clone();
            let js = connection.jetstream.clone();
            tasks.spawn_local(async move {
                let out = Out {
                    shared: &shared,
                    bus: &bus,
                    seqs: &seqs,
                    import: &import,
                };
                match js {
                    None => out.core(&client).await,
                    Some((context, cfg, ready)) => out.jetstream(&context, &cfg, ready).await,
                }
            });
        }
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return Ok(()),
                done = tasks.join_next() => match done {
                    // An import ends only when the bus is gone.
                    Some(Ok(Err(e))) => return Err(e),
                    Some(_) => {}
                    None => return Ok(()),
                },
            }
        }
    })
}

/// One import and where its events go.
struct Out<'a> {
    shared: &'a Shared,
    bus: &'a zmq::Socket,
    seqs: &'a Mutex<Sequences>,
    import: &'a Import,
}

impl Out<'_> {
    async fn core(&self, client: &async_nats::Client) -> Result<(), zmq::Error> {
        let (shared, import) = (self.shared, self.import);
        let mut failures = 0;
        let sub = loop {
            match client.subscribe(import.subject.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    shared.counters.set_error(format!(
                        "bridge {}: subscribe {}: {e}",
                        shared.config.name, import.subject
                    ));
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
        };
        // The server has the subscription once a flush returns.
        let _ = client.flush().await;
        add(&shared.counters.imports_ready, 1);
        // Whatever messages are there, up to a batch, per wake-up.
        let mut chunks = sub.ready_chunks(BATCH);
        while let Some(messages) = chunks.next().await {
            let batch: Vec<zmq::Message> = {
                let mut held = None;
                messages
                    .iter()
                    .filter_map(|m| {
                        self.accept(&mut held, &m.subject, m.headers.as_ref(), &m.payload)
                    })
                    .collect()
            };
            self.publish(batch.into_iter().map(|e| (e, ())).collect())?;
        }
        Ok(())
    }

    async fn jetstream(
        &self,
        context: &jetstream::Context,
        cfg: &JetStream,
        mut ready: watch::Receiver<bool>,
    ) -> Result<(), zmq::Error> {
        let (shared, import) = (self.shared, self.import);
        let name = consumer_name(
            cfg.durable.as_deref().unwrap_or("event-engine"),
            &import.subject,
        );
        if ready.wait_for(|r| *r).await.is_err() {
            return Ok(());
        }
        let mut failures = 0;
        loop {
            let messages = async {
                let stream = context
                    .get_stream(&cfg.stream)
                    .await
                    .map_err(|e| e.to_string())?;
                let consumer: consumer::PullConsumer = stream
                    .get_or_create_consumer(
                        &name,
                        consumer::pull::Config {
                            durable_name: Some(name.clone()),
                            filter_subject: import.subject.clone(),
                            ack_policy: consumer::AckPolicy::Explicit,
                            ack_wait: cfg.ack_wait,
                            deliver_policy: match cfg.deliver {
                                DeliverFrom::All => consumer::DeliverPolicy::All,
                                DeliverFrom::New => consumer::DeliverPolicy::New,
                            },
                            max_ack_pending: shared.config.buffer.min(i64::MAX as usize) as i64,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                consumer.messages().await.map_err(|e| e.to_string())
            };
            let messages = match messages.await {
                Ok(m) => m,
                Err(e) => {
                    shared.counters.set_error(format!(
                        "bridge {}: consumer {name}: {e}",
                        shared.config.name
                    ));
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            };
            failures = 0;
            add(&shared.counters.imports_ready, 1);
            let mut chunks = messages.ready_chunks(BATCH);
            let mut ended = false;
            while let Some(next) = chunks.next().await {
                let mut batch = Vec::with_capacity(next.len());
                let mut skipped = Vec::new();
                {
                    let mut held = None;
                    for m in next {
                        let m = match m {
                            Ok(m) => m,
                            Err(e) => {
                                use consumer::pull::MessagesErrorKind as K;
                                debug!("bridge {}: consumer {name}: {e}", shared.config.name);
                                if matches!(
                                    e.kind(),
                                    K::ConsumerDeleted | K::NoResponders | K::PushBasedConsumer
                                ) {
                                    ended = true;
                                }
                                continue;
                            }
                        };
                        let (m, acker) = m.split();
                        match self.accept(&mut held, &m.subject, m.headers.as_ref(), &m.payload) {
                            Some(event) => batch.push((event, acker)),
                            None => skipped.push(acker),
                        }
                    }
                }
                // What was skipped (its own, already imported) is done with.
                for acker in skipped {
                    let _ = acker.ack().await;
                }
                let on_bus = self.publish(batch)?;
                // On the bus: acknowledged (a failed acknowledgement means a redelivery, which
                // the sequence numbers drop).
                for acker in on_bus {
                    if let Err(e) = acker.ack().await {
                        debug!("acknowledgement failed: {e}");
                    }
                }
                if ended {
                    break;
                }
            }
            shared
                .counters
                .imports_ready
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            failures += 1;
            tokio::time::sleep(backoff(failures)).await;
        }
    }

    /// What to do with a message: `Some(event)` to publish on the bus. The sequences are
    /// locked on the first message that needs them and stay locked for the rest of the batch.
    fn accept<'s>(
        &'s self,
        held: &mut Option<std::sync::MutexGuard<'s, Sequences>>,
        subject: &str,
        headers: Option<&HeaderMap>,
        payload: &[u8],
    ) -> Option<zmq::Message> {
        let c = &self.shared.counters;
        if let Some((origin, run, seq)) = headers.and_then(id::read) {
            if origin == self.shared.origin {
                add(&c.import_own, 1);
                return None;
            }
            if held.is_none() {
                *held = self.seqs.lock().ok();
            }
            let seen = held
                .as_mut()
                .map(|s| s.see(origin, run, subject, seq))
                .unwrap_or(Seen::New { skipped: 0 });
            match seen {
                Seen::Duplicate => {
                    add(&c.import_duplicates, 1);
                    return None;
                }
                Seen::New { skipped } => add(&c.import_lost, skipped),
                Seen::Late { counted: false } => {}
                Seen::Late { counted: true } => {
                    let _ = c.import_lost.fetch_update(
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                        |v| Some(v.saturating_sub(1)),
                    );
                }
            }
        }
        // One allocation and one copy: the payload goes straight into a ZeroMQ message.
        let prefix = &self.import.prefix;
        if prefix.is_empty() {
            return Some(zmq::Message::from(payload));
        }
        let mut event = Vec::with_capacity(prefix.len() + payload.len());
        event.extend_from_slice(prefix);
        event.extend_from_slice(payload);
        Some(zmq::Message::from(event))
    }

    /// Publishes a batch of events on the bus, waiting when the bus is full, and returns what
    /// goes with each of them (their acknowledgements).
    fn publish<T>(&self, events: Vec<(zmq::Message, T)>) -> Result<Vec<T>, zmq::Error> {
        let shared = self.shared;
        // The events the bus hands back to the bridge are recorded before they are published,
        // so that no echo can overtake its record.
        let keys: Vec<Option<Key>> = events
            .iter()
            .map(|(e, _)| shared.comes_back(e).then(|| shared.imported.key(e)))
            .collect();
        let recorded: Vec<Key> = keys.iter().flatten().copied().collect();
        shared.imported.record(&recorded);
        let mut done = Vec::with_capacity(events.len());
        for (sent, (event, after)) in events.into_iter().enumerate() {
            if let Err(e) = self.bus.send(event, 0) {
                // Not published after all: forget the records of this event and the rest.
                let unsent: Vec<Key> = keys[sent..].iter().flatten().copied().collect();
                shared.imported.forget(&unsent);
                debug!("importer stopped: {e}");
                return Err(e);
            }
            add(&shared.counters.imported, 1);
            done.push(after);
        }
        Ok(done)
    }
}

/// The durable consumer of one import: `<durable>_<subject, '.' '*' '>' spelled out>`.
fn consumer_name(durable: &str, subject: &str) -> String {
    let tail: String = subject
        .split('.')
        .map(|t| match t {
            "*" => "any".to_string(),
            ">" => "all".to_string(),
            t => t
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        })
        .collect::<Vec<_>>()
        .join("_");
    format!("{durable}_{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_names() {
        assert_eq!(consumer_name("site1", "traps.*.cmd"), "site1_traps_any_cmd");
        assert_eq!(consumer_name("site1", "traps.>"), "site1_traps_all");
    }
}
