//! The Rust client (crate event-engine-client) against a real engine: the v2 calls, time-outs,
//! cancellation, reconnection, at-least-once after SIGKILL, and a v1 client beside it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ReqClient;
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;
use event_engine_client::wire::ErrorCode;
use event_engine_client::{Client, ClientOptions, Error, ErrorKind};

fn producer(n: usize, prefix: &'static str) -> FnPlugin {
    FnPlugin::new("producer", move |pub_socket, _| {
        for i in 0..n {
            pub_socket.send(format!("{prefix}{i}").as_bytes(), 0)?;
        }
        Ok(())
    })
}

fn collector(n: usize, filter: &'static str) -> FnPlugin {
    FnPlugin::new("collector", move |_, sub| {
        for i in 0..n {
            assert_eq!(sub.recv_bytes(0)?, format!("{filter}{i}").into_bytes());
        }
        Ok(())
    })
    .subscribe(Filter::new(filter))
}

#[test]
fn hello_next_batch_publish_stats_quit() {
    let app = App::new(0, 0)
        .with_plugin(producer(250, "TypeA"))
        .with_plugin(collector(250, "Reply"))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    let hello = c.hello().unwrap();
    assert_eq!((hello.protocol, hello.name.as_str()), (2, "ext"));
    assert_eq!(hello.subscriptions[0].text.as_deref(), Some("TypeA"));
    let first = c.next(Some(Duration::from_secs(20))).unwrap().unwrap();
    assert_eq!(
        (first.seq, first.data.as_slice(), first.redelivered),
        (1, b"TypeA0".as_slice(), false)
    );
    c.publish(b"Reply0").unwrap();
    let mut seen = 1;
    while seen < 250 {
        let batch = c.next_batch(64, Some(Duration::from_secs(20))).unwrap();
        assert!(!batch.is_empty() && batch.len() <= 64);
        for e in &batch {
            assert_eq!(e.data, format!("TypeA{seen}").into_bytes());
            assert_eq!(e.seq, seen as u64 + 1);
            seen += 1;
        }
        let replies: Vec<Vec<u8>> = batch
            .iter()
            .map(|e| [b"Reply".as_slice(), &e.data[5..]].concat())
            .collect();
        assert_eq!(c.publish_batch(&replies).unwrap(), replies.len());
    }
    assert_eq!(c.ack().unwrap(), 0);
    let stats = c.stats().unwrap();
    assert_eq!(
        (
            stats.delivered,
            stats.published,
            stats.pending,
            stats.redelivered
        ),
        (250, 250, 0, 0)
    );
    c.quit().unwrap();
    assert!(matches!(c.next(None), Err(Error::Closed)));
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn a_timeout_leaves_the_client_usable() {
    let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
    let g = std::sync::Arc::clone(&gate);
    let late = FnPlugin::new("late", move |pub_socket, _| {
        g.wait();
        pub_socket.send("TypeAlate", 0)?;
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(late)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    let t = Instant::now();
    assert_eq!(c.next(Some(Duration::from_millis(100))).unwrap(), None);
    assert!(t.elapsed() >= Duration::from_millis(100));
    gate.wait();
    let e = c.next(Some(Duration::from_secs(20))).unwrap().unwrap();
    assert_eq!(e.data, b"TypeAlate");
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn invalid_arguments_are_refused_before_sending() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    assert_eq!(
        c.next_batch(0, None).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        c.publish(b"").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        c.publish_batch([b"TypeAx".as_slice(), b""])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert!(Client::connect("localhost:5").is_err());
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn engine_errors_carry_their_wire_code() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    // A second plugin would be needed to make a real pending_full; a raw request shows the codes.
    let raw = ReqClient::connect(port);
    let reply = raw.ask(b"plugin_command: ack seq=3");
    let status = event_engine::wire::parse_status(&reply).unwrap();
    assert_eq!(
        status,
        event_engine::wire::Status::Error(event_engine::wire::WireError::new(
            ErrorCode::BadSequence,
            "ack=3 but the last event delivered is 0"
        ))
    );
    raw.ask(b"plugin_command: quit");
    app.wait().unwrap().result().unwrap();
}

#[test]
fn cancel_interrupts_a_blocked_next_promptly() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("Never")))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    let token = c.cancel_token();
    // The client calls its interrupt check while it waits for a reply: the first call says the
    // request is out and `next` is blocked in its wait.
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    c.set_interrupt_check(Some(Box::new(move || {
        let _ = waiting_tx.send(());
        false
    })));
    let t = std::thread::spawn(move || {
        let started = Instant::now();
        let r = c.next(None);
        (r, started.elapsed(), c)
    });
    waiting_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("next() waits for its reply");
    let cancelled_at = Instant::now();
    token.cancel();
    let (r, _, mut c) = t.join().unwrap();
    assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
    assert!(cancelled_at.elapsed() < Duration::from_millis(500));
    // still usable once reset
    token.reset();
    c.set_interrupt_check(None);
    assert_eq!(c.next(Some(Duration::from_millis(10))).unwrap(), None);
    let mut calls = 0;
    let r = c.next_batch_interruptible(1, None, &mut || {
        calls += 1;
        calls > 2
    });
    assert!(matches!(r, Err(Error::Interrupted)));
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn no_engine_means_disconnected_not_a_hang() {
    // A port that nothing listens on: bind one and let it go.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let opts = ClientOptions {
        reply_timeout: Duration::from_millis(200),
        retries: 1,
        reconnect_backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    let mut c = Client::connect_with(&format!("tcp://127.0.0.1:{port}"), opts).unwrap();
    let t = Instant::now();
    let err = c.hello().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains(&port.to_string()));
}

#[test]
fn the_client_reconnects_to_a_restarted_engine() {
    let first = App::new(0, 0)
        .with_plugin(producer(1, "TypeA"))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let port = first.external_port("ext").unwrap();
    let opts = ClientOptions {
        reply_timeout: Duration::from_millis(300),
        reconnect_backoff: Duration::from_millis(20),
        retries: 20,
        ..ClientOptions::default()
    };
    let mut c = Client::connect_with(&format!("tcp://127.0.0.1:{port}"), opts).unwrap();
    assert_eq!(
        c.next(Some(Duration::from_secs(20))).unwrap().unwrap().data,
        b"TypeA0"
    );
    first.stop();
    first.wait().unwrap();
    let second = App::new(0, 0)
        .with_plugin(producer(1, "TypeA"))
        .with_external_plugin(
            ExternalPluginSpec::new("ext", port as i32).subscribe(Filter::new("TypeA")),
        )
        .start()
        .unwrap();
    // The new engine numbers from 1 again: the client notices (its ack=1 is unknown there),
    // starts over with the new numbering, and gets the event.
    let e = c.next(Some(Duration::from_secs(20))).unwrap().unwrap();
    assert_eq!((e.seq, e.data.as_slice()), (1, b"TypeA0".as_slice()));
    second.stop();
    second.wait().unwrap();
}

#[test]
fn a_v1_client_and_a_v2_client_side_by_side() {
    let app = App::new(0, 0)
        .with_plugin(producer(100, "TypeA"))
        .with_plugin(collector(100, "FromV1"))
        .with_external_plugin(ExternalPluginSpec::new("old", 0).subscribe(Filter::new("TypeA")))
        .with_external_plugin(
            ExternalPluginSpec::new("new", 0)
                .subscribe(Filter::new("TypeA"))
                .subscribe(Filter::new("FromV1")),
        )
        .start()
        .unwrap();
    let old = ReqClient::connect(app.external_port("old").unwrap());
    let mut new = Client::connect_port("127.0.0.1", app.external_port("new").unwrap()).unwrap();
    for i in 0..100 {
        assert_eq!(
            old.ask(b"plugin_command: next_msg"),
            format!("TypeA{i}").into_bytes()
        );
        assert_eq!(
            old.ask(format!("FromV1{i}").as_bytes()),
            b"event-engine: msg published"
        );
    }
    // The v2 client sees the 100 TypeA and the 100 FromV1 events.
    let mut got = Vec::new();
    while got.len() < 200 {
        got.extend(new.next_batch(1000, Some(Duration::from_secs(20))).unwrap());
    }
    assert_eq!(
        got.iter().filter(|e| e.data.starts_with(b"TypeA")).count(),
        100
    );
    assert_eq!(
        got.iter().filter(|e| e.data.starts_with(b"FromV1")).count(),
        100
    );
    assert!(got.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    old.ask(b"plugin_command: quit");
    new.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

const CRASH_EVENTS: usize = 3000;

/// The child half of `at_least_once_after_sigkill`: prints every event it gets, until the last.
#[test]
#[ignore = "run as a child process by at_least_once_after_sigkill"]
fn child_consumer_process() {
    let port: u16 = std::env::var("EE_CHILD_PORT").unwrap().parse().unwrap();
    let mut c = Client::connect_port("127.0.0.1", port).unwrap();
    let last = format!("TypeA{}", CRASH_EVENTS - 1).into_bytes();
    loop {
        for e in c.next_batch(50, Some(Duration::from_secs(20))).unwrap() {
            println!("EVENT {} {}", e.seq, String::from_utf8_lossy(&e.data));
            if e.data == last {
                c.quit().unwrap();
                return;
            }
        }
    }
}

fn spawn_child(port: u16) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_consumer_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EE_CHILD_PORT", port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn events_of(line: &str) -> Option<(u64, String)> {
    // libtest may print "test child_consumer_process ... " on the same line, before the first.
    let start = line.find("EVENT ")?;
    let mut parts = line[start + 6..].splitn(2, ' ');
    Some((parts.next()?.parse().ok()?, parts.next()?.to_string()))
}

/// A client process killed with SIGKILL mid-stream, then restarted: every event arrives at
/// least once, sequence numbers are stable, nothing is lost.
#[test]
fn at_least_once_after_sigkill() {
    let app = App::new(0, 0)
        .with_plugin(producer(CRASH_EVENTS, "TypeA"))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    let mut seen: Vec<(u64, String)> = Vec::new();

    let mut first = spawn_child(port);
    let out = BufReader::new(first.stdout.take().unwrap());
    let mut killed = false;
    for line in out.lines() {
        if let Some(e) = events_of(&line.unwrap()) {
            seen.push(e);
            if seen.len() == 700 && !killed {
                first.kill().unwrap(); // SIGKILL, mid-stream
                killed = true;
            }
        }
    }
    // (what it printed before dying was read to the end above)
    assert!(!first.wait().unwrap().success());
    let killed_at = seen.iter().map(|(seq, _)| *seq).max().unwrap();

    let mut second = spawn_child(port);
    let out = BufReader::new(second.stdout.take().unwrap());
    let mut second_seen = Vec::new();
    for line in out.lines() {
        if let Some(e) = events_of(&line.unwrap()) {
            second_seen.push(e);
        }
    }
    assert!(second.wait().unwrap().success());
    let report = app.wait().unwrap();
    report.result().unwrap();

    // The restarted process starts with what its predecessor had not acknowledged.
    assert!(second_seen[0].0 <= killed_at + 1, "{:?}", second_seen[0]);
    let second_start = second_seen[0].clone();
    seen.extend(second_seen);
    let mut by_seq = std::collections::BTreeMap::new();
    for (seq, data) in &seen {
        let previous = by_seq.insert(*seq, data.clone());
        assert!(
            previous.is_none() || previous.as_ref() == Some(data),
            "seq {seq} changed"
        );
    }
    let missing: Vec<u64> = (1..=CRASH_EVENTS as u64)
        .filter(|s| !by_seq.contains_key(s))
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}; killed at {killed_at}; second started at {:?}",
        second_start
    );
    assert_eq!(by_seq.len(), CRASH_EVENTS, "every event at least once");
    for (i, (seq, data)) in by_seq.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(data, &format!("TypeA{i}"));
    }
    let stats = report.plugins[1].stats.clone().unwrap();
    assert_eq!(stats.delivered, CRASH_EVENTS as u64);
    assert_eq!(stats.sessions, 2);
}

