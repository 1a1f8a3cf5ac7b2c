//! Failures of NATS mid-stream: a node of a three-node cluster killed, a server restarted.
//! Each test prints its figures (`FIGURES ...`: events sent, received, duplicates, lost; run
//! with `--nocapture` to see them).

mod common;

use std::time::Duration;

use common::{figures, wait_until, Node, DEADLINE};
use event_engine::events::Filter;
use event_engine_nats::{JetStream, NatsBridge};
use event_engine_testkit::nats::{NatsCluster, NatsServer};

/// Publishes `n` events `Detection<i>` at about `per_ms` per millisecond, calling `midway` once
/// the importer has received a third of them.
fn stream_with_fault(edge: &Node, cloud: &Node, n: usize, midway: impl FnOnce()) {
    let mut midway = Some(midway);
    for i in 0..n {
        edge.publish(format!("Detection{i}"));
        if i % 20 == 19 {
            std::thread::sleep(Duration::from_millis(5));
        }
        if i == n / 3 {
            assert!(
                wait_until(DEADLINE, || cloud.received_count() >= n / 4),
                "{:?} {:?}",
                edge.stats(),
                cloud.stats()
            );
            if let Some(f) = midway.take() {
                f();
            }
        }
    }
}

fn jetstream(durable: &str, replicas: usize) -> JetStream {
    let mut js = JetStream::new("TRAPS");
    js.durable = Some(durable.into());
    js.subjects = vec!["traps.>".into()];
    js.replicas = replicas;
    js
}

#[test]
fn a_cluster_node_killed_mid_stream_loses_nothing_with_jetstream() {
    common::init_log();
    let mut cluster = NatsCluster::start();
    // The edge knows only n1 and finds the others from the server; the cloud uses n3.
    let edge = Node::start(
        NatsBridge::builder("edge")
            .server(cluster.servers[0].url())
            .subject_prefix("traps.site1")
            .export(Filter::new("Detection"))
            .jetstream_config(jetstream("edge", 3))
            .request_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        &[],
    );
    let cloud = Node::start(
        NatsBridge::builder("cloud")
            .server(cluster.servers[2].url())
            .import("traps.site1.Detection")
            .jetstream_config(jetstream("cloud", 3))
            .request_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        &["Detection"],
    );
    cloud.wait_ready(1);
    let n = 3000;
    stream_with_fault(&edge, &cloud, n, || cluster.servers[0].kill());
    assert!(
        wait_until(DEADLINE, || cloud.received_count() >= n),
        "{:?} {:?}",
        edge.stats(),
        cloud.stats()
    );
    let f = figures("Detection", n, &cloud.received());
    let (se, sc) = (edge.stats(), cloud.stats());
    println!(
        "FIGURES cluster node killed, JetStream R3: sent {} received {} duplicates {} lost {} \
         (edge: retries {}, duplicates suppressed by the stream {}, reconnects {}; cloud: \
         duplicates dropped {})",
        f.sent,
        f.received,
        f.duplicates,
        f.lost,
        se.export_retries,
        se.export_duplicates,
        se.reconnects,
        sc.import_duplicates
    );
    assert_eq!((f.lost, f.duplicates), (0, 0), "{f:?}");
    assert!(se.reconnects >= 1, "the edge never lost its server: {se:?}");
}

fn restart_mid_stream(js: bool) -> (common::Figures, event_engine_nats::BridgeStats) {
    let mut server = NatsServer::start();
    let mut edge = NatsBridge::builder("edge")
        .server(server.url())
        .subject_prefix("traps.site1")
        .export(Filter::new("Detection"))
        .request_timeout(Duration::from_secs(2));
    let mut cloud = NatsBridge::builder("cloud")
        .server(server.url())
        .import("traps.site1.Detection")
        .request_timeout(Duration::from_secs(2));
    if js {
        edge = edge.jetstream_config(jetstream("edge", 1));
        cloud = cloud.jetstream_config(jetstream("cloud", 1));
    }
    let edge = Node::start(edge.build().unwrap(), &[]);
    let cloud = Node::start(cloud.build().unwrap(), &["Detection"]);
    cloud.wait_ready(1);
    edge.wait_ready(0);
    let n = 3000;
    stream_with_fault(&edge, &cloud, n, || server.restart());
    let target = n as u64;
    // Core NATS: everything is either received or counted lost by the importing bridge.
    let done = wait_until(DEADLINE, || {
        let f = figures("Detection", n, &cloud.received());
        if js {
            f.lost == 0
        } else {
            (f.sent - f.lost) as u64 + cloud.stats().import_lost >= target
                && edge.stats().exported == target
        }
    });
    let f = figures("Detection", n, &cloud.received());
    assert!(done, "{f:?} {:?} {:?}", edge.stats(), cloud.stats());
    (f, cloud.stats())
}

#[test]
fn a_server_restart_mid_stream_loses_nothing_with_jetstream() {
    common::init_log();
    let (f, cloud) = restart_mid_stream(true);
    println!(
        "FIGURES server restart, JetStream: sent {} received {} duplicates {} lost {} (cloud: duplicates dropped {})",
        f.sent, f.received, f.duplicates, f.lost, cloud.import_duplicates
    );
    assert_eq!((f.lost, f.duplicates), (0, 0), "{f:?}");
}

#[test]
fn a_server_restart_mid_stream_with_core_nats_counts_what_it_loses() {
    common::init_log();
    let (f, cloud) = restart_mid_stream(false);
    println!(
        "FIGURES server restart, core NATS: sent {} received {} duplicates {} lost {} (counted lost by the importing bridge: {})",
        f.sent, f.received, f.duplicates, f.lost, cloud.import_lost
    );
    assert_eq!(f.duplicates, 0, "{f:?}");
    assert_eq!(
        f.lost as u64, cloud.import_lost,
        "every loss is counted: {f:?} {cloud:?}"
    );
}
