//! Two or three engines share events through one nats-server: core NATS and JetStream, no
//! echoes between engines on one subject, an engine that was away catches up (JetStream), and
//! what a bridge does while NATS is unreachable (waits, or drops and counts).

mod common;

use std::time::Duration;

use common::{figures, wait_until, Node, DEADLINE};
use event_engine::events::Filter;
use event_engine_nats::{NatsBridge, WhenFull};
use event_engine_testkit::nats::NatsServer;

fn bridge(name: &str, server: &NatsServer) -> event_engine_nats::BridgeBuilder {
    NatsBridge::builder(name)
        .server(server.url())
        .request_timeout(Duration::from_secs(2))
}

/// A exports TypeA, B imports it; B exports TypeB, A imports it.
fn both_ways(server: &NatsServer, jetstream: bool) {
    let mut a = bridge("a", server)
        .subject_prefix("t.a")
        .export(Filter::new("TypeA"))
        .import("t.b.TypeB");
    let mut b = bridge("b", server)
        .subject_prefix("t.b")
        .export(Filter::new("TypeB"))
        .import("t.a.TypeA");
    if jetstream {
        let mut js = event_engine_nats::JetStream::new("T");
        js.subjects = vec!["t.>".into()];
        js.durable = Some("a".into());
        a = a.jetstream_config(js.clone());
        js.durable = Some("b".into());
        b = b.jetstream_config(js);
    }
    let a = Node::start(a.build().unwrap(), &["TypeB"]);
    let b = Node::start(b.build().unwrap(), &["TypeA"]);
    a.wait_ready(1);
    b.wait_ready(1);
    let n = 2000;
    for i in 0..n {
        a.publish(format!("TypeA{i}"));
        b.publish(format!("TypeB{i}"));
    }
    assert!(
        wait_until(DEADLINE, || a.received_count() >= n
            && b.received_count() >= n),
        "a got {}, b got {}; a {:?} b {:?}",
        a.received_count(),
        b.received_count(),
        a.stats(),
        b.stats()
    );
    // JetStream: the acknowledgements may come after the events were delivered.
    assert!(wait_until(DEADLINE, || a.stats().exported == n as u64
        && b.stats().exported == n as u64));
    let fa = figures("TypeB", n, &a.received());
    let fb = figures("TypeA", n, &b.received());
    assert_eq!((fa.lost, fa.duplicates), (0, 0), "{fa:?}");
    assert_eq!((fb.lost, fb.duplicates), (0, 0), "{fb:?}");
    // In order: one publisher, one subject, nothing retried.
    assert_eq!(
        b.received()[..10],
        (0..10)
            .map(|i| format!("TypeA{i}").into_bytes())
            .collect::<Vec<_>>()[..]
    );
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!((sa.exported, sa.imported), (n as u64, n as u64), "{sa:?}");
    assert_eq!((sb.exported, sb.imported), (n as u64, n as u64), "{sb:?}");
    assert_eq!(sa.export_backlog, 0);
}

#[test]
fn two_engines_exchange_events_through_core_nats() {
    common::init_log();
    let server = NatsServer::start();
    both_ways(&server, false);
}

#[test]
fn two_engines_exchange_events_through_jetstream() {
    common::init_log();
    let server = NatsServer::start();
    both_ways(&server, true);
}

