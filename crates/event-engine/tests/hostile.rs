//! Clients that misbehave (issue "No client can crash, wedge or starve the engine"): each attack
//! that once crashed, wedged or starved the engine, as a test bounded in time, and a socket-level
//! fuzz run beside a well-behaved pair that must lose nothing.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{App, EngineConfig};
use event_engine_client::{Client, ClientOptions};

use common::{text, ReqClient, DEADLINE};

fn options() -> ClientOptions {
    ClientOptions {
        reply_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

fn dealer(ctx: &zmq::Context, port: u16) -> zmq::Socket {
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.set_sndhwm(0).unwrap();
    d.set_linger(0).unwrap();
    d.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    d
}

/// Finding 1 and 2: a DEALER sends requests and never reads the replies, then leaves. On libzmq
/// 4.3.4 with heartbeats this aborted the process ("!_io_error"); with blocking replies the
/// plugin answered nobody else and never saw its `quit`.
#[test]
fn a_client_that_never_reads_its_replies_neither_aborts_nor_wedges_the_plugin() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("victim", 0).subscribe(Filter::new("A")))
        .start()
        .unwrap();
    let port = app.external_port("victim").unwrap();
    let ctx = zmq::Context::new();
    let flood = dealer(&ctx, port);
    for _ in 0..30_000 {
        flood
            .send_multipart([&b""[..], b"plugin_command: hello"], 0)
            .unwrap();
    }
    // Another client is served meanwhile, and sees the flooding connection dropped.
    let mut c = Client::connect_port_with("127.0.0.1", port, options()).unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let stats = c.stats().unwrap();
        if stats.dropped_connections >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the flood was never dropped");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(flood);
    // Past two heartbeat intervals of the old settings: the engine is still there.
    std::thread::sleep(Duration::from_millis(2500));
    c.hello().unwrap();
    c.quit().unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert!(
        report.plugins[0]
            .stats
            .as_ref()
            .unwrap()
            .dropped_connections
            >= 1
    );
}

