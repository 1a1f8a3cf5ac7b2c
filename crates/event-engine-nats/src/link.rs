//! The NATS side of a bridge: a tokio runtime on the bridge's own thread, with the connection
//! (which reads and parses whatever the server sends, for the importer thread too), the
//! JetStream stream's set-up and the export publisher.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_nats::{ConnectOptions, Event};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use log::{debug, info, warn};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::bridge::Shared;
use crate::config::{Auth, Delivery, JetStream};
use crate::id::Stamp;
use crate::import;
use crate::stats::{add, State};

/// JetStream publishes awaiting their acknowledgement at once.
const MAX_IN_FLIGHT: usize = 1024;
/// Core NATS publishes counted and given back to the budget at once.
const RELEASE_EVERY: usize = 256;
/// Longest pause between two attempts after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// An event to export: which export, and its bytes.
pub(crate) struct Outgoing {
    pub export: usize,
    pub data: Bytes,
}

pub(crate) struct Channels {
    pub exports: mpsc::UnboundedReceiver<Vec<Outgoing>>,
    /// Where the client goes once there is one: the importer thread.
    pub importer: oneshot::Sender<import::Connection>,
    /// Closed when the importer thread has stopped.
    pub importer_done: oneshot::Receiver<()>,
    /// Becomes true when the bridge stops: drain the exports, stop importing.
    pub stop: watch::Receiver<bool>,
}

/// Runs the NATS side until the bridge stops and its exports are drained.
pub(crate) fn run(shared: Arc<Shared>, channels: Channels) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not make the tokio runtime: {e}"))?;
    rt.block_on(main(shared, channels))
}

