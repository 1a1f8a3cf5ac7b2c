//! event-engine 0.2 applications run unchanged: the plugins below are 0.2's example code verbatim
//! (only the ports differ: 0 = any free port, so tests run in parallel).

mod common;

use std::sync::Arc;

use common::*;
use event_engine::errors::EngineError;
use event_engine::events::{Event, EventType};
use event_engine::plugins::{ExternalPlugin, Plugin};
use event_engine::App;
use uuid::Uuid;
use zmq::Socket;

// ----- 0.2 example plugins, unchanged -----
struct MsgProducerPlugin {
    id: uuid::Uuid,
}
impl MsgProducerPlugin {
    fn new() -> Self {
        MsgProducerPlugin {
            id: uuid::Uuid::new_v4(),
        }
    }
}
impl Plugin for MsgProducerPlugin {
    fn get_name(&self) -> String {
        "MsgProducerPlugin".to_string()
    }
    fn start(&self, pub_socket: Socket, sub_socket: Socket) -> Result<(), EngineError> {
        // send 5 messages
        let mut total_messages_sent = 0;
        while total_messages_sent < 5 {
            let message = format!("This is message {}", total_messages_sent);
            let m = TypeAEvent { message };
            let data = m.to_bytes().unwrap();
            pub_socket.send(data, 0).unwrap();
            total_messages_sent += 1;
        }
        // now get the TypeB events
        let mut total_messages_read = 0;
        while total_messages_read < 5 {
            let b = sub_socket.recv_bytes(0).unwrap();
            let event_msg = TypeBEvent::from_bytes(b).unwrap();
            // "This is message N" has 17 characters.
            assert_eq!(event_msg.count, 17);
            total_messages_read += 1;
        }
        Ok(())
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(vec![Box::new(TypeBEventType {})])
    }

    fn get_id(&self) -> uuid::Uuid {
        self.id
    }
}

struct CounterPlugin {
    id: uuid::Uuid,
}
impl CounterPlugin {
    fn new() -> Self {
        CounterPlugin {
            id: uuid::Uuid::new_v4(),
        }
    }
}
impl Plugin for CounterPlugin {
    fn get_name(&self) -> String {
        "CounterPlugin".to_string()
    }

    fn start(&self, pub_socket: Socket, sub_socket: Socket) -> Result<(), EngineError> {
        let mut total_messages_read = 0;
        while total_messages_read < 5 {
            let b = sub_socket.recv_bytes(0).unwrap();
            let event_msg = TypeAEvent::from_bytes(b).unwrap();
            let count = event_msg.message.len();
            total_messages_read += 1;
            let m = TypeBEvent { count };
            let data = m.to_bytes().unwrap();
            pub_socket.send(data, 0).unwrap();
        }
        Ok(())
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(vec![Box::new(TypeAEventType {})])
    }

    fn get_id(&self) -> uuid::Uuid {
        self.id
    }
}

struct PyPlugin {
    id: uuid::Uuid,
    port: i32,
}

impl ExternalPlugin for PyPlugin {
    fn get_name(&self) -> String {
        "PyPlugin".to_string()
    }

    fn get_tcp_port(&self) -> i32 {
        self.port
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(vec![
            Box::new(TypeAEventType {}),
            Box::new(TypeBEventType {}),
        ])
    }

    fn get_id(&self) -> Uuid {
        self.id
    }
}
// ----- end of 0.2 code -----

#[test]
fn the_02_example_flow_runs_unchanged() {
    let msg_producer = MsgProducerPlugin::new();
    let counter = CounterPlugin::new();
    let app: App = App::new(0, 0);
    app.register_plugin(Arc::new(Box::new(msg_producer)))
        .register_plugin(Arc::new(Box::new(counter)))
        .run()
        .map_err(|e| format!("Got error from Engine! Details: {}", e))
        .unwrap();
}

#[test]
fn the_02_non_chaining_registration_works() {
    let mut app = App::new(0, 0);
    app.register_plugins(vec![
        Arc::new(Box::new(MsgProducerPlugin::new())),
        Arc::new(Box::new(CounterPlugin::new())),
    ]);
    app.register_external_plugins(vec![]);
    assert_eq!(app.plugins.len(), 2);
    app.run().unwrap();
}