/// Three engines export and import the same filter on one subject: each gets every other
/// engine's events once, exports only its own, and nothing goes round in circles.
#[test]
fn engines_on_one_subject_do_not_echo_each_other() {
    common::init_log();
    let server = NatsServer::start();
    let nodes: Vec<Node> = ["x", "y", "z"]
        .iter()
        .map(|name| {
            let b = bridge(name, &server)
                .export_to(Filter::new("Chat"), "chat.all")
                .import("chat.all")
                .build()
                .unwrap();
            Node::start(b, &["Chat"])
        })
        .collect();
    for n in &nodes {
        n.wait_ready(1);
    }
    let k = 300;
    for i in 0..k {
        for (j, n) in nodes.iter().enumerate() {
            n.publish(format!("Chat{j}:{i}"));
        }
    }
    let total = 3 * k as u64;
    let settled = wait_until(DEADLINE, || {
        nodes.iter().all(|n| {
            let s = n.stats();
            n.received_count() as u64 >= total
                && s.import_own == k as u64
                && s.echoes_suppressed == 2 * k as u64
        })
    });
    let stats: Vec<_> = nodes.iter().map(Node::stats).collect();
    assert!(settled, "{stats:#?}");
    // A last round: anything that echoed would have arrived before these markers did.
    for (j, n) in nodes.iter().enumerate() {
        n.publish(format!("Chat{j}:end"));
    }
    assert!(wait_until(DEADLINE, || nodes
        .iter()
        .all(|n| n.received_count() as u64 == total + 3)));
    for (n, s) in nodes.iter().zip(nodes.iter().map(Node::stats)) {
        // Its own k + 1 events, never an imported one.
        assert_eq!(s.exported, k as u64 + 1, "{s:?}");
        assert_eq!(s.imported, 2 * (k as u64 + 1), "{s:?}");
        assert_eq!(n.received_count() as u64, total + 3);
        let mut got = n.received();
        got.sort();
        got.dedup();
        assert_eq!(got.len() as u64, total + 3, "duplicates on the bus");
    }
}

/// JetStream keeps what was exported while the importing engine was away; a durable consumer
/// resumes where it stopped.
#[test]
fn an_engine_that_was_away_catches_up_through_jetstream() {
    common::init_log();
    let server = NatsServer::start();
    let importer = || {
        Node::start(
            bridge("cloud", &server)
                .import("traps.site1.Detection")
                .jetstream("TRAPS", "cloud")
                .build()
                .unwrap(),
            &["Detection"],
        )
    };
    let mut edge = Node::start(
        bridge("edge", &server)
            .subject_prefix("traps.site1")
            .export(Filter::new("Detection"))
            .jetstream("TRAPS", "edge")
            .build()
            .unwrap(),
        &[],
    );
    edge.wait_ready(0);
    for i in 0..500 {
        edge.publish(format!("Detection{i}"));
    }
    assert!(
        wait_until(DEADLINE, || edge.stats().exported == 500),
        "{:?}",
        edge.stats()
    );
    let mut cloud = importer();
    assert!(
        wait_until(DEADLINE, || cloud.received_count() >= 500),
        "{:?}",
        cloud.stats()
    );
    cloud.stop();
    let first = cloud.received();
    for i in 500..1000 {
        edge.publish(format!("Detection{i}"));
    }
    assert!(wait_until(DEADLINE, || edge.stats().exported == 1000));
    let cloud2 = importer();
    assert!(
        wait_until(DEADLINE, || cloud2.received_count() >= 500),
        "{:?}",
        cloud2.stats()
    );
    let mut all = first.clone();
    all.extend(cloud2.received());
    let f = figures("Detection", 1000, &all);
    assert_eq!(f.lost, 0, "{f:?}");
    // A message acknowledged just before the first engine stopped may come again, at most a few.
    assert!(f.duplicates <= 10, "{f:?}");
    assert_eq!(edge.stop().export_unsent, 0);
}