/// Finding 7: a plugin that stops reading delays no event that is not for it.
#[test]
fn a_stuck_plugin_delays_no_event_that_is_not_for_it() {
    const N: u64 = 50_000;
    let done = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&done);
    let stuck_producer = FnPlugin::new("stuck-producer", move |pub_socket, _| {
        pub_socket.set_sndtimeo(50)?;
        let mut i = 0u64;
        while !d.load(Ordering::SeqCst) {
            match pub_socket.send(format!("Stuck{i}").as_bytes(), 0) {
                Ok(()) => i += 1,
                Err(zmq::Error::EAGAIN) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    });
    let d = Arc::clone(&done);
    let stuck = FnPlugin::new("stuck", move |_, sub| {
        sub.recv_bytes(0)?;
        while !d.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    })
    .subscribe(Filter::new("Stuck"));
    let producer = FnPlugin::new("producer", |pub_socket, _| {
        for i in 0..N {
            pub_socket.send(format!("Free{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let d = Arc::clone(&done);
    let consumer = FnPlugin::new("consumer", move |_, sub| {
        sub.set_rcvtimeo(DEADLINE.as_millis() as i32)?;
        for i in 0..N {
            assert_eq!(sub.recv_bytes(0)?, format!("Free{i}").into_bytes());
        }
        d.store(true, Ordering::SeqCst);
        Ok(())
    })
    .subscribe(Filter::new("Free"));
    let config = EngineConfig {
        buffer_limit: 1000,
        ..EngineConfig::new(0, 0)
    };
    let report = App::with_config(config)
        .with_plugin(stuck_producer)
        .with_plugin(stuck)
        .with_plugin(producer)
        .with_plugin(consumer)
        .run_with_report()
        .unwrap();
    report.result().unwrap();
}

/// Finding 3: one event is one single-frame message. A multi-part message on the raw publish
/// port (or from a plugin) and an empty event are refused and counted, not split into events.
#[test]
fn multi_part_and_empty_messages_are_refused_and_counted() {
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    let collector = FnPlugin::new("collector", move |_, sub| {
        sub.set_rcvtimeo(DEADLINE.as_millis() as i32)?;
        loop {
            let e = sub.recv_bytes(0)?;
            let last = e == b"Legit-last";
            g.lock().unwrap().push(e);
            if last {
                return Ok(());
            }
        }
    })
    .subscribe(Filter::new("Legit"));
    let internal = FnPlugin::new("multi", |pub_socket, _| {
        pub_socket.send_multipart([&b"Legit-from-plugin"[..], b"Secret"], 0)?;
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(collector)
        .with_plugin(internal)
        .start()
        .unwrap();
    let ctx = zmq::Context::new();
    let p = ctx.socket(zmq::PUB).unwrap();
    p.connect(app.publish_endpoint()).unwrap();
    // A PUB socket drops what it sends before the connection is up: probe until one arrives.
    let deadline = Instant::now() + DEADLINE;
    while got.lock().unwrap().is_empty() {
        p.send(&b"Legit-probe"[..], 0).unwrap();
        assert!(Instant::now() < deadline, "no probe arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    p.send_multipart([&b"Legit-first"[..], b"Secret-not-subscribed", b""], 0)
        .unwrap();
    p.send(&b""[..], 0).unwrap();
    p.send(&b"Legit-last"[..], 0).unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    let got = got.lock().unwrap().clone();
    assert!(got
        .iter()
        .all(|e| e == b"Legit-probe" || e == b"Legit-last"));
    assert_eq!(got.last().unwrap(), b"Legit-last");
    // The raw multi-part, the raw empty event and the plugin's multi-part.
    assert_eq!(report.refused, 3, "{report:?}");
}

/// Finding 4: limits. Over a limit a client gets `too_large` and its connection keeps working;
/// a frame over the hard per-frame bound is never read (ZeroMQ drops that connection).
#[test]
fn requests_over_the_limits_get_an_error_and_the_connection_keeps_working() {
    let config = EngineConfig {
        max_event_bytes: 1000,
        max_frames: 10,
        max_request_bytes: 5000,
        ..EngineConfig::new(0, 0)
    };
    let app = App::with_config(config)
        .with_external_plugin(ExternalPluginSpec::new("sensor", 0).subscribe(Filter::new("A")))
        .start()
        .unwrap();
    let port = app.external_port("sensor").unwrap();
    let c = ReqClient::connect(port);
    let big = vec![b'B'; 1001];
    let small = vec![b'B'; 900];
    let reply = text(&c.ask(&big));
    assert!(
        reply.starts_with("event-engine: error too_large: "),
        "{reply}"
    );
    let many: Vec<&[u8]> = std::iter::once(&b"plugin_command: publish"[..])
        .chain(std::iter::repeat_n(&b"Bx"[..], 10))
        .collect();
    let reply = text(&c.request(&many)[0]);
    assert!(
        reply.contains("too_large") && reply.contains("max_frames"),
        "{reply}"
    );
    let heavy: Vec<&[u8]> = std::iter::once(&b"plugin_command: publish"[..])
        .chain(std::iter::repeat_n(small.as_slice(), 6))
        .collect();
    let reply = text(&c.request(&heavy)[0]);
    assert!(reply.contains("max_request_bytes"), "{reply}");
    let batch = [&b"plugin_command: publish"[..], &big, b"Bok"];
    let reply = text(&c.request(&batch)[0]);
    assert!(reply.contains("event 1 of the batch"), "{reply}");
    // Still the same connection, still served.
    assert_eq!(c.ask(&small), b"event-engine: msg published");
    // A frame over the per-frame bound: the connection is closed by ZeroMQ, nothing is read.
    let ctx = zmq::Context::new();
    let d = dealer(&ctx, port);
    d.send_multipart([&b""[..], &vec![b'B'; 6000]], 0).unwrap();
    assert_eq!(d.poll(zmq::POLLIN, 500).unwrap(), 0);
    // Everyone else is still served.
    let mut client = Client::connect_port_with("127.0.0.1", port, options()).unwrap();
    // The SDK's client (REQ_CORRELATE: its envelope has a request id) gets the error too.
    let events = vec![b"Bx".to_vec(); 10];
    let e = client.publish_batch(&events).unwrap_err();
    assert_eq!(
        e.wire_code(),
        Some(event_engine::wire::ErrorCode::TooLarge),
        "{e}"
    );
    let stats = client.stats().unwrap();
    assert_eq!((stats.published, stats.errors), (1, 5));
    let hello = client.hello().unwrap();
    assert_eq!(
        (
            hello.max_event_bytes,
            hello.max_frames,
            hello.max_request_bytes
        ),
        (1000, 10, 5000)
    );
    client.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

/// Finding 6: a thousand internal plugins (and two hundred external ones) start, and each
/// receives an event published as soon as plugins run.
#[test]
fn a_thousand_internal_and_two_hundred_external_plugins_start() {
    let received = Arc::new(AtomicU64::new(0));
    let mut app = App::new(0, 0).setup_timeout(Duration::from_secs(60));
    app = app.with_plugin(FnPlugin::new("producer", |pub_socket, _| {
        pub_socket.send(&b"Startgo"[..], 0)?;
        Ok(())
    }));
    for i in 0..1000 {
        let r = Arc::clone(&received);
        app = app.with_plugin(
            FnPlugin::new(format!("waiter-{i}"), move |_, sub| {
                sub.recv_bytes(0)?;
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .subscribe(Filter::new("Start")),
        );
    }
    for i in 0..200 {
        app = app.with_external_plugin(
            ExternalPluginSpec::new(format!("ext-{i}"), 0).subscribe(Filter::new("Start")),
        );
    }
    let app = app.start().unwrap();
    let ports: Vec<u16> = app.external_plugins().iter().map(|e| e.port).collect();
    let clients: Vec<_> = ports
        .into_iter()
        .map(|port| {
            std::thread::spawn(move || {
                let mut c = Client::connect_port_with("127.0.0.1", port, options()).unwrap();
                let e = c.next(Some(DEADLINE)).unwrap().expect("an event");
                assert_eq!(e.data, b"Startgo");
                c.quit().unwrap();
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert_eq!(received.load(Ordering::SeqCst), 1000);
}

/// A small deterministic generator (xorshift), so a failing run can be replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max as u64 + 1) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const SEEDS: &[&[u8]] = &[
    b"plugin_command: next_msg",
    b"plugin_command: quit",
    b"plugin_command: hello",
    b"plugin_command: stats",
    b"plugin_command: recv max=3 timeout_ms=5",
    b"plugin_command: recv max=65536 timeout_ms=0 ack=1",
    b"plugin_command: ack seq=1",
    b"plugin_command: publish",
    b"Zfuzz event",
    b"",
];

/// One random or mutated request: frames.
fn request(rng: &mut Rng) -> Vec<Vec<u8>> {
    let frames = 1 + rng.below(4) as usize;
    (0..frames)
        .map(|_| {
            let mut f = SEEDS[rng.below(SEEDS.len() as u64) as usize].to_vec();
            match rng.below(5) {
                0 => f = rng.bytes(64),
                1 if !f.is_empty() => {
                    let i = rng.below(f.len() as u64) as usize;
                    f[i] = rng.next() as u8;
                }
                2 => f.truncate(rng.below(f.len() as u64 + 1) as usize),
                3 => f.extend(rng.bytes(8)),
                _ => {}
            }
            // Never `quit`: the fuzzer must not end the plugin it attacks.
            if f.starts_with(b"plugin_command: quit") {
                f[15] = b'Q';
            }
            f
        })
        .collect()
}

/// Random and mutated requests over REQ, DEALER and raw TCP for a bounded time, beside a
/// well-behaved producer and external consumer: the engine stays up and the pair loses nothing.
#[test]
fn socket_level_fuzz_leaves_the_engine_up_and_loses_nothing() {
    const N: u64 = 20_000;
    let run_for = Duration::from_secs(3);
    let producer = FnPlugin::new("producer", |pub_socket, _| {
        for i in 0..N {
            pub_socket.send(format!("Good{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(producer)
        .with_external_plugin(ExternalPluginSpec::new("consumer", 0).subscribe(Filter::new("Good")))
        .with_external_plugin(ExternalPluginSpec::new("target", 0).subscribe(Filter::new("Z")))
        .start()
        .unwrap();
    let consumer_port = app.external_port("consumer").unwrap();
    let target = app.external_port("target").unwrap();
    let consumer = std::thread::spawn(move || {
        let mut c = Client::connect_port_with("127.0.0.1", consumer_port, options()).unwrap();
        let mut next = 0u64;
        while next < N {
            for e in c.next_batch(1000, Some(DEADLINE)).unwrap() {
                assert_eq!(e.data, format!("Good{next}").into_bytes());
                next += 1;
            }
        }
        c.quit().unwrap();
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    println!("fuzz seed {seed}");
    let mut rng = Rng(seed);
    let ctx = zmq::Context::new();
    let started = Instant::now();
    let mut sent = 0u64;
    let publish_port = app.publish_port();
    while started.elapsed() < run_for {
        match rng.below(4) {
            0 => {
                let r = ReqClient::connect(target);
                for _ in 0..20 {
                    let frames = request(&mut rng);
                    r.socket.send_multipart(&frames, 0).unwrap();
                    // A reply or none (an abandoned request may get none): never a hang.
                    if r.socket.poll(zmq::POLLIN, 200).unwrap() > 0 {
                        r.socket.recv_multipart(0).unwrap();
                    } else {
                        break;
                    }
                    sent += 1;
                }
            }
            1 => {
                let d = dealer(&ctx, target);
                for _ in 0..50 {
                    let mut frames = request(&mut rng);
                    if rng.below(3) > 0 {
                        frames.insert(0, Vec::new());
                    }
                    d.send_multipart(&frames, 0).unwrap();
                    sent += 1;
                }
                while d.poll(zmq::POLLIN, 20).unwrap() > 0 {
                    d.recv_multipart(0).unwrap();
                }
            }
            2 => {
                // Raw TCP: a ZMTP greeting that breaks somewhere, or plain garbage.
                let port = if rng.below(2) == 0 {
                    target
                } else {
                    publish_port
                };
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    let mut bytes = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
                    bytes.extend(b"NULL");
                    bytes.resize(64, 0);
                    let cut = rng.below(bytes.len() as u64) as usize;
                    bytes.truncate(cut);
                    bytes.extend(rng.bytes(200));
                    let _ = s.write_all(&bytes);
                    sent += 1;
                }
            }
            _ => {
                let p = ctx.socket(zmq::PUB).unwrap();
                p.set_linger(100).unwrap();
                p.connect(&format!("tcp://127.0.0.1:{publish_port}"))
                    .unwrap();
                for _ in 0..20 {
                    let frames = request(&mut rng);
                    p.send_multipart(&frames, 0).unwrap();
                    sent += 1;
                }
            }
        }
    }
    println!("fuzz: {sent} requests in {:?}", started.elapsed());
    consumer.join().unwrap();
    // The target plugin still answers a well-formed client.
    let mut c = Client::connect_port_with("127.0.0.1", target, options()).unwrap();
    c.hello().unwrap();
    c.quit().unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert!(sent > 100, "the fuzzer hardly ran ({sent})");
}

/// A batch of image-sized events larger than one request is split by the client into requests
/// within the engine's default limits: every event arrives.
#[test]
fn a_batch_larger_than_a_request_is_split_by_the_client() {
    const MIB: usize = 1024 * 1024;
    let (tx, rx) = std::sync::mpsc::channel();
    let consumer = FnPlugin::new("consumer", move |_, sub| {
        for _ in 0..3 {
            let e = sub.recv_bytes(0)?;
            let _ = tx.send(e.len());
        }
        Ok(())
    })
    .subscribe(Filter::new("Img"));
    let app = App::new(0, 0)
        .with_plugin(consumer)
        .with_external_plugin(ExternalPluginSpec::new("camera", 0))
        .start()
        .unwrap();
    let port = app.external_port("camera").unwrap();
    let mut c = Client::connect_port_with("127.0.0.1", port, options()).unwrap();
    let images: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let mut e = format!("Img{i}").into_bytes();
            e.resize(30 * MIB, b'p');
            e
        })
        .collect();
    assert_eq!(c.publish_batch(&images).unwrap(), 3);
    for _ in 0..3 {
        assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), 30 * MIB);
    }
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}
