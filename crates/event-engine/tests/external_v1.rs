//! Protocol v1 over TCP with the exact bytes of 0.2's events.py, and every malformed case.

mod common;

use common::{text, ReqClient};
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;

fn app_with_feed(events: &'static [&'static [u8]]) -> (event_engine::RunningApp, u16) {
    let feed = FnPlugin::new("feed", move |pub_socket, sub| {
        for e in events {
            pub_socket.send(*e, 0)?;
        }
        // Wait for what the external plugin publishes.
        assert_eq!(sub.recv_bytes(0)?, b"Reply from outside");
        Ok(())
    })
    .subscribe(Filter::new("Reply"));
    let app = App::new(0, 0)
        .with_plugin(feed)
        .with_external_plugin(ExternalPluginSpec::new("ext", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let port = app.external_port("ext").unwrap();
    (app, port)
}

fn assert_error(reply: Vec<u8>, code: &str) {
    let t = text(&reply);
    assert!(
        t.starts_with(&format!("event-engine: error {code}: ")),
        "expected a {code} error, got {t:?}"
    );
}

#[test]
fn v1_next_publish_quit_are_byte_exact() {
    let (app, port) = app_with_feed(&[b"TypeAone", b"TypeBskipped", b"TypeAtwo"]);
    let c = ReqClient::connect(port);
    assert_eq!(c.ask(b"plugin_command: next_msg"), b"TypeAone");
    assert_eq!(c.ask(b"plugin_command: next_msg"), b"TypeAtwo");
    assert_eq!(c.ask(b"Reply from outside"), b"event-engine: msg published");
    assert_eq!(c.ask(b"plugin_command: quit"), b"event-engine: bye");
    app.wait().unwrap().result().unwrap();
}

#[test]
fn malformed_requests_get_errors_and_the_plugin_keeps_serving() {
    let (app, port) = app_with_feed(&[b"TypeAone", b"TypeAtwo"]);
    let c = ReqClient::connect(port);
    assert_error(c.ask(b"plugin_command: fly"), "unknown_command");
    assert_error(c.ask(b"plugin_command: next_msg please"), "bad_command");
    assert_error(c.ask(b"plugin_command: next_msg\n"), "bad_command");
    assert_error(c.ask(b"plugin_command: quit!"), "bad_command");
    assert_error(c.ask(b"plugin_command:next_msg"), "bad_command");
    assert_error(c.ask(b"plugin_command: \xff\xfe\xfd"), "not_utf8");
    assert_error(c.ask(b""), "empty_message");
    let reply = c.request(&[b"TypeApart one", b"part two"]);
    assert_eq!(reply.len(), 1);
    assert_error(reply[0].clone(), "multipart_message");
    let reply = c.request(&[b"plugin_command: next_msg", b"extra"]);
    assert_error(reply[0].clone(), "multipart_message");
    // still serving, nothing was lost or published by the bad requests
    assert_eq!(c.ask(b"plugin_command: next_msg"), b"TypeAone");
    assert_eq!(c.ask(b"plugin_command: next_msg"), b"TypeAtwo");
    assert_eq!(c.ask(b"Reply from outside"), b"event-engine: msg published");
    c.ask(b"plugin_command: quit");
    let report = app.wait().unwrap();
    report.result().unwrap();
    let stats = report.plugins[1].stats.clone().unwrap();
    assert_eq!((stats.errors, stats.published, stats.delivered), (9, 1, 2));
}

#[test]
fn a_dealer_without_the_req_envelope_gets_an_error() {
    let (app, port) = app_with_feed(&[]);
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_rcvtimeo(20_000).unwrap();
    dealer.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    dealer.send("plugin_command: next_msg", 0).unwrap();
    let reply = dealer.recv_multipart(0).unwrap();
    assert_eq!(reply[0], b"");
    assert_error(reply[1].clone(), "missing_delimiter");
    // A proper client still works.
    let c = ReqClient::connect(port);
    c.ask(b"Reply from outside");
    c.ask(b"plugin_command: quit");
    app.wait().unwrap().result().unwrap();
}

#[test]
fn a_v1_reply_is_a_delivery_whatever_connection_asks_next() {
    // 0.2's semantics: plugins that open a new socket for every receive get the next event.
    let (app, port) = app_with_feed(&[b"TypeAone", b"TypeAtwo", b"TypeAthree"]);
    let first = ReqClient::connect(port);
    assert_eq!(first.ask(b"plugin_command: next_msg"), b"TypeAone");
    drop(first);
    let second = ReqClient::connect(port);
    assert_eq!(second.ask(b"plugin_command: next_msg"), b"TypeAtwo");
    // The old socket is still open: asking on it again does not repeat anything either.
    let third = ReqClient::connect(port);
    assert_eq!(third.ask(b"plugin_command: next_msg"), b"TypeAthree");
    second.ask(b"Reply from outside");
    third.ask(b"plugin_command: quit");
    let report = app.wait().unwrap();
    let stats = report.plugins[1].stats.clone().unwrap();
    assert_eq!(
        (
            stats.delivered,
            stats.redelivered,
            stats.acked,
            stats.pending,
            stats.sessions
        ),
        (3, 0, 3, 0, 0)
    );
}

#[test]
fn unregistered_processes_use_the_tcp_ports_directly() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let seen = Arc::new(AtomicBool::new(false));
    let seen2 = Arc::clone(&seen);
    // Publishes until the TCP subscriber has one (its subscription may arrive late: its own race).
    let producer = FnPlugin::new("producer", move |pub_socket, sub| {
        while !seen2.load(Ordering::SeqCst) {
            pub_socket.send("TickTock", 0)?;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // and reads what the TCP publisher sent
        assert_eq!(sub.recv_bytes(0)?, b"FromOutside hi");
        Ok(())
    })
    .subscribe(Filter::new("FromOutside"));
    let app = App::new(0, 0).with_plugin(producer).start().unwrap();
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.set_rcvtimeo(20_000).unwrap();
    sub.connect(app.subscribe_endpoint()).unwrap();
    sub.set_subscribe(b"Tick").unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"TickTock");
    seen.store(true, Ordering::SeqCst);
    // An XPUB publisher learns when the engine's subscription has arrived, then publishes.
    let publisher = ctx.socket(zmq::XPUB).unwrap();
    publisher.set_rcvtimeo(20_000).unwrap();
    publisher.connect(app.publish_endpoint()).unwrap();
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01");
    publisher.send("FromOutside hi", 0).unwrap();
    app.wait().unwrap().result().unwrap();
}
