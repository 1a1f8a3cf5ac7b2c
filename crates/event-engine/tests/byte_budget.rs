//! `recv max_bytes=`: a reply never carries more than its byte budget of events (a single larger
//! event goes alone), and nothing is lost or reordered; the client's `max_batch_bytes`.

mod common;

use std::time::Duration;

use common::{text, ReqClient};
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;
use event_engine_client::{Client, ClientOptions};

const MIB: usize = 1 << 20;

/// Event `i` of `size` bytes: `TypeA`, its number, then padding.
fn event(i: usize, size: usize) -> Vec<u8> {
    let mut e = format!("TypeA{i:08}").into_bytes();
    e.resize(size, b'.');
    e
}

/// What the producer publishes for `sizes`, in order.
fn expected(sizes: &[usize]) -> Vec<Vec<u8>> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, s)| event(i, *s))
        .collect()
}

fn producer(sizes: Vec<usize>) -> FnPlugin {
    FnPlugin::new("producer", move |pub_socket, _| {
        for (i, size) in sizes.iter().enumerate() {
            pub_socket.send(event(i, *size), 0)?;
        }
        Ok(())
    })
}

fn start(sizes: Vec<usize>) -> (event_engine::RunningApp, u16) {
    let app = App::new(0, 0)
        .with_plugin(producer(sizes))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    (app, port)
}