/// The 0.2 example application with its Python plugin, played by a raw REQ client sending the
/// bytes events.py sends: read 10 events (5 TypeA, 5 TypeB), publish a TypeC, quit.
#[test]
fn the_02_example_app_with_an_events_py_client() {
    let app = App::new(0, 0)
        .with_plugin(ProducerWithTypeC)
        .with_plugin(CounterPlugin::new())
        .register_external_plugin(Arc::new(Box::new(PyPlugin {
            id: Uuid::new_v4(),
            port: 0,
        })))
        .start()
        .unwrap();
    let client = ReqClient::connect(app.external_port("PyPlugin").unwrap());
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(client.ask(b"plugin_command: next_msg"));
    }
    assert_eq!(
        got.iter().filter(|e| e.starts_with(b"TypeA")).count(),
        5,
        "{got:?}"
    );
    assert_eq!(got.iter().filter(|e| e.starts_with(b"TypeB")).count(), 5);
    assert_eq!(
        client.ask(b"TypeCGoodbye from python"),
        b"event-engine: msg published"
    );
    client.socket.send("plugin_command: quit", 0).unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    let py = report
        .plugins
        .iter()
        .find(|p| p.name == "PyPlugin")
        .unwrap();
    let stats = py.stats.as_ref().unwrap();
    assert_eq!((stats.delivered, stats.published), (10, 1));
}

/// 0.2's example producer: 5 TypeA, then 5 TypeB, then the TypeC from the Python plugin.
struct ProducerWithTypeC;
impl Plugin for ProducerWithTypeC {
    fn start(&self, mut pub_socket: Socket, sub_socket: Socket) -> Result<(), EngineError> {
        for i in 0..5 {
            TypeAEvent {
                message: format!("This is message {i}"),
            }
            .send(&mut pub_socket)?;
        }
        for _ in 0..5 {
            let b = sub_socket.recv_bytes(0)?;
            assert!(b.starts_with(b"TypeB"));
        }
        let c = sub_socket.recv_bytes(0)?;
        assert_eq!(c, b"TypeCGoodbye from python");
        Ok(())
    }
    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        Ok(vec![
            Box::new(TypeBEventType {}),
            event_engine::events::Filter::new("TypeC").boxed(),
        ])
    }
    fn get_id(&self) -> Uuid {
        Uuid::new_v4()
    }
    fn get_name(&self) -> String {
        "MsgProducerPlugin".into()
    }
}

/// A 0.2 external plugin whose `get_id()` makes a new id at every call, counting its calls.
struct FreshIds {
    calls: Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl ExternalPlugin for FreshIds {
    fn get_name(&self) -> String {
        self.calls.lock().unwrap().push("get_name");
        "fresh".to_string()
    }

    fn get_tcp_port(&self) -> i32 {
        self.calls.lock().unwrap().push("get_tcp_port");
        0
    }

    fn get_subscriptions(&self) -> Result<Vec<Box<dyn EventType>>, EngineError> {
        self.calls.lock().unwrap().push("get_subscriptions");
        Ok(vec![Box::new(TypeAEventType {})])
    }

    fn get_id(&self) -> Uuid {
        self.calls.lock().unwrap().push("get_id");
        Uuid::new_v4()
    }
}

#[test]
fn an_external_plugin_is_described_once_and_hello_agrees_with_the_report() {
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = App::new(0, 0)
        .with_external_plugin(FreshIds {
            calls: Arc::clone(&calls),
        })
        .start()
        .unwrap();
    let port = app.external_port("fresh").unwrap();
    let mut client = event_engine_client::Client::connect_port("127.0.0.1", port).unwrap();
    let hello = client.hello().unwrap();
    client.quit().unwrap();
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert_eq!(hello.id, report.plugins[0].id.to_string());
    let mut called = calls.lock().unwrap().clone();
    called.sort_unstable();
    assert_eq!(
        called,
        ["get_id", "get_name", "get_subscriptions", "get_tcp_port"],
        "every method once"
    );
}
