//! Only a plugin's own process can be that plugin (issue "authenticated plugin ports"): a port
//! started with a token refuses, at the handshake, every connection that does not present it, so
//! an impostor gets no event and its `ack` and `quit` never reach the plugin.

use std::time::{Duration, Instant};

use event_engine::auth::new_token;
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;
use event_engine_client::{Client, ClientOptions, Error, Refusal, Token};

const EVENTS: usize = 4000;

fn with_token(token: Option<&str>) -> ClientOptions {
    ClientOptions {
        token: token.map(|t| Token::new(t).unwrap()),
        ..ClientOptions::default()
    }
}

/// A client whose requests give up fast: what an impostor's calls come to.
fn impostor(token: Option<&str>) -> ClientOptions {
    ClientOptions {
        reply_timeout: Duration::from_millis(300),
        retries: 0,
        ..with_token(token)
    }
}

/// What an impostor gets from trying to receive, acknowledge and quit: nothing, with the
/// client's "no reply" error.
fn try_everything(port: u16, options: ClientOptions) -> usize {
    let expected = if options.token.is_some() {
        Refusal::WrongToken
    } else {
        Refusal::NoToken
    };
    let mut c = Client::connect_port_with("127.0.0.1", port, options).unwrap();
    let mut got = 0;
    for _ in 0..3 {
        match c.next_batch(100, Some(Duration::from_millis(100))) {
            Ok(events) => got += events.len(),
            // The client says why no reply came: its handshake was refused.
            Err(e @ Error::Disconnected { refused, .. }) => {
                assert_eq!(refused, Some(expected), "{e}");
                assert!(e.to_string().contains("during the handshake"), "{e}");
            }
            Err(e) => panic!("unexpected error from a refused client: {e}"),
        }
    }
    assert!(matches!(c.ack(), Err(Error::Disconnected { .. }) | Ok(_)));
    assert!(matches!(c.quit(), Err(Error::Disconnected { .. })));
    got
}

#[test]
fn an_impostor_gets_nothing_and_the_plugin_loses_nothing() {
    let (token, other_token) = (new_token().unwrap(), new_token().unwrap());
    let producer = FnPlugin::new("producer", |pub_socket, _sub| {
        for i in 0..EVENTS {
            pub_socket.send(format!("A{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(producer)
        .with_external_plugin(
            ExternalPluginSpec::new("victim", 0)
                .subscribe(Filter::new("A"))
                .with_token(token.clone()),
        )
        .with_external_plugin(ExternalPluginSpec::new("other", 0).with_token(other_token.clone()))
        .start()
        .unwrap();
    let port = app.external_port("victim").unwrap();

    // Without a token, with another plugin's, and as a raw 0.2 REQ client (`events.py`).
    assert_eq!(try_everything(port, impostor(None)), 0);
    assert_eq!(try_everything(port, impostor(Some(&other_token))), 0);
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::REQ).unwrap();
    raw.set_linger(0).unwrap();
    raw.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    raw.send("plugin_command: quit", 0).unwrap();
    assert_eq!(
        raw.poll(zmq::POLLIN, 500).unwrap(),
        0,
        "a raw client got a reply"
    );
    let refused_before = app.stats().external_plugins[0].refused;
    assert!(refused_before >= 3, "refused {refused_before}");

    // The real plugin, while the raw impostor stays connected, gets every event in order.
    let mut real = Client::connect_port_with("127.0.0.1", port, with_token(Some(&token))).unwrap();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen < EVENTS {
        assert!(Instant::now() < deadline, "only {seen} events arrived");
        for e in real
            .next_batch(1000, Some(Duration::from_millis(200)))
            .unwrap()
        {
            assert_eq!(e.data, format!("A{seen}").into_bytes());
            assert!(!e.redelivered);
            seen += 1;
        }
    }
    real.quit().unwrap();
    let mut other = Client::connect_port_with(
        "127.0.0.1",
        app.external_port("other").unwrap(),
        with_token(Some(&other_token)),
    )
    .unwrap();
    other.quit().unwrap();
    drop(raw);

    let report = app.wait().unwrap();
    report.result().unwrap();
    let victim = report.plugins[1].stats.as_ref().unwrap();
    assert_eq!(victim.delivered, EVENTS as u64);
    assert_eq!(victim.redelivered, 0);
    assert_eq!(victim.errors, 0);
    assert!(victim.refused >= refused_before);
    eprintln!(
        "impostors: 0 of {EVENTS} events; the plugin: {} of {EVENTS}; refused connections: {}",
        victim.delivered, victim.refused
    );
    assert_eq!(report.plugins[2].stats.as_ref().unwrap().refused, 0);
}

#[test]
fn waiting_for_external_plugins_counts_only_the_plugins_own_process() {
    let token = new_token().unwrap();
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("victim", 0).with_token(token))
        .wait_for_external_plugins(Duration::from_millis(1500))
        .start()
        .unwrap();
    let port = app.external_port("victim").unwrap();
    // Connected (TCP), but refused: the engine still waits for the plugin, then gives up.
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::REQ).unwrap();
    raw.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let err = app.wait().unwrap_err().to_string();
    assert!(err.contains("victim"), "{err}");
}

#[test]
fn a_plugin_that_presents_its_token_passes_the_start_wait() {
    let token = new_token().unwrap();
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("p", 0).with_token(token.clone()))
        .wait_for_external_plugins(Duration::from_secs(20))
        .start()
        .unwrap();
    let port = app.external_port("p").unwrap();
    let mut c = Client::connect_port_with("127.0.0.1", port, with_token(Some(&token))).unwrap();
    assert_eq!(c.hello().unwrap().name, "p");
    c.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn a_client_with_a_token_is_refused_by_a_port_without_one() {
    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("open", 0))
        .start()
        .unwrap();
    let port = app.external_port("open").unwrap();
    let token = new_token().unwrap();
    let mut c = Client::connect_port_with("127.0.0.1", port, impostor(Some(&token))).unwrap();
    // Refused as well (the mechanisms differ), and the client says so.
    assert!(matches!(
        c.hello(),
        Err(Error::Disconnected {
            refused: Some(Refusal::WrongToken),
            ..
        })
    ));
    // An engine that is not there is not a refusal.
    let absent = Client::connect_port_with("127.0.0.1", 1, impostor(None)).unwrap();
    let mut absent = absent;
    assert!(matches!(
        absent.hello(),
        Err(Error::Disconnected { refused: None, .. })
    ));
    let mut plain = Client::connect_port("127.0.0.1", port).unwrap();
    plain.quit().unwrap();
    app.wait().unwrap().result().unwrap();
}

#[test]
fn a_bad_token_is_a_setup_error_that_names_the_plugin() {
    let err = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("weak", 0).with_token("short"))
        .start()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("weak") && err.contains("16 to 255"), "{err}");
    assert!(!err.contains("short"), "the error shows the token: {err}");
}
