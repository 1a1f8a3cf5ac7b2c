//! The Rust side of the C SDK's end-to-end tests: hosts an engine in which a Rust plugin
//! (`producer`) exchanges events with an external plugin (`counter`) played by the command given
//! on the command line, e.g. a C program.
//!
//! ```sh
//! rust_peer [--count N] -- ./counter [ARGS...]
//! ```
//!
//! The command is started with `EE_PLUGIN_NAME`, `EE_PLUGIN_PORT`, `EE_PLUGIN_ENDPOINT` and
//! `EE_COUNT` in its environment (as `event-engine run` does). The producer publishes N `TypeA`
//! events (text, then NUL and 0xff bytes, so a C plugin that uses `strlen` is caught) and expects
//! one `TypeB<number of bytes after the 5-byte filter>` answer for each. Exit status 0 when every
//! answer came, the command exited 0 and every plugin finished; 1 otherwise. Its last line is
//! `rust_peer: N passed, N failed`.

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{App, Outcome};

fn payload(i: u64) -> Vec<u8> {
    let mut p = format!("This is message {i}").into_bytes();
    p.extend(vec![0u8; (i % 3) as usize]);
    p.push(0xff);
    p
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut count: u64 = 5;
    let mut i = 0;
    while i < args.len() && args[i] != "--" {
        if args[i] == "--count" {
            count = args
                .get(i + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| usage());
            i += 1;
        } else {
            usage();
        }
        i += 1;
    }
    let command = &args[(i + 1).min(args.len())..];
    if command.is_empty() {
        usage();
    }
    let (passed, failed) = run(count, command);
    println!("rust_peer: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage() -> ! {
    eprintln!("usage: rust_peer [--count N] -- COMMAND [ARGS...]");
    std::process::exit(2)
}

fn run(count: u64, command: &[String]) -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut check = |ok: bool, what: &str| {
        if ok {
            passed += 1;
        } else {
            failed += 1;
            eprintln!("rust_peer: FAILED: {what}");
        }
    };

    let (answers_tx, answers_rx) = mpsc::channel();
    let producer = FnPlugin::new("producer", move |pub_socket, sub_socket| {
        for i in 0..count {
            pub_socket.send([b"TypeA".as_slice(), &payload(i)].concat(), 0)?;
        }
        let mut answers = Vec::new();
        for _ in 0..count {
            answers.push(sub_socket.recv_bytes(0)?);
        }
        let _ = answers_tx.send(answers);
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));
    let counter = ExternalPluginSpec::new("counter", 0).subscribe(Filter::new("TypeA"));
    let app = App::new(0, 0)
        .with_plugin(producer)
        .with_external_plugin(counter)
        .wait_for_external_plugins(Duration::from_secs(60));
    let running = match app.start() {
        Ok(r) => r,
        Err(e) => {
            check(false, &format!("the engine did not start: {e}"));
            return (passed, failed);
        }
    };
    let port = running.external_port("counter").unwrap_or_default();
    // The launch environment, as `event-engine run` sets it.
    let launch = event_engine_client::LaunchEnv {
        name: Some("counter".into()),
        port: Some(port.to_string()),
        endpoint: Some(format!("tcp://127.0.0.1:{port}")),
        ..Default::default()
    };
    let child = Command::new(&command[0])
        .args(&command[1..])
        .envs(launch.vars())
        .env("EE_COUNT", count.to_string())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            check(false, &format!("could not start {command:?}: {e}"));
            return (passed, failed);
        }
    };
    // Valgrind makes the plugin slow: a generous deadline, polled (never a fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    check(
        status.is_some_and(|s| s.success()),
        &format!("{command:?} exited with {status:?}"),
    );
    if status.is_none() || !status.is_some_and(|s| s.success()) {
        // The plugin will not quit now: stop the engine rather than wait for ever.
        running.stop();
    }
    let report = match running.wait() {
        Ok(r) => r,
        Err(e) => {
            check(false, &format!("the run failed: {e}"));
            return (passed, failed);
        }
    };
    for p in &report.plugins {
        check(
            p.outcome == Outcome::Finished,
            &format!("plugin {} ended {:?}", p.name, p.outcome),
        );
    }
    let answers = answers_rx.try_recv().unwrap_or_default();
    check(
        answers.len() as u64 == count,
        &format!("{} answer(s) of {count}", answers.len()),
    );
    // Every answer once, in any order (the counter may batch).
    let mut expected: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for i in 0..count {
        *expected
            .entry(format!("TypeB{}", payload(i).len()).into_bytes())
            .or_default() += 1;
    }
    let mut got: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for a in answers {
        *got.entry(a).or_default() += 1;
    }
    check(
        got == expected,
        &format!(
            "answers {:?}, expected {:?}",
            got.keys()
                .map(|k| String::from_utf8_lossy(k))
                .collect::<Vec<_>>(),
            expected
                .keys()
                .map(|k| String::from_utf8_lossy(k))
                .collect::<Vec<_>>()
        ),
    );
    let counter = report.plugins.iter().find(|p| p.name == "counter");
    let stats = counter.and_then(|p| p.stats.clone());
    check(
        stats
            .as_ref()
            .is_some_and(|s| s.delivered == count && s.published == count && s.pending == 0),
        &format!("counter's stats {stats:?}"),
    );
    (passed, failed)
}
