//! The run-time patterns of real event-engine 0.2 applications (issue 10): plugins that retry
//! for ever on errors beside one that fails, and external plugins whose process is not there.
//! Log records are captured, to check what the engine says (and that it says it once).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::ReqClient;
use event_engine::errors::{EngineError, FailureKind};
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{App, EngineConfig, Outcome};

// ----- captured log records -----

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let mut records = self.0.lock().unwrap_or_else(|e| e.into_inner());
            records.push((r.level(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).expect("no other logger");
        log::set_max_level(log::LevelFilter::Info);
        c
    })
}

/// The captured records at `level` whose text contains every one of `words`.
fn records(level: log::Level, words: &[&str]) -> Vec<String> {
    let records = capture().0.lock().unwrap_or_else(|e| e.into_inner());
    records
        .iter()
        .filter(|(l, m)| *l == level && words.iter().all(|w| m.contains(w)))
        .map(|(_, m)| m.clone())
        .collect()
}

/// Polls until a record at `level` contains every one of `words`, at most `limit`.
fn wait_for_record(level: log::Level, words: &[&str], limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(r) = records(level, words).pop() {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no {level} record with {words:?} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `f` until it returns true, at most `limit`.
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ----- plugins written as 0.2 applications write them -----

/// CPU time this thread has used (user + system).
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes the struct we own; RUSAGE_THREAD is Linux's per-thread usage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// What a retrying plugin saw.
#[derive(Default)]
struct Retrier {
    events: AtomicU64,
    errors: AtomicU64,
    cpu_us: AtomicU64,
}

/// A plugin in the style of the camera-trap application: `recv` in a loop that logs any error
/// and tries again. It returns after the event `TickLast`, or (as a test's way to end it) when
/// `release` is set after an error.
fn retrier(name: &'static str, seen: Arc<Retrier>, release: Arc<AtomicBool>) -> FnPlugin {
    FnPlugin::new(name, move |_pub, sub| {
        let started = thread_cpu();
        loop {
            match sub.recv_bytes(0) {
                Ok(event) => {
                    seen.events.fetch_add(1, Ordering::Relaxed);
                    if event == b"TickLast" {
                        break;
                    }
                }
                Err(e) => {
                    seen.errors.fetch_add(1, Ordering::Relaxed);
                    log::error!("{name}: could not receive ({e}); trying again");
                    if release.load(Ordering::Relaxed) {
                        break;
                    }
                }
            }
        }
        let used = thread_cpu() - started;
        seen.cpu_us
            .store(used.as_micros() as u64, Ordering::Relaxed);
        Ok(())
    })
    .subscribe(Filter::new("Tick"))
}

fn failing(name: &'static str) -> FnPlugin {
    FnPlugin::new(name, move |_, _| {
        Err(EngineError::PluginExecutionError(
            name.into(),
            "id".into(),
            "config file /etc/store.toml not found".into(),
        ))
    })
}

#[test]
fn by_default_a_failing_plugin_leaves_the_others_working_without_spinning() {
    capture();
    let (a, b) = (Arc::new(Retrier::default()), Arc::new(Retrier::default()));
    let release = Arc::new(AtomicBool::new(false));
    let producer = FnPlugin::new("ticker-default", |pub_socket, _| {
        // Publish only once the failure has been handled: the retriers sit through it.
        wait_for_record(
            log::Level::Error,
            &["store-default", "not found"],
            Duration::from_secs(10),
        );
        // The window in which 0.2 applications on 0.3.0 spun on ETERM.
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..100 {
            pub_socket.send(format!("Tick{i}").as_bytes(), 0)?;
        }
        pub_socket.send("TickLast", 0)?;
        Ok(())
    });
    let started = Instant::now();
    let report = App::new(0, 0)
        .with_plugin(failing("store-default"))
        .with_plugin(retrier(
            "observer-default-a",
            Arc::clone(&a),
            Arc::clone(&release),
        ))
        .with_plugin(retrier(
            "observer-default-b",
            Arc::clone(&b),
            Arc::clone(&release),
        ))
        .with_plugin(producer)
        .run_with_report()
        .unwrap();
    let elapsed = started.elapsed();

    // The others kept working: every event, no error, and no CPU burnt while they waited.
    for (name, r) in [("a", &a), ("b", &b)] {
        assert_eq!(r.events.load(Ordering::Relaxed), 101, "retrier {name}");
        assert_eq!(r.errors.load(Ordering::Relaxed), 0, "retrier {name}");
        let cpu = Duration::from_micros(r.cpu_us.load(Ordering::Relaxed));
        eprintln!("retrier {name}: {cpu:?} CPU in a run of {elapsed:?}");
        assert!(
            cpu < Duration::from_millis(200),
            "retrier {name} used {cpu:?} of CPU"
        );
    }
    // The failure: logged once, at error level, by name, and reported by run().
    assert_eq!(records(log::Level::Error, &["store-default"]).len(), 1);
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(
        (failures[0].name.as_str(), failures[0].kind.clone()),
        ("store-default", FailureKind::Error)
    );
    for p in &report.plugins[1..] {
        assert_eq!(p.outcome, Outcome::Finished, "{}", p.name);
    }
    let err = report.result().unwrap_err().to_string();
    assert!(
        err.contains("store-default") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn a_stop_returns_after_the_grace_period_naming_plugins_that_did_not_return() {
    capture();
    let (a, b) = (Arc::new(Retrier::default()), Arc::new(Retrier::default()));
    let release = Arc::new(AtomicBool::new(false));
    let grace = Duration::from_millis(300);
    let app = App::new(0, 0)
        .stop_on_failure(true)
        .stop_grace(grace)
        .with_plugin(failing("store-stop"))
        .with_plugin(retrier(
            "observer-stop-a",
            Arc::clone(&a),
            Arc::clone(&release),
        ))
        .with_plugin(retrier(
            "observer-stop-b",
            Arc::clone(&b),
            Arc::clone(&release),
        ))
        .with_external_plugin(ExternalPluginSpec::new("camera-stop", 0))
        .start()
        .unwrap();
    let ports = (
        app.publish_port(),
        app.subscribe_port(),
        app.external_port("camera-stop").unwrap(),
    );
    let started = Instant::now();
    let report = app.wait().unwrap();
    let elapsed = started.elapsed();
    // The retriers were handed ETERM and never returned: run() did not wait for them.
    assert!(a.errors.load(Ordering::Relaxed) > 0);
    assert!(
        elapsed < grace + Duration::from_secs(2),
        "run() took {elapsed:?} with a grace period of {grace:?}"
    );
    let outcome = |name: &str| {
        report
            .plugins
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.outcome.clone())
            .unwrap()
    };
    for name in ["observer-stop-a", "observer-stop-b"] {
        match outcome(name) {
            Outcome::Failed(f) => assert_eq!(f.kind, FailureKind::DidNotReturn, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(outcome("camera-stop"), Outcome::Stopped(_)));
    let named = records(
        log::Level::Error,
        &["did not return", "observer-stop-a", "observer-stop-b"],
    );
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(records(log::Level::Error, &["store-stop"]).len(), 1);

    // The ports are free although two plugin threads still run.
    let again = App::new(ports.0 as i32, ports.1 as i32)
        .with_external_plugin(ExternalPluginSpec::new("camera-again", ports.2 as i32))
        .start()
        .unwrap();
    let client = ReqClient::connect(ports.2);
    assert_eq!(client.ask(b"plugin_command: quit"), b"event-engine: bye");
    again.wait().unwrap().result().unwrap();

    // End the spinning threads (a real application's process would have exited); they spun
    // only for about the grace period, not for ever.
    release.store(true, Ordering::Relaxed);
    wait_until("the retriers to end", Duration::from_secs(10), || {
        a.cpu_us.load(Ordering::Relaxed) > 0 && b.cpu_us.load(Ordering::Relaxed) > 0
    });
    for r in [&a, &b] {
        let cpu = Duration::from_micros(r.cpu_us.load(Ordering::Relaxed));
        eprintln!(
            "a retrier spun {:?} of CPU ({} errors) before it was released",
            cpu,
            r.errors.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn a_declared_plugin_that_never_connects_is_named_in_a_warning_and_loses_nothing() {
    capture();
    let n = 50;
    let producer = FnPlugin::new("producer-absent", move |pub_socket, _| {
        for i in 0..n {
            pub_socket.send(format!("Image{i}").as_bytes(), 0)?;
        }
        Ok(())
    });
    let app = App::new(0, 0)
        .with_plugin(producer)
        .with_external_plugin(
            ExternalPluginSpec::new("oracle-absent", 0).subscribe(Filter::new("Image")),
        )
        .start()
        .unwrap();
    let port = app.external_port("oracle-absent").unwrap();
    let stats = |app: &event_engine::RunningApp| app.stats().external_plugins[0].clone();
    wait_until(
        "the events to reach the plugin's buffer",
        Duration::from_secs(10),
        || stats(&app).buffered == n,
    );
    let warning = wait_for_record(
        log::Level::Warn,
        &[
            "oracle-absent",
            &format!("port {port}"),
            "50 event(s) wait",
            "no process is connected",
        ],
        Duration::from_secs(10),
    );
    eprintln!("{warning}");
    assert_eq!(stats(&app).connections, 0);

    // The process starts late: it gets every event, in order, once.
    let late = ReqClient::connect(port);
    for i in 0..n {
        assert_eq!(
            late.ask(b"plugin_command: next_msg"),
            format!("Image{i}").into_bytes()
        );
    }
    // The plugin thread counts a delivery once its reply is sent, so the client can see the
    // reply a moment before the counters move: wait (with a deadline) until they do.
    let counters = |app: &event_engine::RunningApp| {
        let s = stats(app);
        (s.delivered, s.buffered, s.connections)
    };
    wait_until(
        "the counters of the last delivery",
        Duration::from_secs(10),
        || counters(&app) == (n, 0, 1),
    );
    assert_eq!(counters(&app), (n, 0, 1));
    late.ask(b"plugin_command: quit");
    app.wait().unwrap().result().unwrap();
    // One warning, not one per event or per poll.
    assert_eq!(records(log::Level::Warn, &["oracle-absent"]).len(), 1);
}

#[test]
fn the_bus_waits_for_an_absent_plugin_only_once_its_buffer_limit_is_reached() {
    capture();
    let n: u64 = 3000;
    let (limit, hwm) = (500, 100);
    let sent = Arc::new(AtomicU64::new(0));
    let producer = {
        let sent = Arc::clone(&sent);
        FnPlugin::new("producer-full", move |pub_socket, _| {
            for i in 0..n {
                pub_socket.send(format!("Image{i}").as_bytes(), 0)?;
                sent.store(i + 1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    let config = EngineConfig {
        buffer_limit: limit,
        high_water_mark: hwm,
        ..EngineConfig::new(0, 0)
    };
    let app = App::with_config(config)
        .with_plugin(producer)
        .with_external_plugin(
            ExternalPluginSpec::new("scorer-full", 0).subscribe(Filter::new("Image")),
        )
        .start()
        .unwrap();
    let port = app.external_port("scorer-full").unwrap();
    let warning = wait_for_record(
        log::Level::Warn,
        &["scorer-full", "buffer is full", "the bus now waits"],
        Duration::from_secs(10),
    );
    eprintln!("{warning}");
    let s = app.stats().external_plugins[0].clone();
    assert_eq!(
        s.buffered, limit as u64,
        "the buffer holds exactly buffer_limit"
    );
    let held = sent.load(Ordering::Relaxed);
    eprintln!("the producer was held after {held} of {n} events (buffer_limit {limit}, hwm {hwm})");
    assert!(held >= limit as u64 && held < n, "{held}");

    let late = ReqClient::connect(port);
    for i in 0..n {
        assert_eq!(
            late.ask(b"plugin_command: next_msg"),
            format!("Image{i}").into_bytes()
        );
    }
    late.ask(b"plugin_command: quit");
    let report = app.wait().unwrap();
    report.result().unwrap();
    assert_eq!(report.plugins[1].stats.as_ref().unwrap().delivered, n);
}
