//! `EE_BIND_ADDRESS`: the defaults of `App::new` / `EngineConfig::new` read it; an address given
//! in code wins; the endpoints a client is given are connectable. One test, alone in its binary,
//! because the environment is the whole process's.

mod common;

use common::ReqClient;
use event_engine::plugins::ExternalPluginSpec;
use event_engine::{App, EngineConfig, BIND_ADDRESS_ENV};

/// True when /proc/net/tcp shows a socket listening on every IPv4 interface at `port`.
fn listens_on_all_interfaces(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let wanted = format!("00000000:{port:04X}");
    table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.get(1) == Some(&wanted.as_str()) && cols.get(3) == Some(&"0A")
    })
}

#[test]
fn ee_bind_address_is_the_default_and_explicit_settings_win() {
    // SAFETY (edition 2021: safe to call): no other thread of this binary reads the environment.
    std::env::set_var(BIND_ADDRESS_ENV, "0.0.0.0");
    let config = EngineConfig::new(0, 0);
    assert_eq!(config.bind_address, "0.0.0.0");
    assert_eq!(config.bind_address_origin(), "from EE_BIND_ADDRESS");

    let app = App::new(0, 0)
        .with_external_plugin(ExternalPluginSpec::new("camera", 0))
        .start()
        .unwrap();
    let port = app.external_port("camera").unwrap();
    assert!(listens_on_all_interfaces(app.publish_port()));
    assert!(listens_on_all_interfaces(port));
    // What a client is given is an address it can connect to, not 0.0.0.0.
    assert_eq!(
        app.publish_endpoint(),
        format!("tcp://127.0.0.1:{}", app.publish_port())
    );
    assert_eq!(
        app.external_plugins()[0].endpoint,
        format!("tcp://127.0.0.1:{port}")
    );
    let client = ReqClient::connect(port);
    assert_eq!(client.ask(b"plugin_command: quit"), b"event-engine: bye");
    app.wait().unwrap().result().unwrap();

    // Code wins over the environment.
    let app = App::new(0, 0).bind_address("127.0.0.1");
    assert_eq!(app.config().bind_address_origin(), "from the configuration");
    let running = app.start().unwrap();
    assert!(!listens_on_all_interfaces(running.publish_port()));
    drop(running);

    // IPv6 wildcard: the endpoint given out is [::1].
    std::env::set_var(BIND_ADDRESS_ENV, "::");
    let running = App::new(0, 0).start().unwrap();
    assert_eq!(
        running.subscribe_endpoint(),
        format!("tcp://[::1]:{}", running.subscribe_port())
    );
    drop(running);

    // A bad value is a clear error that says where it came from.
    std::env::set_var(BIND_ADDRESS_ENV, "engine-host");
    let err = App::new(0, 0).start().err().unwrap().to_string();
    assert!(
        err.contains("'engine-host'") && err.contains("EE_BIND_ADDRESS"),
        "{err}"
    );
    std::env::remove_var(BIND_ADDRESS_ENV);
    assert_eq!(EngineConfig::new(0, 0).bind_address, "127.0.0.1");
}
