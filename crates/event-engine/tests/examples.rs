//! The Rust examples run: `counter` (internal plugins) and `counter_plugin` (an external plugin
//! process on the shared client), against the engine.

use std::path::PathBuf;
use std::process::Command;

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;

/// The example binaries `cargo test` builds beside this test (target/<profile>/examples).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

#[test]
fn counter_plugin_answers_every_event_and_quits() {
    let producer = FnPlugin::new("producer", |pub_socket, sub| {
        for i in 0..2500 {
            pub_socket.send(format!("TypeAThis is message {i}").as_bytes(), 0)?;
        }
        let mut total = 0;
        for _ in 0..2500 {
            let answer = sub.recv_bytes(0)?;
            total += std::str::from_utf8(&answer[5..])
                .unwrap()
                .parse::<usize>()
                .unwrap();
        }
        let want: usize = (0..2500)
            .map(|i| format!("This is message {i}").len())
            .sum();
        assert_eq!(total, want);
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));
    let app = App::new(0, 0)
        .with_plugin(producer)
        .with_external_plugin(ExternalPluginSpec::new("counter", 0).subscribe(Filter::new("TypeA")))
        .start()
        .unwrap();
    let out = Command::new(example("counter_plugin"))
        .env(
            "EE_PLUGIN_PORT",
            app.external_port("counter").unwrap().to_string(),
        )
        .env("EE_COUNT", "2500")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "counter: answered 2500 events\n"
    );
    app.wait().unwrap().result().unwrap();
}

#[test]
fn counter_app_runs() {
    let out = Command::new(example("counter"))
        .arg("2000")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("producer: 2000 answers"), "{stdout}");
    assert!(stdout.contains("4000 events through the bus"), "{stdout}");
}
