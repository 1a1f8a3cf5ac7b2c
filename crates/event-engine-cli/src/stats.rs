//! `event-engine stats`: the protocol counters of a running engine's external plugins, and the
//! state and counters of its internal plugins that keep some (the NATS bridges).
//!
//! External plugins answer the protocol's `stats` request on their own ports. Internal plugins
//! have no port: `event-engine run` serves their counters ([`serve`]) on a REP socket on
//! 127.0.0.1 (a free port, written to the ready file as `stats`); a request `stats` gets a JSON
//! list `[{"plugin": .., "state": .., "counters": {..}}]`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use event_engine::plugins::Plugin;
use event_engine::zmq;
use event_engine_client::{Client, ClientOptions, Token};

use crate::target::Target;

type Error = Box<dyn std::error::Error>;

/// The internal plugins' counters, served while the app runs; stops when dropped.
pub struct StatsServer {
    pub endpoint: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StatsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn internal_stats(plugins: &[(String, Arc<Box<dyn Plugin>>)]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = plugins
        .iter()
        .filter_map(|(name, p)| {
            let s = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.stats())).ok()??;
            let counters: serde_json::Map<String, serde_json::Value> = s
                .counters
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
                .collect();
            Some(serde_json::json!({"plugin": name, "kind": "internal", "state": s.state, "counters": counters}))
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Serves the counters of `plugins` on 127.0.0.1 (a free port).
pub fn serve(plugins: Vec<(String, Arc<Box<dyn Plugin>>)>) -> Result<StatsServer, Error> {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP)?;
    rep.set_linger(0)?;
    rep.set_rcvtimeo(100)?;
    rep.set_maxmsgsize(1024)?;
    rep.bind("tcp://127.0.0.1:0")?;
    let endpoint = rep
        .get_last_endpoint()?
        .map_err(|_| "the stats endpoint is not UTF-8")?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("ee-cli-stats".into())
        .spawn(move || {
            let _ctx = ctx;
            while !s.load(Ordering::SeqCst) {
                match rep.recv_bytes(0) {
                    Ok(req) => {
                        let reply = if req == b"stats" {
                            internal_stats(&plugins).to_string()
                        } else {
                            serde_json::json!({"error": "unknown request; send stats"}).to_string()
                        };
                        let _ = rep.send(reply.as_bytes(), 0);
                    }
                    Err(zmq::Error::EAGAIN) => {}
                    Err(_) => break,
                }
            }
        })?;
    Ok(StatsServer {
        endpoint,
        stop,
        thread: Some(thread),
    })
}

/// Asks a `stats` endpoint for the internal plugins' counters.
fn fetch_internal(endpoint: &str) -> Result<Vec<serde_json::Value>, Error> {
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ)?;
    req.set_linger(0)?;
    req.set_rcvtimeo(2000)?;
    req.set_sndtimeo(2000)?;
    req.connect(endpoint)?;
    req.send("stats", 0)?;
    let reply = req
        .recv_bytes(0)
        .map_err(|e| format!("{endpoint}: no answer ({e})"))?;
    match serde_json::from_slice(&reply)? {
        serde_json::Value::Array(list) => Ok(list),
        other => Err(format!("{endpoint}: unexpected answer {other}").into()),
    }
}

pub fn stats(target: &Target, json: bool) -> Result<bool, Error> {
    let plugins = target.plugins()?;
    let internal = match target.stats_endpoint()? {
        Some(e) => match fetch_internal(&e) {
            Ok(list) => list,
            Err(err) => {
                eprintln!("event-engine: internal plugins: {err}");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let options = ClientOptions {
        reply_timeout: Duration::from_secs(2),
        retries: 0,
        ..ClientOptions::default()
    };
    let mut all_ok = true;
    let mut rows = Vec::new();
    for (name, endpoint, token) in plugins {
        let options = ClientOptions {
            token: token.map(Token::new).transpose()?,
            ..options.clone()
        };
        let result = Client::connect_with(&endpoint, options).and_then(|mut c| c.stats());
        match result {
            Ok(s) => rows.push((name, endpoint, Ok(s))),
            Err(e) => {
                all_ok = false;
                rows.push((name, endpoint, Err(e.to_string())));
            }
        }
    }
    if json {
        let mut doc: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, endpoint, r)| match r {
                Ok(s) => serde_json::json!({"plugin": name, "endpoint": endpoint, "stats": s}),
                Err(e) => serde_json::json!({"plugin": name, "endpoint": endpoint, "error": e}),
            })
            .collect();
        doc.extend(internal);
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(all_ok);
    }
    // The first column fits the longest name (with --endpoint the name is the endpoint).
    let w = rows
        .iter()
        .map(|(name, _, _)| name.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    println!(
        "{:<w$} {:>10} {:>11} {:>10} {:>8} {:>9} {:>10} {:>7} {:>8} {:>11}",
        "plugin",
        "delivered",
        "redelivered",
        "acked",
        "pending",
        "buffered",
        "published",
        "errors",
        "sessions",
        "connections"
    );
    for (name, endpoint, r) in rows {
        match r {
            Ok(s) => println!(
                "{:<w$} {:>10} {:>11} {:>10} {:>8} {:>9} {:>10} {:>7} {:>8} {:>11}",
                name,
                s.delivered,
                s.redelivered,
                s.acked,
                s.pending,
                s.buffered,
                s.published,
                s.errors,
                s.sessions,
                s.connections
            ),
            Err(e) => println!("{name:<w$} {endpoint}: {e}"),
        }
    }
    for p in &internal {
        let name = p["plugin"].as_str().unwrap_or("?");
        let state = p["state"].as_str().unwrap_or("?");
        println!();
        println!("{name:<w$} {state}");
        if let Some(counters) = p["counters"].as_object() {
            for (k, v) in counters {
                println!("  {k:<22} {v:>12}");
            }
        }
    }
    Ok(all_ok)
}
