//! Run lifecycle: failures are reported by name, shutdown frees the ports, stop and
//! wait-for-external behave.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ReqClient;
use event_engine::errors::{EngineError, FailureKind};
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{App, Outcome, Phase};

fn waits_forever(name: &str) -> FnPlugin {
    FnPlugin::new(name, |_pub, sub| {
        // Blocks until the engine stops it: recv returns ETERM and the plugin fails with it.
        sub.recv_bytes(0)?;
        Ok(())
    })
    .subscribe(Filter::new("Never"))
}

#[test]
fn failing_and_panicking_plugins_are_named_and_the_ports_are_free_again() {
    let failing = FnPlugin::new("failing-plugin", |_pub, _sub| {
        Err(EngineError::PluginExecutionError(
            "failing-plugin".into(),
            "id".into(),
            "sensor offline".into(),
        ))
    });
    let panicking = FnPlugin::new("panicking-plugin", |_pub, _sub| {
        panic!("index out of range")
    });
    let app = App::new(0, 0)
        .stop_on_failure(true)
        .with_plugin(failing)
        .with_plugin(panicking)
        .with_plugin(waits_forever("waiting-plugin"))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0))
        .start()
        .unwrap();
    let ports = (
        app.publish_port(),
        app.subscribe_port(),
        app.external_port("ext").unwrap(),
    );
    let started = Instant::now();
    let report = app.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took too long"
    );
    let err = report.result().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("failing-plugin") && msg.contains("sensor offline"),
        "{msg}"
    );
    assert!(
        msg.contains("panicking-plugin") && msg.contains("index out of range"),
        "{msg}"
    );
    let EngineError::PluginsFailed(failures) = err else {
        panic!("unexpected error {err:?}")
    };
    assert_eq!(failures.len(), 2);
    assert!(failures
        .iter()
        .any(|f| f.name == "panicking-plugin" && f.kind == FailureKind::Panic));
    // The others were told to stop, and say so.
    for name in ["waiting-plugin", "ext"] {
        let p = report.plugins.iter().find(|p| p.name == name).unwrap();
        assert!(
            matches!(p.outcome, Outcome::Stopped(_)),
            "{name}: {:?}",
            p.outcome
        );
    }

    // A new app binds the same ports at once.
    let again = App::new(ports.0 as i32, ports.1 as i32)
        .with_external_plugin(ExternalPluginSpec::new("ext", ports.2 as i32))
        .start()
        .unwrap();
    assert_eq!(again.publish_port(), ports.0);
    let client = ReqClient::connect(ports.2);
    assert_eq!(client.ask(b"plugin_command: quit"), b"event-engine: bye");
    again.wait().unwrap().result().unwrap();
}

#[test]
fn two_apps_run_one_after_the_other_on_the_same_ports() {
    let first = App::new(0, 0).start().unwrap();
    let (p, s) = (first.publish_port() as i32, first.subscribe_port() as i32);
    first.wait().unwrap();
    for _ in 0..3 {
        let producer = FnPlugin::new("p", |pub_socket, _| {
            pub_socket.send("Ping", 0)?;
            Ok(())
        });
        let consumer = FnPlugin::new("c", |_, sub| {
            assert_eq!(sub.recv_bytes(0)?, b"Ping");
            Ok(())
        })
        .subscribe(Filter::new("Ping"));
        App::new(p, s)
            .with_plugin(producer)
            .with_plugin(consumer)
            .run()
            .unwrap();
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    // (an app without plugins would finish at once and free its ports)
    let first = App::new(0, 0)
        .with_plugin(waits_forever("holder"))
        .start()
        .unwrap();
    let err = App::new(first.publish_port() as i32, 0)
        .start()
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("publish port") && msg.contains(&first.publish_port().to_string()),
        "{msg}"
    );
    assert!(matches!(err, EngineError::Bind { .. }));
    first.stop();
    first.wait().unwrap();
}

/// Polls `condition` until it holds, for at most 20 s.
fn poll_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Like [`waits_forever`], saying on `started` when its `start` runs.
fn waits_forever_told(name: &str, started: std::sync::mpsc::Sender<String>) -> FnPlugin {
    let me = name.to_string();
    FnPlugin::new(name, move |_pub, sub| {
        let _ = started.send(me.clone());
        sub.recv_bytes(0)?;
        Ok(())
    })
    .subscribe(Filter::new("Never"))
}

