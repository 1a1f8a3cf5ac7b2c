//! The shared table of SDK cases (`sdk-cases.txt`), run through the Rust client. Python,
//! Node.js and C run the same file through their own APIs.

use std::time::Duration;

use event_engine_client::{Client, ClientOptions, LaunchEnv, Target};

/// The cases of one `[section]` of the table: each row's columns, trimmed.
fn section(name: &str) -> Vec<Vec<String>> {
    let text = include_str!("../sdk-cases.txt");
    let mut rows = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.to_string();
            continue;
        }
        if current == name {
            rows.push(line.split('|').map(|c| c.trim().to_string()).collect());
        }
    }
    assert!(!rows.is_empty(), "no cases in [{name}]");
    rows
}

fn given(cell: &str) -> Option<String> {
    match cell {
        "-" => None,
        "\"\"" => Some(String::new()),
        _ => Some(cell.to_string()),
    }
}

/// `ok`, an endpoint, or the error kind's name.
fn outcome(result: event_engine_client::Result<String>) -> String {
    match result {
        Ok(s) => s,
        Err(e) => e.kind().name().to_string(),
    }
}

#[test]
fn connect_cases() {
    for row in section("connect") {
        let [port, host, endpoint, env_endpoint, env_port, expected] = &row[..] else {
            panic!("a [connect] row has 6 columns: {row:?}");
        };
        let target = Target {
            port: given(port).map(|p| p.parse().expect("a port column is a number")),
            host: given(host),
            endpoint: given(endpoint),
        };
        let env = LaunchEnv {
            endpoint: given(env_endpoint),
            port: given(env_port),
            ..LaunchEnv::default()
        };
        let got = outcome(
            target
                .resolve(&env)
                .and_then(|e| Client::connect(&e).map(|c| c.endpoint().to_string())),
        );
        assert_eq!(&got, expected, "{row:?}");
    }
}

fn millis(value: &str) -> Duration {
    Duration::from_secs_f64(value.parse::<f64>().expect("a number of milliseconds") / 1000.0)
}

#[test]
fn option_cases() {
    for row in section("option") {
        let [name, value, expected] = &row[..] else {
            panic!("an [option] row has 3 columns: {row:?}");
        };
        let mut o = ClientOptions::default();
        // Values too large for a Duration are what the bindings refuse on conversion; here they
        // reach `validate` as the largest Duration, which it refuses the same way.
        let d = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| *v / 1000.0 < u64::MAX as f64)
                .map_or(Duration::MAX, |_| millis(value))
        };
        // A Duration cannot be negative: the Rust API cannot be given such a value at all.
        if value.starts_with('-') {
            assert_eq!(expected, "invalid_argument", "{row:?}");
            continue;
        }
        match name.as_str() {
            "reply_timeout" => o.reply_timeout = d(),
            "retries" => o.retries = value.parse().expect("retries is a count"),
            "publish_timeout" => o.publish_timeout = (value != "none").then(d),
            "long_poll" => o.long_poll = d(),
            "poll_slice" => o.poll_slice = d(),
            "reconnect_backoff" => o.reconnect_backoff = d(),
            "max_backoff" => o.max_backoff = d(),
            "max_batch_bytes" => o.max_batch_bytes = value.parse().expect("a byte count"),
            other => panic!("unknown option {other}"),
        }
        let got = outcome(Client::connect_with("tcp://127.0.0.1:1", o).map(|_| "ok".into()));
        assert_eq!(&got, expected, "{row:?}");
    }
}

#[test]
fn max_cases() {
    let mut c = Client::connect_with(
        "tcp://127.0.0.1:1",
        ClientOptions {
            reply_timeout: Duration::from_millis(10),
            retries: 0,
            ..ClientOptions::default()
        },
    )
    .unwrap();
    for row in section("max") {
        let [max, expected] = &row[..] else {
            panic!("a [max] row has 2 columns: {row:?}");
        };
        let max: usize = max.parse().expect("max is a count");
        let got = outcome(
            c.next_batch(max, Some(Duration::ZERO))
                .map(|_| "ok".to_string()),
        );
        assert_eq!(&got, expected, "{row:?}");
    }
}