#[test]
fn the_interrupt_check_ends_calls_that_take_no_callback() {
    // Nothing listens on this port: hello and publish would wait for reply_timeout (and hello
    // would retry); the installed check ends both within a few poll slices.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = Client::connect_port("127.0.0.1", port).unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    c.set_interrupt_check(Some(Box::new(move || {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2
    })));
    let t = Instant::now();
    assert!(matches!(c.hello(), Err(Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    calls.store(0, std::sync::atomic::Ordering::SeqCst);
    let t = Instant::now();
    assert!(matches!(c.publish(b"TypeAx"), Err(Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn cancel_wakes_a_wait_at_once_not_after_its_poll_slice() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("Never")))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    let slow = ClientOptions {
        poll_slice: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    let mut c = Client::connect_port_with("127.0.0.1", port, slow).unwrap();
    let token = c.cancel_token();
    let t = std::thread::spawn(move || {
        let r = c.next(None);
        (r, c)
    });
    // The receive has reached the engine once the plugin's port counts a session.
    let mut observer = Client::connect_port("127.0.0.1", port).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while observer.stats().unwrap().sessions < 1 {
        assert!(
            Instant::now() < deadline,
            "the receive never reached the engine"
        );
    }
    let cancelled_at = Instant::now();
    token.cancel();
    let (r, mut c) = t.join().unwrap();
    let took = cancelled_at.elapsed();
    assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
    // The poll slice is 5 s: only the wake-up ends the wait this soon.
    assert!(took < Duration::from_secs(1), "{took:?}");
    token.reset();
    // A cancel that a reset overtook leaves no wake-up behind that would spin the next wait.
    assert_eq!(c.next(Some(Duration::from_millis(50))).unwrap(), None);
    drop(observer);
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn ack_through_acknowledges_up_to_its_seq_only() {
    let app = App::new(0, 0)
        .with_plugin(producer(5, "TypeA"))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    assert!(matches!(c.ack_through(1), Err(Error::InvalidArgument(_))));
    // All five wait at the engine before the receive, so one batch hands them out (a second
    // receive would acknowledge the first batch).
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.stats().unwrap().buffered < 5 {
        assert!(
            Instant::now() < deadline,
            "the producer's 5 events never reached the engine"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let got = c.next_batch(5, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(c.ack_through(2).unwrap(), 3);
    assert_eq!(c.stats().unwrap().acked, 2);
    assert_eq!(c.ack_through(1).unwrap(), 3); // below what is acknowledged: nothing changes
    assert!(matches!(c.ack_through(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(c.ack_through(6), Err(Error::InvalidArgument(_))));
    assert_eq!(c.ack().unwrap(), 0);
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

/// `publish_batch_owned` -> engine -> `next_batch_owned`, events small and large (the engine
/// copies those under 8 KiB and moves the others): nothing lost, reordered or changed, and a
/// new session gets the unacknowledged events again with their bytes intact (the window keeps
/// its share of each message).
#[test]
fn owned_publish_and_receive_keep_every_byte_and_redeliver() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("src", 0))
        .with_external_plugin(ExternalPluginSpec::new("dst", 0).subscribe(Filter::new("Img")))
        .start()
        .unwrap();
    let event = |i: usize| {
        let size = [10, 8191, 8192, 100_000, 3_000_000][i % 5];
        let mut e = format!("Img{i:04}").into_bytes();
        e.resize(size.max(e.len()), (i % 251) as u8);
        e
    };
    let n = 25;
    let mut dst = Client::connect_port("127.0.0.1", app.external_port("dst").unwrap()).unwrap();
    // The plugin's subscription is on the bus before `start` returns.
    let mut src = Client::connect_port("127.0.0.1", app.external_port("src").unwrap()).unwrap();
    assert_eq!(src.publish_batch_owned((0..n).map(event)).unwrap(), n);
    let mut got = Vec::new();
    let mut last_batch = 0;
    while got.len() < n {
        let batch = dst
            .next_batch_owned(7, Some(Duration::from_secs(20)))
            .unwrap();
        assert!(!batch.is_empty(), "events lost after {}", got.len());
        last_batch = got.len();
        got.extend(batch);
    }
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert!(e.data() == event(i).as_slice(), "event {i} changed");
        assert!(!e.redelivered);
    }
    // The last batch is not acknowledged (each request acknowledges the batches before it): a
    // new client (session) gets it again, same numbers and bytes.
    drop(dst);
    let mut again = Client::connect_port("127.0.0.1", app.external_port("dst").unwrap()).unwrap();
    let mut seen = last_batch;
    while seen < n {
        let batch = again
            .next_batch(100, Some(Duration::from_secs(20)))
            .unwrap();
        assert!(!batch.is_empty(), "redelivery lost events after {seen}");
        for e in batch {
            assert_eq!(e.seq, seen as u64 + 1);
            assert!(e.redelivered);
            assert!(e.data == event(seen), "redelivered event {seen} changed");
            seen += 1;
        }
    }
    again.ack().unwrap();
    assert_eq!(again.stats().unwrap().pending, 0);
    src.publish_owned(event(1)).unwrap();
    let one = again
        .next_batch_owned(1, Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!((one.len(), one[0].seq), (1, n as u64 + 1));
    assert!(one.into_iter().next().map(|e| e.into_event().data) == Some(event(1)));
}