#[test]
fn stop_ends_a_run_and_plugins_are_reported_stopped() {
    let (started_tx, started) = std::sync::mpsc::channel();
    let app = App::new(0, 0)
        .with_plugin(waits_forever_told("a", started_tx.clone()))
        .with_plugin(waits_forever_told("b", started_tx))
        .with_external_plugin(ExternalPluginSpec::new("ext", 0))
        .start()
        .unwrap();
    // Stop once every plugin runs (not after a guess of how long that takes): both internal
    // plugins said so, and the external plugin's thread answers a request.
    for _ in 0..2 {
        started
            .recv_timeout(Duration::from_secs(20))
            .expect("both internal plugins start");
    }
    let options = event_engine_client::ClientOptions {
        reply_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let endpoint = format!("tcp://127.0.0.1:{}", app.external_port("ext").unwrap());
    let mut client = event_engine_client::Client::connect_with(&endpoint, options).unwrap();
    client.hello().expect("the external plugin's thread serves");
    drop(client);
    assert_eq!(app.phase(), Phase::Running);
    let stop = app.stop_handle();
    let t = std::thread::spawn(move || stop.stop());
    let report = app.wait().unwrap();
    t.join().unwrap();
    assert!(report.stop_requested);
    report.result().unwrap();
    assert!(
        report
            .plugins
            .iter()
            .all(|p| matches!(p.outcome, Outcome::Stopped(_))),
        "{report}"
    );
}

#[test]
fn an_app_without_plugins_finishes_at_once() {
    let report = App::new(0, 0).run_with_report().unwrap();
    assert!(report.plugins.is_empty());
    assert_eq!(report.events_forwarded, 0);
}

#[test]
fn dropping_a_running_app_stops_it() {
    let app = App::new(0, 0)
        .with_plugin(waits_forever("a"))
        .start()
        .unwrap();
    let port = app.publish_port();
    drop(app);
    // the port is free again
    App::new(port as i32, 0).start().unwrap().stop();
}

#[test]
fn wait_for_external_times_out_naming_the_missing_plugin() {
    let started = Instant::now();
    let err = App::new(0, 0)
        .wait_for_external_plugins(Duration::from_millis(300))
        .with_plugin(waits_forever("internal"))
        .with_external_plugin(ExternalPluginSpec::new("camera-reader", 0))
        .run()
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let msg = err.to_string();
    assert!(
        matches!(err, EngineError::ExternalPluginsNotConnected { .. }),
        "{msg}"
    );
    assert!(msg.contains("camera-reader"), "{msg}");
}

#[test]
fn wait_for_external_holds_internal_plugins_until_the_process_connects() {
    let started = Arc::new(AtomicBool::new(false));
    let started_at = Arc::new(std::sync::Mutex::new(None));
    let producer = {
        let (started, started_at) = (Arc::clone(&started), Arc::clone(&started_at));
        FnPlugin::new("producer", move |pub_socket, _| {
            *started_at.lock().unwrap() = Some(Instant::now());
            started.store(true, Ordering::SeqCst);
            pub_socket.send("Go", 0)?;
            Ok(())
        })
    };
    let app = App::new(0, 0)
        .wait_for_external_plugins(Duration::from_secs(20))
        .with_plugin(producer)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("Go")))
        .start()
        .unwrap();
    // The start barrier has passed and the engine waits for the process: the producer, which
    // would otherwise have run by now, is held at the gate.
    poll_until("the wait for external plugins", || {
        app.phase() == Phase::WaitingForExternal
    });
    assert!(
        !started.load(Ordering::SeqCst),
        "the producer ran before the process connected"
    );
    assert_eq!(app.stats().events_forwarded, 0);
    let connecting = Instant::now();
    let client = ReqClient::connect(app.external_port("ext").unwrap());
    assert_eq!(client.ask(b"plugin_command: next_msg"), b"Go");
    client.ask(b"plugin_command: quit");
    app.wait().unwrap().result().unwrap();
    let started_at = started_at.lock().unwrap().expect("the producer ran");
    assert!(
        started_at > connecting,
        "the producer started before the process connected"
    );
}

#[test]
fn a_plugin_whose_subscriptions_fail_is_named_before_anything_runs() {
    struct Broken;
    impl event_engine::plugins::Plugin for Broken {
        fn start(&self, _: zmq::Socket, _: zmq::Socket) -> Result<(), EngineError> {
            unreachable!("never started")
        }
        fn get_subscriptions(
            &self,
        ) -> Result<Vec<Box<dyn event_engine::events::EventType>>, EngineError> {
            panic!("no config file")
        }
        fn get_id(&self) -> uuid::Uuid {
            uuid::Uuid::nil()
        }
        fn get_name(&self) -> String {
            "broken".into()
        }
    }
    let err = App::new(0, 0).with_plugin(Broken).start().err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("broken") && msg.contains("no config file"),
        "{msg}"
    );
}

#[test]
fn tcp_ports_listen_on_loopback_by_default() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0))
        .start()
        .unwrap();
    assert!(app.publish_endpoint().starts_with("tcp://127.0.0.1:"));
    assert!(app.subscribe_endpoint().starts_with("tcp://127.0.0.1:"));
    assert!(app.external_plugins()[0]
        .endpoint
        .starts_with("tcp://127.0.0.1:"));
    app.stop();
}

#[test]
fn invalid_configuration_is_refused_with_the_reason() {
    let err = App::new(0, 0)
        .bind_address("nowhere")
        .start()
        .err()
        .unwrap();
    assert!(err.to_string().contains("bind_address 'nowhere'"));
    let err = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("ext", 70000))
        .start()
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("port of external plugin 'ext'"),
        "{err}"
    );
}

#[test]
fn a_plugin_that_keeps_its_socket_does_not_hang_run() {
    let leaky = FnPlugin::new("leaky", |_pub, sub| {
        // A bug: the socket outlives start() and is never read or closed.
        std::mem::forget(sub);
        Ok(())
    })
    .subscribe(Filter::new("Tick"));
    let producer = FnPlugin::new("producer", |pub_socket, _| {
        for i in 0..10 {
            pub_socket.send(format!("Tick{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let started = Instant::now();
    let report = App::new(0, 0)
        .with_plugin(leaky)
        .with_plugin(producer)
        .run_with_report()
        .unwrap();
    report.result().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.events_forwarded, 10);
}