/// NATS down: the bridge holds `buffer` events, then the bus waits (the feeder blocks); when
/// the server comes, everything goes through.
#[test]
fn while_nats_is_unreachable_the_bus_waits_and_nothing_is_lost() {
    common::init_log();
    let mut server = NatsServer::start();
    server.kill();
    let edge = Node::start(
        bridge("edge", &server)
            .subject_prefix("traps.site1")
            .export(Filter::new("Detection"))
            .jetstream("TRAPS", "edge")
            .buffer(100)
            .build()
            .unwrap(),
        &[],
    );
    let n = 3000;
    for i in 0..n {
        edge.publish(format!("Detection{i}"));
    }
    assert!(
        wait_until(DEADLINE, || edge.stats().export_backlog == 100),
        "{:?}",
        edge.stats()
    );
    let s = edge.stats();
    assert_ne!(s.state, "connected");
    assert_eq!((s.exported, s.export_dropped), (0, 0));
    server.start_again();
    assert!(
        wait_until(DEADLINE, || edge.stats().exported == n as u64),
        "{:?}",
        edge.stats()
    );
    let cloud = Node::start(
        bridge("cloud", &server)
            .import("traps.site1.Detection")
            .jetstream("TRAPS", "cloud")
            .build()
            .unwrap(),
        &["Detection"],
    );
    assert!(
        wait_until(DEADLINE, || cloud.received_count() >= n),
        "{:?}",
        cloud.stats()
    );
    let f = figures("Detection", n, &cloud.received());
    assert_eq!((f.lost, f.duplicates), (0, 0), "{f:?}");
}

/// With drop-and-count, a bridge that cannot reach NATS keeps the bus flowing and counts what
/// it drops.
#[test]
fn drop_and_count_keeps_the_bus_flowing() {
    common::init_log();
    let mut server = NatsServer::start();
    server.kill();
    let edge = Node::start(
        bridge("edge", &server)
            .export_to(Filter::new("Detection"), "d")
            .buffer(10)
            .when_full(WhenFull::DropAndCount)
            .build()
            .unwrap(),
        &["Detection"],
    );
    for i in 0..1000 {
        edge.publish(format!("Detection{i}"));
    }
    // The local collector gets everything: the bus never waited for the bridge.
    assert!(wait_until(DEADLINE, || edge.received_count() == 1000));
    assert!(
        wait_until(DEADLINE, || edge.stats().export_dropped == 990),
        "{:?}",
        edge.stats()
    );
    assert_eq!(edge.stats().export_backlog, 10);
    server.start_again();
    assert!(
        wait_until(DEADLINE, || edge.stats().exported == 10),
        "{:?}",
        edge.stats()
    );
}

/// An event larger than the server takes (its `max_payload`, 1 MB by default) is counted and
/// dropped with an error that says why; the events after it flow on, core NATS and JetStream.
#[test]
fn an_event_too_large_for_the_server_is_counted_and_the_rest_flow_on() {
    common::init_log();
    let server = NatsServer::start();
    for jetstream in [false, true] {
        let subject = if jetstream { "big.js" } else { "big.core" };
        let mut edge = bridge("edge", &server).export_to(Filter::new("Detection"), subject);
        let mut cloud = bridge("cloud", &server).import(subject);
        if jetstream {
            let mut js = event_engine_nats::JetStream::new("BIG");
            js.subjects = vec!["big.js".into()];
            js.durable = Some("edge".into());
            edge = edge.jetstream_config(js.clone());
            js.durable = Some("cloud".into());
            cloud = cloud.jetstream_config(js);
        }
        let edge = Node::start(edge.build().unwrap(), &[]);
        let cloud = Node::start(cloud.build().unwrap(), &["Detection"]);
        cloud.wait_ready(1);
        edge.wait_ready(0);
        let mut big = b"Detection".to_vec();
        big.resize(2 << 20, b'x');
        edge.publish(big);
        for i in 0..100 {
            edge.publish(format!("Detection{i}"));
        }
        assert!(
            wait_until(DEADLINE, || cloud.received_count() == 100),
            "jetstream {jetstream}: cloud got {}; edge {:?}",
            cloud.received_count(),
            edge.stats()
        );
        // The bridge counts an export once the server has taken it, which can be just after
        // the cloud has the event: wait for the counters rather than read them once.
        assert!(
            wait_until(DEADLINE, || {
                let s = edge.stats();
                (s.exported, s.export_too_large, s.export_backlog) == (100, 1, 0)
            }),
            "jetstream {jetstream}: {:?}",
            edge.stats()
        );
        let s = edge.stats();
        let error = s.last_error.unwrap_or_default();
        assert!(error.contains("max_payload"), "{error}");
    }
}
