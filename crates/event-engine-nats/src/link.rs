//! The NATS side of a bridge: a tokio runtime on the bridge's own thread, with the connection,
//! the export publisher, the import subscribers or consumers, and the acknowledgements.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, message::Acker, message::PublishMessage, stream};
use async_nats::{ConnectOptions, Event, HeaderMap};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use log::{debug, info, warn};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::bridge::Shared;
use crate::config::{Auth, DeliverFrom, Delivery, Import, JetStream};
use crate::headers;
use crate::sequence::{Seen, Sequences};
use crate::stats::{add, State};

/// JetStream publishes awaiting their acknowledgement at once.
const MAX_IN_FLIGHT: usize = 1024;
/// Longest pause between two attempts after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// An event to export: which export, and its bytes.
pub(crate) struct Outgoing {
    pub export: usize,
    pub data: Bytes,
}

/// An imported event for the bus, with its JetStream acknowledgement.
pub(crate) struct Incoming {
    pub data: Vec<u8>,
    pub acker: Option<Acker>,
}

pub(crate) struct Channels {
    pub exports: mpsc::UnboundedReceiver<Outgoing>,
    pub imports: mpsc::Sender<Incoming>,
    pub acks: mpsc::UnboundedReceiver<Acker>,
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

fn backoff(failures: u32) -> Duration {
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
        imports,
        acks,
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
    let sequences = Arc::new(Mutex::new(Sequences::default()));
    let mut import_tasks = Vec::new();
    for import in shared.config.imports.clone() {
        let (shared, client, js, tx, seqs, ready) = (
            Arc::clone(&shared),
            client.clone(),
            js.clone(),
            imports.clone(),
            Arc::clone(&sequences),
            ready.clone(),
        );
        import_tasks.push(tokio::spawn(async move {
            match js {
                None => import_core(&shared, &client, &import, tx, &seqs).await,
                Some((context, cfg)) => {
                    import_jetstream(&shared, &context, &cfg, &import, tx, &seqs, ready).await
                }
            }
        }));
    }
    drop(imports);
    let ack_task = tokio::spawn(ack_loop(acks));

    export(
        &shared,
        &client,
        js.map(|(c, _)| c),
        exports,
        stop,
        connected,
    )
    .await;

    // Stopping: no more imports (the bus is gone); acknowledge what reached it.
    for t in &import_tasks {
        t.abort();
    }
    for t in import_tasks {
        let _ = t.await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ack_task).await;
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

struct Pending {
    export: usize,
    data: Bytes,
    headers: HeaderMap,
    id: String,
}

/// Publishes the exported events: in order while nothing fails; JetStream publishes are
/// pipelined (up to [`MAX_IN_FLIGHT`] unacknowledged) and retried with their message id.
async fn export(
    shared: &Shared,
    client: &async_nats::Client,
    js: Option<jetstream::Context>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
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
    let mut seqs = vec![0u64; subjects.len()];
    let mut next_id = 0u64;
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let mut received = Vec::with_capacity(1024);
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
                    while let Some(p) = queue.pop_front() {
                        let subject = subjects[p.export].clone();
                        match client
                            .publish_with_headers(subject, p.headers.clone(), p.data.clone())
                            .await
                        {
                            Ok(()) => {
                                add(&c.exported, 1);
                                shared.budget.release(1);
                                failures = 0;
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
                Some(context) => {
                    while in_flight.len() < MAX_IN_FLIGHT {
                        let Some(p) = queue.pop_front() else { break };
                        let subject = subjects[p.export].clone();
                        let publish = PublishMessage::build()
                            .payload(p.data.clone())
                            .headers(p.headers.clone())
                            .message_id(&p.id);
                        match context.send_publish(subject, publish).await {
                            Ok(ack) => in_flight.push(async move { (p, ack.await) }),
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
            n = rx.recv_many(&mut received, 1024), if open => {
                if n == 0 {
                    open = false;
                }
                for o in received.drain(..) {
                    seqs[o.export] += 1;
                    next_id += 1;
                    let mut h = HeaderMap::new();
                    h.insert(headers::ORIGIN, shared.origin.as_str());
                    h.insert(headers::RUN, run.as_str());
                    h.insert(headers::SEQ, seqs[o.export].to_string().as_str());
                    queue.push_back(Pending {
                        export: o.export,
                        data: o.data,
                        headers: h,
                        id: format!("{run}-{next_id}"),
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
    while rx.try_recv().is_ok() {
        unsent += 1;
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

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// What to do with a message: `Some(event)` to publish on the bus.
fn accept(
    shared: &Shared,
    seqs: &Mutex<Sequences>,
    import: &Import,
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let c = &shared.counters;
    if let Some(h) = headers {
        if h.get(headers::ORIGIN).map(|v| v.as_str()) == Some(shared.origin.as_str()) {
            add(&c.import_own, 1);
            return None;
        }
        let origin = h.get(headers::ORIGIN).map(|v| v.as_str()).unwrap_or("");
        let run = h
            .get(headers::RUN)
            .map(|v| format!("{origin}/{}", v.as_str()));
        let seq = h
            .get(headers::SEQ)
            .and_then(|v| v.as_str().parse::<u64>().ok());
        if let (Some(run), Some(seq)) = (run, seq) {
            let seen = seqs
                .lock()
                .map(|mut s| s.see(&run, subject, seq))
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
    }
    let mut event = Vec::with_capacity(import.prefix.len() + payload.len());
    event.extend_from_slice(&import.prefix);
    event.extend_from_slice(payload);
    Some(event)
}

async fn import_core(
    shared: &Shared,
    client: &async_nats::Client,
    import: &Import,
    tx: mpsc::Sender<Incoming>,
    seqs: &Mutex<Sequences>,
) {
    let mut failures = 0;
    let mut sub = loop {
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
    while let Some(m) = sub.next().await {
        if let Some(data) = accept(
            shared,
            seqs,
            import,
            &m.subject,
            m.headers.as_ref(),
            &m.payload,
        ) {
            if tx.send(Incoming { data, acker: None }).await.is_err() {
                return;
            }
        }
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

async fn import_jetstream(
    shared: &Shared,
    context: &jetstream::Context,
    cfg: &JetStream,
    import: &Import,
    tx: mpsc::Sender<Incoming>,
    seqs: &Mutex<Sequences>,
    mut ready: watch::Receiver<bool>,
) {
    let name = consumer_name(
        cfg.durable.as_deref().unwrap_or("event-engine"),
        &import.subject,
    );
    if ready.wait_for(|r| *r).await.is_err() {
        return;
    }
    let mut failures = 0;
    loop {
        let consumer = async {
            let stream = context
                .get_stream(&cfg.stream)
                .await
                .map_err(|e| e.to_string())?;
            stream
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
                .map_err(|e| e.to_string())
        };
        let consumer: consumer::PullConsumer = match consumer.await {
            Ok(c) => c,
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
        let mut messages = match consumer.messages().await {
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
        while let Some(next) = messages.next().await {
            let m = match next {
                Ok(m) => m,
                Err(e) => {
                    use consumer::pull::MessagesErrorKind as K;
                    debug!("bridge {}: consumer {name}: {e}", shared.config.name);
                    match e.kind() {
                        K::ConsumerDeleted | K::NoResponders | K::PushBasedConsumer => break,
                        _ => continue,
                    }
                }
            };
            let (m, acker) = m.split();
            match accept(
                shared,
                seqs,
                import,
                &m.subject,
                m.headers.as_ref(),
                &m.payload,
            ) {
                Some(data) => {
                    if tx
                        .send(Incoming {
                            data,
                            acker: Some(acker),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                None => {
                    let _ = acker.ack().await;
                }
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

async fn ack_loop(mut acks: mpsc::UnboundedReceiver<Acker>) {
    while let Some(a) = acks.recv().await {
        if let Err(e) = a.ack().await {
            // Not fatal: the server sends the message again and the sequence check drops it.
            debug!("acknowledgement failed: {e}");
        }
    }
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
