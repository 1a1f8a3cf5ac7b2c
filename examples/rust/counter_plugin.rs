//! The `counter` example as an external plugin in Rust, on the shared protocol client
//! (`event-engine-client`): it answers every `TypeA` event with a `TypeB` event carrying the
//! number of characters after the 5-byte filter, and quits after N events. The same program as
//! `examples/python/counter.py`, `examples/node/counter.js` and `examples/c/counter.c`.
//!
//! ```sh
//! cargo run --example counter_plugin -- PORT     # or EE_PLUGIN_PORT (set by `event-engine run`)
//! ```
//! N is `EE_COUNT` (default 5); the answers' type is `EE_REPLY_TYPE` (default `TypeB`).

use std::time::Duration;

use event_engine_client::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => std::env::var("EE_PLUGIN_PORT")?.parse()?,
    };
    let count: u64 = std::env::var("EE_COUNT").map_or(Ok(5), |v| v.parse())?;
    let reply = std::env::var("EE_REPLY_TYPE").unwrap_or_else(|_| "TypeB".into());

    let mut plugin = Client::connect_port("127.0.0.1", port)?;
    let mut answered = 0;
    while answered < count {
        // Up to what is left in one round trip, waiting a second at most for the first.
        let max = (count - answered).min(1000) as usize;
        let batch = plugin.next_batch(max, Some(Duration::from_secs(1)))?;
        let answers: Vec<Vec<u8>> = batch
            .iter()
            .map(|e| format!("{reply}{}", e.data.len().saturating_sub(5)).into_bytes())
            .collect();
        plugin.publish_batch(&answers)?;
        answered += batch.len() as u64;
    }
    plugin.quit()?;
    println!("counter: answered {answered} events");
    Ok(())
}
