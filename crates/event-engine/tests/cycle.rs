//! Publish/consume cycles (docs/architecture.md): the documented poll loop keeps an internal
//! plugin from deadlocking, and an external plugin's engine thread buffers on its own.

mod common;

use std::time::Duration;

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;
use event_engine_client::Client;

const N: u64 = 100_000;

fn counter() -> FnPlugin {
    FnPlugin::new("counter", |pub_socket, sub| {
        for _ in 0..N {
            let e = sub.recv_bytes(0)?;
            pub_socket.send(format!("TypeB{}", e.len() - 5).as_bytes(), 0)?;
        }
        Ok(())
    })
    .subscribe(Filter::new("TypeA"))
}

/// The producer of the architecture page: publishes and reads in one poll loop.
#[test]
fn a_poll_loop_producer_in_a_cycle_completes() {
    let producer = FnPlugin::new("producer", |pub_socket, sub_socket| {
        let (mut sent, mut received) = (0u64, 0u64);
        while received < N {
            let mut items = [
                sub_socket.as_poll_item(zmq::POLLIN),
                pub_socket.as_poll_item(if sent < N {
                    zmq::POLLOUT
                } else {
                    zmq::PollEvents::empty()
                }),
            ];
            zmq::poll(&mut items, -1)?;
            if items[0].is_readable() {
                assert!(sub_socket.recv_bytes(0)?.starts_with(b"TypeB"));
                received += 1;
            }
            if items[1].is_writable() {
                pub_socket.send(format!("TypeAmessage {sent}").as_bytes(), 0)?;
                sent += 1;
            }
        }
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));
    App::new(0, 0)
        .high_water_mark(100)
        .with_plugin(producer)
        .with_plugin(counter())
        .run()
        .unwrap();
}

/// An external plugin that answers big batches while the bus is full: its engine thread takes its
/// incoming events off the bus while the publish waits, so the cycle never locks.
#[test]
fn an_external_plugin_in_a_cycle_never_deadlocks() {
    const M: u64 = 20_000;
    let producer = FnPlugin::new("producer", |pub_socket, sub| {
        let reader = std::thread::spawn(move || -> zmq::Result<()> {
            for _ in 0..M {
                sub.recv_bytes(0)?;
            }
            Ok(())
        });
        for i in 0..M {
            pub_socket.send(format!("TypeA{i}").as_bytes(), 0)?;
        }
        reader.join().map_err(|_| zmq::Error::EFAULT)??;
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));
    let app = App::new(0, 0)
        .high_water_mark(50)
        .with_plugin(producer)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let mut c = Client::connect_port("127.0.0.1", app.external_port("ext").unwrap()).unwrap();
    let mut answered = 0;
    let mut max_buffered = 0;
    while answered < M {
        let batch = c.next_batch(2000, Some(Duration::from_secs(30))).unwrap();
        assert!(!batch.is_empty());
        let answers: Vec<Vec<u8>> = batch
            .iter()
            .map(|e| format!("TypeB{}", e.data.len()).into_bytes())
            .collect();
        c.publish_batch(&answers).unwrap();
        answered += batch.len() as u64;
        max_buffered = max_buffered.max(c.stats().unwrap().buffered);
    }
    c.quit().unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    let stats = report.plugins[1].stats.clone().unwrap();
    assert_eq!((stats.delivered, stats.published), (M, M));
    assert!(
        max_buffered > 0,
        "the buffer was never needed: the test proves nothing"
    );
}

/// A plugin that consumes and publishes (0.2's load-test operator) may be blocked publishing
/// while the forwarder waits for it to consume: the forwarder then drains its output, so the two
/// never deadlock. Tiny queues make that moment happen all the time.
#[test]
fn a_consume_and_publish_plugin_never_deadlocks_the_bus() {
    const M: u64 = 100_000;
    for _ in 0..5 {
        let producer = FnPlugin::new("producer", |pub_socket, sub| {
            let reader = std::thread::spawn(move || -> zmq::Result<()> {
                for i in 0..M {
                    assert_eq!(sub.recv_bytes(0)?, format!("Out{i}").into_bytes());
                }
                Ok(())
            });
            for i in 0..M {
                pub_socket.send(format!("In{i}").as_bytes(), 0)?;
            }
            reader.join().map_err(|_| zmq::Error::EFAULT)??;
            Ok(())
        })
        .subscribe(Filter::new("Out"));
        let operator = FnPlugin::new("operator", |pub_socket, sub| {
            for _ in 0..M {
                let e = sub.recv_bytes(0)?;
                pub_socket.send([b"Out".as_slice(), &e[2..]].concat(), 0)?;
            }
            Ok(())
        })
        .subscribe(Filter::new("In"));
        App::new(0, 0)
            .high_water_mark(5)
            .with_plugin(producer)
            .with_plugin(operator)
            .run()
            .unwrap();
    }
}