/// Sends `recv` and returns (first seq, events).
fn recv(c: &ReqClient, args: &str) -> (u64, Vec<Vec<u8>>) {
    let mut reply = c.request(&[format!("plugin_command: recv {args}").as_bytes()]);
    let header = text(&reply.remove(0));
    let seq = header
        .split(' ')
        .find_map(|w| w.strip_prefix("seq="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an events header: {header}"));
    (seq, reply)
}

#[test]
fn one_mib_events_come_three_per_three_mib_reply_and_a_larger_one_alone() {
    // 7 events of 1 MiB, one of 5 MB, then 2 of 1 MiB.
    let mut sizes = vec![MIB; 7];
    sizes.push(5_000_000);
    sizes.extend([MIB, MIB]);
    let (app, port) = start(sizes.clone());
    let c = ReqClient::connect(port);
    let budget = format!("max=1000 timeout_ms=20000 max_bytes={}", 3 * MIB);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut counts = Vec::new();
    while got.len() < sizes.len() {
        let (seq, events) = recv(&c, &budget);
        assert_eq!(seq, got.len() as u64 + 1, "sequence numbers follow on");
        let bytes: usize = events.iter().map(Vec::len).sum();
        assert!(
            bytes <= 3 * MIB || events.len() == 1,
            "{} events of {bytes} bytes over the budget",
            events.len()
        );
        counts.push(events.len());
        got.extend(events);
    }
    // Events may arrive while a reply is made, so a reply can be smaller than 3; but never more,
    // and the 5 MB event is always alone.
    assert!(counts.iter().all(|n| *n <= 3), "{counts:?}");
    assert!(got == expected(&sizes), "events lost or reordered");
    let (_, none) = recv(&c, "max=10 timeout_ms=0");
    assert!(none.is_empty());
    drop(c);
    drop(app);
}

#[test]
fn with_everything_queued_a_reply_carries_exactly_three() {
    // Ask only once every event is on the engine's side: replies are then full.
    let sizes = vec![MIB; 9];
    let (app, port) = start(sizes.clone());
    let c = ReqClient::connect(port);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = text(&c.request(&[b"plugin_command: stats"])[1]);
        if stats.contains("\"buffered\":9") || stats.contains("\"buffered\": 9") {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "events never buffered: {stats}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let budget = format!("max=1000 timeout_ms=20000 max_bytes={}", 3 * MIB);
    for round in 0..3 {
        let (seq, events) = recv(&c, &budget);
        assert_eq!((seq, events.len()), (round * 3 + 1, 3));
        for (k, e) in events.iter().enumerate() {
            assert_eq!(*e, event(round as usize * 3 + k, MIB));
        }
    }
    drop(app);
}

#[test]
fn many_small_budgets_lose_and_reorder_nothing_and_redelivery_keeps_numbers() {
    let sizes: Vec<usize> = (0..300).map(|i| 20 + (i * 37) % 200).collect();
    let (app, port) = start(sizes.clone());
    let c = ReqClient::connect(port);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut i = 0usize;
    while got.len() < sizes.len() {
        let budget = 1 + (i * 97) % 600;
        i += 1;
        let (seq, events) = recv(&c, &format!("max=50 timeout_ms=20000 max_bytes={budget}"));
        assert_eq!(seq, got.len() as u64 + 1);
        let bytes: usize = events.iter().map(Vec::len).sum();
        assert!(events.len() == 1 || bytes <= budget, "{bytes} > {budget}");
        got.extend(events);
    }
    assert!(got == expected(&sizes), "events lost or reordered");
    // A new session gets the unacknowledged last batch again, within its budget.
    drop(c);
    let c = ReqClient::connect(port);
    let last_seq = sizes.len() as u64;
    let (seq, events) = recv(
        &c,
        &format!("max=50 timeout_ms=0 max_bytes=1 ack={}", last_seq - 1),
    );
    assert_eq!((seq, events.len()), (last_seq, 1));
    drop(app);
}

#[test]
fn the_client_never_gets_a_batch_over_its_budget() {
    let mut sizes = vec![MIB; 20];
    sizes.insert(10, 5_000_000);
    let (app, port) = start(sizes.clone());
    let options = ClientOptions {
        max_batch_bytes: 3 * MIB as u64,
        ..ClientOptions::default()
    };
    let mut c = Client::connect_port_with("127.0.0.1", port, options).unwrap();
    let mut got = Vec::new();
    while got.len() < sizes.len() {
        let batch = c.next_batch(1000, Some(Duration::from_secs(20))).unwrap();
        assert!(!batch.is_empty());
        let bytes: usize = batch.iter().map(|e| e.data.len()).sum();
        assert!(
            batch.len() == 1 || bytes <= 3 * MIB,
            "{bytes} bytes in {}",
            batch.len()
        );
        for e in batch {
            assert_eq!(e.seq, got.len() as u64 + 1);
            got.push(e.data);
        }
    }
    assert!(got == expected(&sizes), "events lost or reordered");
    // Publishing 8 MiB events: split so that no request passes 64 MiB with its command frame.
    let big: Vec<Vec<u8>> = (0..9)
        .map(|i| {
            let mut e = format!("Other{i}").into_bytes();
            e.resize(8 * MIB, b'x');
            e
        })
        .collect();
    assert_eq!(c.publish_batch(&big).unwrap(), 9);
    c.quit().unwrap();
    drop(app);
}

/// The buffer of an external plugin whose process does not ask is bounded by `buffer_bytes`
/// (plus the one event that crosses it), whatever `buffer_limit` says; `buffered_bytes` in the
/// stats says how much it holds; once the process asks, nothing is lost or reordered.
#[test]
fn the_buffer_of_a_plugin_that_does_not_ask_holds_at_most_buffer_bytes() {
    const SIZE: usize = 1_000_000;
    const LIMIT: usize = 4 * MIB;
    let sizes = vec![SIZE; 40];
    let config = event_engine::EngineConfig {
        buffer_bytes: LIMIT,
        high_water_mark: 2,
        ..event_engine::EngineConfig::new(0, 0)
    };
    let app = App::with_config(config)
        .with_plugin(producer(sizes.clone()))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    // Nobody asks: the buffer fills up to its byte bound and then takes nothing more.
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let full = loop {
        let s = app.stats().external_plugins[0].clone();
        if s.buffered_bytes >= LIMIT as u64 {
            break s;
        }
        assert!(std::time::Instant::now() < until, "never full: {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    // 5 events: 4 of them are under 4 MiB, the fifth crosses it.
    assert_eq!((full.buffered, full.buffered_bytes), (5, 5 * SIZE as u64));
    assert!(full.buffered < sizes.len() as u64);

    let mut c = Client::connect_port("127.0.0.1", port).unwrap();
    let stats = c.stats().unwrap();
    assert_eq!(
        (stats.buffered, stats.buffered_bytes),
        (5, 5 * SIZE as u64),
        "the stats reply says the same"
    );
    let mut got: Vec<Vec<u8>> = Vec::new();
    while got.len() < sizes.len() {
        let batch = c.next_batch(1000, Some(Duration::from_secs(20))).unwrap();
        assert!(
            !batch.is_empty(),
            "events lost: {} of {}",
            got.len(),
            sizes.len()
        );
        got.extend(batch.into_iter().map(|e| e.data));
    }
    assert!(got == expected(&sizes), "events lost or reordered");
    c.ack().unwrap();
    let after = c.stats().unwrap();
    assert_eq!((after.buffered, after.buffered_bytes), (0, 0));
    drop(c);
    drop(app);
}
