//! The same work on the engine (default settings: high-water mark 1000, lossless).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::App;

use crate::flows;

type Stamp = Arc<Mutex<Option<Instant>>>;

/// The high-water mark of the engine runs: the default unless EE_BENCH_HWM says otherwise.
pub fn hwm() -> i32 {
    std::env::var("EE_BENCH_HWM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(event_engine::EngineConfig::new(0, 0).high_water_mark)
}

fn stamp(s: &Stamp) {
    if let Ok(mut g) = s.lock() {
        *g = Some(Instant::now());
    }
}

fn read(s: &Stamp) -> Instant {
    s.lock().ok().and_then(|g| *g).expect("stamped")
}

/// Producer -> consumer through the engine. Returns the time and how many events were lost.
pub fn producer_consumer(n: u64, sizes: fn(u64) -> usize) -> (Duration, u64) {
    let (start, end): (Stamp, Stamp) = Default::default();
    let (s, e) = (Arc::clone(&start), Arc::clone(&end));
    let producer = FnPlugin::new("producer", move |pub_socket, _| {
        stamp(&s);
        flows::produce(&pub_socket, n, sizes)?;
        Ok(())
    });
    let consumer = FnPlugin::new("consumer", move |_, sub| {
        let (_, disorder) = flows::consume(&sub, n)?;
        stamp(&e);
        assert_eq!(disorder, 0);
        Ok(())
    })
    .subscribe(Filter::new("Initial"));
    let report = App::new(0, 0)
        .high_water_mark(hwm())
        .with_plugin(producer)
        .with_plugin(consumer)
        .run_with_report()
        .expect("engine");
    report.result().expect("plugins");
    (
        read(&end) - read(&start),
        n - (report.events_forwarded.min(n)),
    )
}

/// The load-test flow (producer -> operator -> accumulator) through the engine.
pub fn load(n: u64) -> (Duration, u64) {
    let (start, end): (Stamp, Stamp) = Default::default();
    let (s, e) = (Arc::clone(&start), Arc::clone(&end));
    let producer = FnPlugin::new("producer", move |pub_socket, _| {
        stamp(&s);
        flows::produce(&pub_socket, n, flows::load_size)?;
        Ok(())
    });
    let operator = FnPlugin::new("operator", move |pub_socket, sub| {
        flows::operate(&pub_socket, &sub, n).map_err(event_engine::errors::EngineError::from)
    })
    .subscribe(Filter::new("Initial"));
    let accumulator = FnPlugin::new("accumulator", move |_, sub| {
        let (_, total) = flows::accumulate(&sub, n)?;
        stamp(&e);
        let want: u64 = (0..n).map(|i| flows::load_size(i) as u64).sum();
        assert_eq!(total, want, "every event exactly once");
        Ok(())
    })
    .subscribe(Filter::new("Operator"));
    let report = App::new(0, 0)
        .high_water_mark(hwm())
        .with_plugin(producer)
        .with_plugin(operator)
        .with_plugin(accumulator)
        .run_with_report()
        .expect("engine");
    report.result().expect("plugins");
    (
        read(&end) - read(&start),
        2 * n - report.events_forwarded.min(2 * n),
    )
}
