//! The 0.2 load-test flow and a slow consumer: every event arrives exactly once, in order.

mod common;

use std::time::Duration;

use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::App;

const EVENTS: u64 = 100_000;

/// `prefix` + 8-byte sequence number + padding to `size` bytes.
fn event(prefix: &[u8], seq: u64, size: usize) -> Vec<u8> {
    let mut e = Vec::with_capacity(size);
    e.extend_from_slice(prefix);
    e.extend_from_slice(&seq.to_be_bytes());
    e.resize(size.max(prefix.len() + 8), b'X');
    e
}

fn seq_of(prefix_len: usize, e: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&e[prefix_len..prefix_len + 8]);
    u64::from_be_bytes(b)
}

/// Producer -> operator -> accumulator with 100k events of 100-1000 bytes, as in 0.2's load test
/// (which never completed at 10k events: the default high-water mark dropped 10-66 % of them).
#[test]
fn load_test_flow_delivers_every_event_once_in_order() {
    let producer = FnPlugin::new("MsgProducerPlugin", |pub_socket, _sub| {
        for seq in 0..EVENTS {
            let size = 100 + (seq % 901) as usize;
            pub_socket.send(event(b"InitialMsgString", seq, size), 0)?;
        }
        Ok(())
    });
    let operator = FnPlugin::new("MsgOperatorPlugin", |pub_socket, sub| {
        for expected in 0..EVENTS {
            let e = sub.recv_bytes(0)?;
            assert_eq!(seq_of(16, &e), expected, "operator saw a gap or reordering");
            assert_eq!(e.len(), 100 + (expected % 901) as usize);
            let mut out = event(b"OperatorMsg", expected, 0);
            out.extend_from_slice(&(e.len() as u64).to_be_bytes());
            pub_socket.send(out, 0)?;
        }
        Ok(())
    })
    .subscribe(Filter::new("InitialMsgString"));
    let accumulator = FnPlugin::new("AccumulatorPlugin", |_pub, sub| {
        let mut total = 0u64;
        for expected in 0..EVENTS {
            let e = sub.recv_bytes(0)?;
            assert_eq!(
                seq_of(11, &e),
                expected,
                "accumulator saw a gap or reordering"
            );
            total += seq_of(19, &e);
        }
        let want: u64 = (0..EVENTS).map(|s| 100 + s % 901).sum();
        assert_eq!(total, want);
        // nothing extra arrives
        assert_eq!(sub.poll(zmq::POLLIN, 50)?, 0);
        Ok(())
    })
    .subscribe(Filter::new("OperatorMsg"));
    let report = App::new(0, 0)
        .with_plugin(producer)
        .with_plugin(operator)
        .with_plugin(accumulator)
        .run_with_report()
        .unwrap();
    report.result().unwrap();
    assert_eq!(report.events_forwarded, 2 * EVENTS);
}

/// A consumer that stops now and then: the producer waits (backpressure), nothing is lost, and
/// the bus never holds more than its queues allow.
#[test]
fn slow_consumer_loses_nothing() {
    let producer = FnPlugin::new("producer", |pub_socket, _sub| {
        for seq in 0..EVENTS {
            pub_socket.send(event(b"Data", seq, 100), 0)?;
        }
        Ok(())
    });
    let consumer = FnPlugin::new("slow-consumer", |_pub, sub| {
        for expected in 0..EVENTS {
            if expected % 10_000 == 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
            let e = sub.recv_bytes(0)?;
            assert_eq!(seq_of(4, &e), expected);
        }
        Ok(())
    })
    .subscribe(Filter::new("Data"));
    // A fast consumer of the same events is held back by the slow one but also gets them all.
    let fast = FnPlugin::new("fast-consumer", |_pub, sub| {
        for expected in 0..EVENTS {
            assert_eq!(seq_of(4, &sub.recv_bytes(0)?), expected);
        }
        Ok(())
    })
    .subscribe(Filter::new("Data"));
    App::new(0, 0)
        .high_water_mark(100)
        .with_plugin(producer)
        .with_plugin(consumer)
        .with_plugin(fast)
        .run()
        .unwrap();
}

/// A TCP subscriber in `Block` mode gets every event, including those still buffered for it when
/// the last plugin finishes.
#[test]
fn a_blocking_tcp_subscriber_gets_every_event_after_the_plugins_are_done() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const N: u64 = 50_000;
    let go = Arc::new(AtomicBool::new(false));
    let g = Arc::clone(&go);
    let producer = FnPlugin::new("producer", move |pub_socket, _| {
        while !g.load(Ordering::SeqCst) {
            pub_socket.send(&b"Outprobe"[..], 0)?;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for i in 0..N {
            pub_socket.send(format!("Out{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let app = App::new(0, 0)
        .tcp_subscribers(event_engine::TcpSubscribers::Block)
        .with_plugin(producer)
        .start()
        .unwrap();
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.set_rcvtimeo(20_000).unwrap();
    sub.connect(app.subscribe_endpoint()).unwrap();
    sub.set_subscribe(b"Out").unwrap();
    while sub.recv_bytes(0).unwrap() != b"Outprobe" {}
    go.store(true, Ordering::SeqCst);
    let mut next = 0;
    while next < N {
        let e = sub.recv_bytes(0).expect("every event arrives");
        if e != b"Outprobe" {
            assert_eq!(e, format!("Out{next}").into_bytes());
            next += 1;
        }
    }
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert_eq!(report.tcp_dropped, 0);
}
