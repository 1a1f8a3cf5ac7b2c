//! `ee-bench`: event-engine against raw ZeroMQ, measured in one run on one machine.
//!
//! ```sh
//! cargo run --release -p event-engine-bench            # full run (~1 min)
//! cargo run --release -p event-engine-bench -- --smoke # tiny sizes, for CI
//! ```
//!
//! Prints Markdown tables: events/s, the ratio to the raw ZeroMQ figure of the same run, and the
//! number of events lost (which must be 0).

mod engine;
mod flows;
mod protocol;
mod raw;
mod table;

use std::time::Duration;

use table::Row;

fn row(what: &str, events: u64, (elapsed, lost): (Duration, u64), baseline: Option<f64>) -> Row {
    Row {
        what: what.to_string(),
        events,
        elapsed,
        lost,
        baseline,
    }
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let scale = if smoke { 100 } else { 1 };
    let n = 1_000_000 / scale;
    let v1_n = 50_000 / scale;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ee-bench: event-engine {} on {cores} core(s){}",
        env!("CARGO_PKG_VERSION"),
        if smoke {
            " (smoke run: tiny sizes, figures meaningless)"
        } else {
            ""
        }
    );

    let raw = row(
        "raw libzmq: PUB -> XSUB/XPUB proxy -> SUB (HWM 0)",
        n,
        raw::producer_consumer(n, |_| 100),
        None,
    );
    let ours = row(
        "event-engine: producer -> consumer (HWM 1000, lossless)",
        n,
        engine::producer_consumer(n, |_| 100),
        Some(raw.rate()),
    );
    table::print(&format!("Bus, inproc, {n} events of 100 B"), &[raw, ours]);

    let raw = row(
        "raw libzmq: producer -> operator -> accumulator",
        n,
        raw::load(n),
        None,
    );
    let ours = row(
        "event-engine: producer -> operator -> accumulator",
        n,
        engine::load(n),
        Some(raw.rate()),
    );
    table::print(
        &format!("Load-test flow, inproc, {n} events of 100-1000 B (each forwarded twice)"),
        &[raw, ours],
    );

    let sub = row(
        "raw ZeroMQ SUB on the engine's TCP subscribe port",
        n,
        protocol::raw_sub(n),
        None,
    );
    let base = sub.rate();
    let v1 = row(
        "protocol v1: next_msg (one round trip per event)",
        v1_n,
        protocol::v1_out(v1_n),
        Some(base),
    );
    let v1_rate = v1.rate();
    let v2 = row(
        "protocol v2: recv max=1000 (event-engine-client)",
        n,
        protocol::v2_out(n, 1000),
        Some(base),
    );
    let v2_vs_v1 = v2.rate() / v1_rate;
    table::print(
        "External plugin, loopback TCP, events of 100 B: engine -> plugin",
        &[sub, v1, v2],
    );
    println!("\nv2 batch receive / v1: {v2_vs_v1:.1}×");

    let v1 = row(
        "protocol v1: one publish per round trip",
        v1_n,
        protocol::v1_in(v1_n),
        None,
    );
    let v1_rate = v1.rate();
    let v2 = row(
        "protocol v2: publish batches of 1000",
        n,
        protocol::v2_in(n, 1000),
        Some(v1_rate),
    );
    table::print(
        "External plugin, loopback TCP, events of 100 B: plugin -> engine",
        &[v1, v2],
    );
}