pub(crate) fn backoff(failures: u32) -> Duration {
    let ms = 50u64.saturating_mul(1 << failures.min(8));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

async fn connect(
    shared: &Arc<Shared>,
    connected: watch::Sender<bool>,
) -> Result<async_nats::Client, String> {
    let c = &shared.config;
    let mut options = match &c.auth {
        Auth::None => ConnectOptions::new(),
        Auth::Token(t) => ConnectOptions::with_token(t.clone()),
        Auth::UserPassword(u, p) => ConnectOptions::with_user_and_password(u.clone(), p.clone()),
        Auth::NKey(seed) => ConnectOptions::with_nkey(seed.clone()),
        Auth::CredentialsFile(path) => ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| format!("credentials file {}: {e}", path.display()))?,
    };
    if c.tls.required {
        options = options.require_tls(true);
    }
    for ca in &c.tls.ca_files {
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &c.tls.client_cert {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let events = Arc::clone(shared);
    let ever_connected = Arc::new(std::sync::atomic::AtomicBool::new(false));
    options = options
        .name(format!("event-engine bridge {}", c.name))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(c.request_timeout)
        .request_timeout(Some(c.request_timeout))
        .subscription_capacity(c.buffer.max(1024))
        .reconnect_delay_callback(|attempts| backoff(attempts.min(32) as u32))
        .event_callback(move |event| {
            let shared = Arc::clone(&events);
            let connected = connected.clone();
            let ever = Arc::clone(&ever_connected);
            async move {
                let c = &shared.counters;
                match event {
                    Event::Connected => {
                        if ever.swap(true, std::sync::atomic::Ordering::SeqCst) {
                            add(&c.reconnects, 1);
                        }
                        if c.state() != State::Draining {
                            c.set_state(State::Connected);
                        }
                        info!("bridge {}: connected to NATS", shared.config.name);
                        let _ = connected.send(true);
                    }
                    Event::Disconnected => {
                        if c.state() != State::Draining {
                            c.set_state(State::Reconnecting);
                        }
                        warn!(
                            "bridge {}: disconnected from NATS; reconnecting",
                            shared.config.name
                        );
                        let _ = connected.send(false);
                    }
                    Event::SlowConsumer(_) => add(&c.import_slow_consumer, 1),
                    Event::ServerError(e) => c.set_error(format!(
                        "bridge {}: NATS server error: {e}",
                        shared.config.name
                    )),
                    Event::ClientError(e) => c.set_error(format!(
                        "bridge {}: NATS client error: {e}",
                        shared.config.name
                    )),
                    other => debug!("bridge {}: {other}", shared.config.name),
                }
            }
        });
    options
        .connect(shared.config.server_list())
        .await
        .map_err(|e| format!("connecting to {:?}: {e}", shared.config.server_list()))
}

async fn main(shared: Arc<Shared>, channels: Channels) -> Result<(), String> {
    let Channels {
        exports,
        importer,
        importer_done,
        stop,
    } = channels;
    let (connected_tx, connected) = watch::channel(false);
    let client = match connect(&shared, connected_tx).await {
        Ok(c) => c,
        Err(e) => {
            shared
                .counters
                .set_error(format!("bridge {}: {e}", shared.config.name));
            return Err(e);
        }
    };
    let js = match &shared.config.delivery {
        Delivery::Core => None,
        Delivery::JetStream(cfg) => {
            let builder = jetstream::context::ContextBuilder::new();
            let context = match &cfg.domain {
                Some(d) => builder
                    .domain(d.as_str())
                    .timeout(shared.config.request_timeout),
                None => builder.timeout(shared.config.request_timeout),
            }
            .build(client.clone());
            Some((context, cfg.clone()))
        }
    };
    // The stream must exist before imports can make consumers; exports just retry meanwhile.
    let (ready_tx, ready) = watch::channel(js.is_none());
    if let Some((context, cfg)) = &js {
        let (shared, context, cfg, mut stop) = (
            Arc::clone(&shared),
            context.clone(),
            cfg.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut failures = 0;
            loop {
                match ensure_stream(&shared, &context, &cfg).await {
                    Ok(()) => {
                        let _ = ready_tx.send(true);
                        return;
                    }
                    Err(e) => {
                        shared.counters.set_error(format!(
                            "bridge {}: stream {}: {e}",
                            shared.config.name, cfg.stream
                        ));
                        failures += 1;
                        tokio::select! {
                            _ = tokio::time::sleep(backoff(failures)) => {}
                            _ = stop.changed() => return,
                        }
                    }
                }
            }
        });
    }
    let _ = importer.send(import::Connection {
        client: client.clone(),
        jetstream: js
            .as_ref()
            .map(|(context, cfg)| (context.clone(), cfg.clone(), ready.clone())),
    });

    export(
        &shared,
        &client,
        js.map(|(c, _)| c),
        exports,
        stop,
        connected,
    )
    .await;

    // Stopping: the importer thread stops too (the bus is gone); then the acknowledgements of
    // what reached the bus go out.
    let _ = tokio::time::timeout(Duration::from_secs(2), importer_done).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    Ok(())
}

async fn ensure_stream(
    shared: &Shared,
    context: &jetstream::Context,
    cfg: &JetStream,
) -> Result<(), String> {
    match context.get_stream(&cfg.stream).await {
        Ok(_) => Ok(()),
        Err(e) if !cfg.create => Err(format!("not usable ({e}); create = false")),
        Err(e) => {
            debug!("stream {} not found ({e}); creating it", cfg.stream);
            let config = stream::Config {
                name: cfg.stream.clone(),
                subjects: shared.config.stream_subjects(cfg),
                num_replicas: cfg.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            };
            context
                .get_or_create_stream(config)
                .await
                .map(|_| info!("bridge {}: stream {} ready", shared.config.name, cfg.stream))
                .map_err(|e| e.to_string())
        }
    }
}

/// An exported event on its way: its headers are made when it is published (and again when
/// it is published again), from its numbers.
struct Pending {
    export: usize,
    data: Bytes,
    /// Its number on its subject in this run (in its `Ee-Id`).
    seq: u64,
    /// Its number in this run: its JetStream message id is `<run>-<id>`.
    id: u64,
}

/// Publishes the exported events: in order while nothing fails; JetStream publishes are
/// pipelined (up to [`MAX_IN_FLIGHT`] unacknowledged) and retried with their message id.
async fn export(
    shared: &Shared,
    client: &async_nats::Client,
    js: Option<jetstream::Context>,
    mut rx: mpsc::UnboundedReceiver<Vec<Outgoing>>,
    mut stop: watch::Receiver<bool>,
    mut connected: watch::Receiver<bool>,
) {
    let c = &shared.counters;
    let subjects: Vec<async_nats::Subject> = shared
        .config
        .exports
        .iter()
        .map(|e| shared.config.export_subject(e).into())
        .collect();
    // Short: it goes on every message; importers key sequences by origin and run.
    let run = event_engine::uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let stamp = Stamp::new(&shared.origin, &run);
    let mut seqs = vec![0u64; subjects.len()];
    let mut next_id = 0u64;
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let mut received: Vec<Vec<Outgoing>> = Vec::with_capacity(64);
    let mut open = true;
    let mut deadline: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        if deadline.is_none() && *stop.borrow() {
            deadline = Some(Instant::now() + shared.config.drain_timeout);
            c.set_state(State::Draining);
        }
        if !open && queue.is_empty() && in_flight.is_empty() {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let may_send = *connected.borrow() && retry_at.is_none_or(|t| Instant::now() >= t);
        if may_send {
            retry_at = None;
            match &js {
                None => {
                    // Counted and given back to the budget in runs, not one by one.
                    let mut done = 0usize;
                    while let Some(p) = queue.pop_front() {
                        let subject = subjects[p.export].clone();
                        match client
                            .publish_with_headers(subject, stamp.headers(p.seq), p.data.clone())
                            .await
                        {
                            Ok(()) => {
                                done += 1;
                                failures = 0;
                                if done == RELEASE_EVERY {
                                    add(&c.exported, done as u64);
                                    shared.budget.release(done);
                                    done = 0;
                                }
                            }
                            Err(e)
                                if e.kind()
                                    == async_nats::client::PublishErrorKind::MaxPayloadExceeded =>
                            {
                                too_large(shared, &p, &e);
                            }
                            Err(e) => {
                                add(&c.export_retries, 1);
                                c.set_error(format!("bridge {}: publish: {e}", shared.config.name));
                                queue.push_front(p);
                                failures += 1;
                                retry_at = Some(Instant::now() + backoff(failures));
                                break;
                            }
                        }
                    }
                    add(&c.exported, done as u64);
                    shared.budget.release(done);
                }
                Some(context) => {
                    while in_flight.len() < MAX_IN_FLIGHT {
                        let Some(p) = queue.pop_front() else { break };
                        let subject = subjects[p.export].clone();
                        let publish = PublishMessage::build()
                            .payload(p.data.clone())
                            .headers(stamp.headers(p.seq))
                            .message_id(format!("{run}-{}", p.id));
                        match context.send_publish(subject, publish).await {
                            Ok(ack) => in_flight.push(async move { (p, ack.await) }),
                            Err(e)
                                if e.kind()
                                    == jetstream::context::PublishErrorKind::MaxPayloadExceeded =>
                            {
                                too_large(shared, &p, &e);
                            }
                            Err(e) => {
                                add(&c.export_retries, 1);
                                c.set_error(format!("bridge {}: publish: {e}", shared.config.name));
                                queue.push_front(p);
                                failures += 1;
                                retry_at = Some(Instant::now() + backoff(failures));
                                break;
                            }
                        }
                    }
                }
            }
        }
        let wake_at = match (retry_at, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            n = rx.recv_many(&mut received, 64), if open => {
                if n == 0 {
                    open = false;
                }
                for o in received.drain(..).flatten() {
                    seqs[o.export] += 1;
                    next_id += 1;
                    queue.push_back(Pending {
                        export: o.export,
                        data: o.data,
                        seq: seqs[o.export],
                        id: next_id,
                    });
                }
            }
            Some((p, result)) = in_flight.next(), if !in_flight.is_empty() => {
                match result {
                    Ok(ack) => {
                        add(&c.exported, 1);
                        if ack.duplicate {
                            add(&c.export_duplicates, 1);
                        }
                        shared.budget.release(1);
                        failures = 0;
                    }
                    Err(e) => {
                        add(&c.export_retries, 1);
                        c.set_error(format!("bridge {}: publish acknowledgement: {e}", shared.config.name));
                        queue.push_front(p);
                        failures += 1;
                        retry_at = Some(Instant::now() + backoff(failures));
                    }
                }
            }
            _ = connected.changed() => {}
            _ = stop.changed(), if deadline.is_none() => {}
            _ = sleep_until(wake_at), if wake_at.is_some() => {}
        }
    }
    let mut unsent = queue.len() + in_flight.len();
    rx.close();
    while let Ok(batch) = rx.try_recv() {
        unsent += batch.len();
    }
    if unsent > 0 {
        warn!(
            "bridge {}: {unsent} exported event(s) not confirmed by NATS when the drain time ran out",
            shared.config.name
        );
        add(&c.export_unsent, unsent as u64);
        shared.budget.release(unsent);
    }
}

/// An event the server will never take: retrying would stall the bridge and then the bus, so
/// it is dropped, counted and said why.
fn too_large(shared: &Shared, p: &Pending, e: &dyn std::fmt::Display) {
    add(&shared.counters.export_too_large, 1);
    shared.counters.set_error(format!(
        "bridge {}: an event of {} bytes was dropped, larger than the server takes ({e}; \
         nats-server's max_payload, 1 MB by default)",
        shared.config.name,
        p.data.len()
    ));
    shared.budget.release(1);
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
