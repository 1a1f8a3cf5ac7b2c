//! What misbehaving or numerous plugins cost the others (issue "No client can crash, wedge or
//! starve the engine"): start-up of many plugins, and an unrelated consumer's rate while another
//! plugin is stuck.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::{zmq, App};
use event_engine_client::{Client, ClientOptions};

use crate::flows;

/// `plugins` internal plugins each wait for one event; one producer publishes one event for all
/// of them as soon as it starts. Returns the time from `App::start` to the last first event, or
/// the engine's error.
pub fn startup_internal(plugins: usize) -> Result<Duration, String> {
    let last = Arc::new(Mutex::new(None::<Instant>));
    let mut app = App::new(0, 0).setup_timeout(Duration::from_secs(60));
    app = app.with_plugin(FnPlugin::new("producer", |pub_socket, _| {
        pub_socket.send(&b"Startgo"[..], 0)?;
        Ok(())
    }));
    for i in 0..plugins {
        let last = Arc::clone(&last);
        app = app.with_plugin(
            FnPlugin::new(format!("waiter-{i}"), move |_, sub| {
                sub.recv_bytes(0)?;
                if let Ok(mut l) = last.lock() {
                    let now = Instant::now();
                    if l.is_none_or(|t| t < now) {
                        *l = Some(now);
                    }
                }
                Ok(())
            })
            .subscribe(Filter::new("Start")),
        );
    }
    let t0 = Instant::now();
    let report = app.run_with_report().map_err(|e| e.to_string())?;
    report.result().map_err(|e| e.to_string())?;
    let end = last.lock().ok().and_then(|l| *l).ok_or("no event")?;
    Ok(end - t0)
}

/// `plugins` external plugins, each with a client (on its own thread) that connects and waits for
/// one event; a producer publishes one event for all of them once every client has connected.
/// Returns the time from `App::start` to the last first event.
pub fn startup_external(plugins: usize) -> Result<Duration, String> {
    let mut app = App::new(0, 0)
        .setup_timeout(Duration::from_secs(60))
        .wait_for_external_plugins(Duration::from_secs(60));
    app = app.with_plugin(FnPlugin::new("producer", |pub_socket, _| {
        pub_socket.send(&b"Startgo"[..], 0)?;
        Ok(())
    }));
    for i in 0..plugins {
        app = app.with_external_plugin(
            ExternalPluginSpec::new(format!("ext-{i}"), 0).subscribe(Filter::new("Start")),
        );
    }
    let t0 = Instant::now();
    let running = app.start().map_err(|e| e.to_string())?;
    let ports: Vec<u16> = running.external_plugins().iter().map(|e| e.port).collect();
    let mut clients = Vec::new();
    for port in ports {
        clients.push(std::thread::spawn(move || -> Result<Instant, String> {
            let options = ClientOptions {
                reply_timeout: Duration::from_secs(60),
                ..ClientOptions::default()
            };
            let mut c =
                Client::connect_port_with("127.0.0.1", port, options).map_err(|e| e.to_string())?;
            let e = c
                .next(Some(Duration::from_secs(60)))
                .map_err(|e| e.to_string())?;
            let at = Instant::now();
            e.ok_or("no event")?;
            c.quit().map_err(|e| e.to_string())?;
            Ok(at)
        }));
    }
    let mut last = t0;
    let mut error = None;
    for c in clients {
        match c.join() {
            Ok(Ok(at)) => last = last.max(at),
            Ok(Err(e)) => error = Some(e),
            Err(_) => error = Some("a client panicked".into()),
        }
    }
    let report = running.wait().map_err(|e| e.to_string())?;
    if let Some(e) = error {
        return Err(e);
    }
    report.result().map_err(|e| e.to_string())?;
    Ok(last - t0)
}

/// An unrelated pair (producer -> consumer of `Free` events) runs for `window`, beside a plugin
/// subscribed to `Stuck` events that stops reading after its first one while another producer
/// publishes `Stuck` events, or (`stuck` false) beside nothing. Returns the consumer's events/s.
pub fn unrelated_rate(stuck: bool, window: Duration) -> f64 {
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let elapsed = Arc::new(Mutex::new(Duration::ZERO));
    let mut app = App::new(0, 0);
    {
        let done = Arc::clone(&done);
        app = app.with_plugin(FnPlugin::new("free-producer", move |pub_socket, _| {
            let mut i = 0u64;
            while !done.load(Ordering::Relaxed) {
                // A blocked send only waits while the consumer is full; it ends with ETERM.
                pub_socket.send(flows::event(b"Free", i, 100), 0)?;
                i += 1;
            }
            Ok(())
        }));
    }
    {
        let (received, done, elapsed) = (
            Arc::clone(&received),
            Arc::clone(&done),
            Arc::clone(&elapsed),
        );
        app = app.with_plugin(
            FnPlugin::new("free-consumer", move |_, sub| {
                sub.set_rcvtimeo(100)?;
                let start = Instant::now();
                while start.elapsed() < window {
                    match sub.recv_bytes(0) {
                        Ok(_) => {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(zmq::Error::EAGAIN) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                if let Ok(mut e) = elapsed.lock() {
                    *e = start.elapsed();
                }
                done.store(true, Ordering::SeqCst);
                Ok(())
            })
            .subscribe(Filter::new("Free")),
        );
    }
    if stuck {
        let done2 = Arc::clone(&done);
        app = app.with_plugin(FnPlugin::new("stuck-producer", move |pub_socket, _| {
            let mut i = 0u64;
            pub_socket.set_sndtimeo(100)?;
            while !done2.load(Ordering::Relaxed) {
                match pub_socket.send(flows::event(b"Stuck", i, 100), 0) {
                    Ok(()) => i += 1,
                    Err(zmq::Error::EAGAIN) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }));
        let done3 = Arc::clone(&done);
        app = app.with_plugin(
            FnPlugin::new("stuck", move |_, sub| {
                sub.recv_bytes(0)?;
                // Stops reading until the measurement is over.
                while !done3.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(())
            })
            .subscribe(Filter::new("Stuck")),
        );
    }
    let running = app.start().expect("engine");
    let stop = running.stop_handle();
    let watcher = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            // The producers may be blocked on a full bus: stop ends them.
            std::thread::sleep(Duration::from_millis(50));
            stop.stop();
        })
    };
    let _ = running.wait();
    let _ = watcher.join();
    let secs = elapsed.lock().map(|e| e.as_secs_f64()).unwrap_or(0.0);
    received.load(Ordering::Relaxed) as f64 / secs.max(1e-9)
}
