//! `event-engine stats`: the protocol counters of a running engine's external plugins.

use std::time::Duration;

use event_engine_client::{Client, ClientOptions};

use crate::target::Target;

type Error = Box<dyn std::error::Error>;

pub fn stats(target: &Target, json: bool) -> Result<bool, Error> {
    let plugins = target.plugins()?;
    let options = ClientOptions {
        reply_timeout: Duration::from_secs(2),
        retries: 0,
        ..ClientOptions::default()
    };
    let mut all_ok = true;
    let mut rows = Vec::new();
    for (name, endpoint) in plugins {
        let result = Client::connect_with(&endpoint, options.clone()).and_then(|mut c| c.stats());
        match result {
            Ok(s) => rows.push((name, endpoint, Ok(s))),
            Err(e) => {
                all_ok = false;
                rows.push((name, endpoint, Err(e.to_string())));
            }
        }
    }
    if json {
        let doc: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, endpoint, r)| match r {
                Ok(s) => serde_json::json!({"plugin": name, "endpoint": endpoint, "stats": s}),
                Err(e) => serde_json::json!({"plugin": name, "endpoint": endpoint, "error": e}),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(all_ok);
    }
    println!(
        "{:<16} {:>10} {:>11} {:>10} {:>8} {:>9} {:>10} {:>7} {:>8} {:>11}",
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
                "{:<16} {:>10} {:>11} {:>10} {:>8} {:>9} {:>10} {:>7} {:>8} {:>11}",
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
            Err(e) => println!("{name:<16} {endpoint}: {e}"),
        }
    }
    Ok(all_ok)
}
