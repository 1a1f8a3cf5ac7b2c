//! One external plugin over loopback TCP: protocol v1 (one round trip per event) and v2
//! (batches), beside a raw ZeroMQ SUB socket reading the engine's TCP subscribe port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{zmq, App, TcpSubscribers};
use event_engine_client::Client;

use crate::flows;

const SIZE: usize = 100;

/// A producer of `n` "Out" events of 100 B; it first sends probes until `go` is set (when a
/// reader must be known to be subscribed).
fn producer(n: u64, go: Option<Arc<AtomicBool>>) -> FnPlugin {
    FnPlugin::new("producer", move |pub_socket, _| {
        if let Some(go) = &go {
            while !go.load(Ordering::SeqCst) {
                pub_socket.send(&b"Outprobe"[..], 0)?;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        for i in 0..n {
            pub_socket.send(flows::event(b"Out", i, SIZE), 0)?;
        }
        Ok(())
    })
}

/// A raw SUB socket on the engine's TCP subscribe port (lossless mode: the bus waits for it).
pub fn raw_sub(n: u64) -> (Duration, u64) {
    let go = Arc::new(AtomicBool::new(false));
    let app = App::new(0, 0)
        .tcp_subscribers(TcpSubscribers::Block)
        .with_plugin(producer(n, Some(Arc::clone(&go))))
        .start()
        .expect("engine");
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).expect("sub");
    sub.set_rcvhwm(0).expect("hwm");
    sub.connect(app.subscribe_endpoint()).expect("connect");
    sub.set_subscribe(b"Out").expect("subscribe");
    // Wait for a probe: the subscription is in place.
    loop {
        let m = sub.recv_msg(0).expect("recv");
        if m.starts_with(b"Outprobe") {
            break;
        }
    }
    go.store(true, Ordering::SeqCst);
    let mut got = 0;
    let mut start = None;
    while got < n {
        let m = sub.recv_msg(0).expect("recv");
        if !m.starts_with(b"Outprobe") {
            start.get_or_insert_with(Instant::now);
            got += 1;
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    app.wait().expect("engine").result().expect("plugins");
    (elapsed, n - got)
}

/// How the bench plugin's port authenticates its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (0.2).
    None,
    /// A token (ZAP PLAIN).
    Token,
    /// CURVE keys (encrypted; the CURVE build only).
    Curve,
}

fn external_app(
    producer_n: u64,
    consumer_n: u64,
    token: Option<&str>,
) -> (event_engine::RunningApp, u16, Arc<Mutex<Option<Instant>>>) {
    external_app_with(producer_n, consumer_n, token, None)
}

fn external_app_with(
    producer_n: u64,
    consumer_n: u64,
    token: Option<&str>,
    curve: Option<(&event_engine::auth::CurveKeys, &str)>,
) -> (event_engine::RunningApp, u16, Arc<Mutex<Option<Instant>>>) {
    let done: Arc<Mutex<Option<Instant>>> = Arc::default();
    let d = Arc::clone(&done);
    let consumer = FnPlugin::new("consumer", move |_, sub| {
        for _ in 0..consumer_n {
            sub.recv_msg(0)?;
        }
        if let Ok(mut g) = d.lock() {
            *g = Some(Instant::now());
        }
        Ok(())
    })
    .subscribe(Filter::new("In"));
    let mut plugin = ExternalPluginSpec::new("bench", 0).subscribe(Filter::new("Out"));
    if let Some(t) = token {
        plugin = plugin.with_token(t);
    }
    let mut config = event_engine::EngineConfig::new(0, 0);
    if let Some((engine, plugin_public)) = curve {
        config.curve_keys = Some(engine.clone());
        plugin = plugin.with_curve_public_key(plugin_public);
    }
    let app = App::with_config(config)
        .with_plugin(producer(producer_n, None))
        .with_plugin(consumer)
        .with_external_plugin(plugin)
        .start()
        .expect("engine");
    let port = app.external_port("bench").expect("port");
    (app, port, done)
}

fn req(port: u16) -> (zmq::Context, zmq::Socket) {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REQ).expect("req");
    s.connect(&format!("tcp://127.0.0.1:{port}"))
        .expect("connect");
    (ctx, s)
}

/// v1: `next_msg`, one event per round trip.
pub fn v1_out(n: u64) -> (Duration, u64) {
    let (app, port, _) = external_app(n, 0, None);
    let (_ctx, s) = req(port);
    let start = Instant::now();
    for _ in 0..n {
        s.send("plugin_command: next_msg", 0).expect("send");
        s.recv_msg(0).expect("recv");
    }
    let elapsed = start.elapsed();
    s.send("plugin_command: quit", 0).expect("quit");
    s.recv_msg(0).expect("bye");
    app.wait().expect("engine").result().expect("plugins");
    (elapsed, 0)
}

/// v2: `recv max=1000`, through the shared client; the plugin's port authenticates as `auth`
/// says (a token: ZAP PLAIN; CURVE: keys, encrypted) and the client presents the credential.
pub fn v2_out(n: u64, batch: usize, auth: Auth) -> (Duration, u64) {
    let token = (auth == Auth::Token).then(|| event_engine::auth::new_token().expect("token"));
    let keys = (auth == Auth::Curve).then(|| {
        let engine = event_engine::auth::CurveKeys::generate().expect("CURVE keys");
        let plugin = event_engine::auth::CurveKeys::generate().expect("CURVE keys");
        (engine, plugin)
    });
    let (app, port, _) = external_app_with(
        n,
        0,
        token.as_deref(),
        keys.as_ref().map(|(e, p)| (e, p.public_key())),
    );
    let options = event_engine_client::ClientOptions {
        token: token.map(|t| event_engine_client::Token::new(t).expect("token")),
        curve: keys.as_ref().map(|(e, p)| {
            event_engine_client::Curve::new(e.public_key(), p.secret_key()).expect("CURVE keys")
        }),
        ..Default::default()
    };
    let mut c = Client::connect_port_with("127.0.0.1", port, options).expect("client");
    let mut got = 0;
    let start = Instant::now();
    while got < n {
        got += c
            .next_batch(batch, Some(Duration::from_secs(30)))
            .expect("next_batch")
            .len() as u64;
    }
    let elapsed = start.elapsed();
    c.quit().expect("quit");
    app.wait().expect("engine").result().expect("plugins");
    (elapsed, n - got.min(n))
}

/// v1: one published event per round trip, until an internal consumer has them all.
pub fn v1_in(n: u64) -> (Duration, u64) {
    let (app, port, done) = external_app(0, n, None);
    let (_ctx, s) = req(port);
    let start = Instant::now();
    for i in 0..n {
        s.send(flows::event(b"In", i, SIZE), 0).expect("send");
        s.recv_msg(0).expect("recv");
    }
    s.send("plugin_command: quit", 0).expect("quit");
    s.recv_msg(0).expect("bye");
    app.wait().expect("engine").result().expect("plugins");
    let end = done.lock().ok().and_then(|g| *g).expect("consumer done");
    (end - start, 0)
}

/// v2: `publish` batches through the shared client.
pub fn v2_in(n: u64, batch: u64) -> (Duration, u64) {
    let (app, port, done) = external_app(0, n, None);
    let mut c = Client::connect_port("127.0.0.1", port).expect("client");
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        let k = batch.min(n - sent);
        let events: Vec<Vec<u8>> = (sent..sent + k)
            .map(|i| flows::event(b"In", i, SIZE))
            .collect();
        c.publish_batch(&events).expect("publish");
        sent += k;
    }
    c.quit().expect("quit");
    app.wait().expect("engine").result().expect("plugins");
    let end = done.lock().ok().and_then(|g| *g).expect("consumer done");
    (end - start, 0)
}

/// The transport's own round-trip limit: raw REQ -> REP echo over loopback TCP, no engine.
pub fn raw_reqrep(n: u64) -> (Duration, u64) {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).expect("rep");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = rep
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8 endpoint");
    let server = std::thread::spawn(move || {
        for _ in 0..n {
            let m = rep.recv_msg(0).expect("recv");
            rep.send(m, 0).expect("send");
        }
    });
    let req = ctx.socket(zmq::REQ).expect("req");
    req.connect(&endpoint).expect("connect");
    let event = flows::event(b"Out", 0, SIZE);
    let start = Instant::now();
    for _ in 0..n {
        req.send(&event[..], 0).expect("send");
        req.recv_msg(0).expect("recv");
    }
    let elapsed = start.elapsed();
    server.join().expect("server");
    (elapsed, 0)
}
