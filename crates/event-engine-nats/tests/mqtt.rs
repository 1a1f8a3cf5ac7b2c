//! An MQTT client reads bridged events through nats-server's MQTT gateway, and an MQTT device's
//! messages reach the bus through an import with a filter prefix.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{wait_until, Node, DEADLINE};
use event_engine::events::Filter;
use event_engine_nats::NatsBridge;
use event_engine_testkit::nats::NatsServer;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

#[test]
fn an_mqtt_client_reads_bridged_events_and_feeds_the_bus() {
    common::init_log();
    let server = NatsServer::start_with_mqtt();
    let edge = Node::start(
        NatsBridge::builder("edge")
            .server(server.url())
            .subject_prefix("traps.site1")
            .export(Filter::new("Detection"))
            .import_with_prefix("traps.site1.cmd", "Command")
            .build()
            .unwrap(),
        &["Command"],
    );
    edge.wait_ready(1);

    let mut options = MqttOptions::new("ee-mqtt-test", "127.0.0.1", server.mqtt_port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 100);
    client
        .subscribe("traps/site1/Detection", QoS::AtMostOnce)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(None);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(Some(p.payload.to_vec())).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), None, "no SUBACK");

    let n = 200;
    for i in 0..n {
        edge.publish(format!("Detection{i}"));
    }
    for i in 0..n {
        let got = rx.recv_timeout(DEADLINE).expect("an MQTT message");
        // The whole event, filter included, in order.
        assert_eq!(got, Some(format!("Detection{i}").into_bytes()));
    }

    client
        .publish("traps/site1/cmd", QoS::AtMostOnce, false, "reboot")
        .unwrap();
    assert!(wait_until(DEADLINE, || edge.received_count() == 1));
    assert_eq!(edge.received()[0], b"Commandreboot");
    assert!(
        wait_until(DEADLINE, || edge.stats().exported == n as u64),
        "{:?}",
        edge.stats()
    );
    client.disconnect().unwrap();
    let _ = reader.join();
}
