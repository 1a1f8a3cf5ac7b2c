//! `ee-bench`: event-engine against raw ZeroMQ, measured in one run on one machine.
//!
//! ```sh
//! cargo run --release -p event-engine-bench            # full run (a few minutes)
//! cargo run --release -p event-engine-bench -- --smoke # tiny sizes, for CI
//! cargo run --release -p event-engine-bench -- --only nats  # the NATS bridge (needs nats-server)
//! cargo run --release -p event-engine-bench -- --only nats --case export --size 100  # one line
//! cargo run --release -p event-engine-bench -- --only large  # events of 1 KB to 16 MB
//! cargo run --release -p event-engine-bench -- --only large --size 1048576 --n 2000  # one size
//! ```
//!
//! Prints Markdown tables: events/s, the ratio to the raw ZeroMQ figure of the same run, and the
//! number of events lost (which must be 0). Each figure is the median of several runs, the two
//! sides of a comparison running alternately so that both see the same machine.

mod engine;
mod flows;
mod large;
mod nats;
mod protocol;
mod raw;
mod robust;
mod table;

use std::time::Duration;

use table::Row;

type Run = (Duration, u64);

fn row(what: &str, events: u64, (elapsed, lost): Run, baseline: Option<f64>) -> Row {
    Row {
        what: what.to_string(),
        events,
        elapsed,
        lost,
        baseline,
    }
}

/// Runs `a` and `b` alternately `reps` times and returns the median run of each (by time), with
/// everything they lost in all runs.
fn paired(reps: usize, mut a: impl FnMut() -> Run, mut b: impl FnMut() -> Run) -> (Run, Run) {
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        ra.push(a());
        rb.push(b());
    }
    (median(ra), median(rb))
}

fn median(mut runs: Vec<Run>) -> Run {
    let lost = runs.iter().map(|r| r.1).sum();
    runs.sort_by_key(|r| r.0);
    (runs[runs.len() / 2].0, lost)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    // `--only bus|load|out|in|nats|startup|large|isolation`: one table.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let run = |section: &str| only.as_deref().is_none_or(|o| o == section);
    let window = Duration::from_millis(if smoke { 200 } else { 2000 });
    let scale = if smoke { 100 } else { 1 };
    let n = 1_000_000 / scale;
    let v1_n = 50_000 / scale;
    let reps = if smoke { 1 } else { 5 };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ee-bench: event-engine {} on {cores} core(s); each figure is the median of {reps} run(s){}",
        env!("CARGO_PKG_VERSION"),
        if smoke {
            " (smoke run: tiny sizes, figures meaningless)"
        } else {
            ""
        }
    );

    if run("bus") {
        let (raw, ours) = paired(
            reps,
            || raw::producer_consumer(n, |_| 100),
            || engine::producer_consumer(n, |_| 100),
        );
        let raw = row(
            "raw libzmq: PUB -> XSUB/XPUB proxy -> SUB (HWM 0)",
            n,
            raw,
            None,
        );
        let ours = row(
            &format!(
                "event-engine: producer -> consumer (HWM {}, lossless)",
                engine::hwm()
            ),
            n,
            ours,
            Some(raw.rate()),
        );
        table::print(&format!("Bus, inproc, {n} events of 100 B"), &[raw, ours]);
    }
    if run("load") {
        let (raw, ours) = paired(reps, || raw::load(n), || engine::load(n));
        let raw = row(
            "raw libzmq: producer -> operator -> accumulator",
            n,
            raw,
            None,
        );
        let ours = row(
            "event-engine: producer -> operator -> accumulator",
            n,
            ours,
            Some(raw.rate()),
        );
        table::print(
            &format!("Load-test flow, inproc, {n} events of 100-1000 B (each forwarded twice)"),
            &[raw, ours],
        );
    }
    if run("out") {
        let (sub, v2) = paired(
            reps,
            || protocol::raw_sub(n),
            || protocol::v2_out(n, 1000, protocol::Auth::None),
        );
        let (v2_plain, v2_auth) = paired(
            reps,
            || protocol::v2_out(n, 1000, protocol::Auth::None),
            || protocol::v2_out(n, 1000, protocol::Auth::Token),
        );
        // CURVE only where this build's libzmq has it (make bench-curve).
        let curve = event_engine::auth::curve_available().then(|| {
            paired(
                reps,
                || protocol::v2_out(n, 1000, protocol::Auth::None),
                || protocol::v2_out(n, 1000, protocol::Auth::Curve),
            )
        });
        let (rtt, v1) = paired(
            reps.min(3),
            || protocol::raw_reqrep(v1_n),
            || protocol::v1_out(v1_n),
        );
        let sub = row(
            "raw ZeroMQ SUB on the engine's TCP subscribe port",
            n,
            sub,
            None,
        );
        let base = sub.rate();
        let v1 = row(
            "protocol v1: next_msg (one round trip per event)",
            v1_n,
            v1,
            Some(base),
        );
        let v1_rate = v1.rate();
        let v2 = row(
            "protocol v2: recv max=1000 (event-engine-client)",
            n,
            v2,
            Some(base),
        );
        let v2_vs_v1 = v2.rate() / v1_rate;
        let v2_plain = row(
            "protocol v2: recv max=1000, no token (paired with the next row)",
            n,
            v2_plain,
            Some(base),
        );
        let v2_auth = row(
            "protocol v2: recv max=1000, port admits only its token (ZAP PLAIN)",
            n,
            v2_auth,
            Some(base),
        );
        let auth_vs_plain = v2_auth.rate() / v2_plain.rate();
        let rtt = row(
            "raw ZeroMQ REQ -> REP echo, no engine (the round-trip limit)",
            v1_n,
            rtt,
            Some(base),
        );
        let mut rows = vec![sub, rtt, v1, v2, v2_plain, v2_auth];
        let curve_vs_plain = curve.map(|(plain, curve)| {
            let plain = row(
                "protocol v2: recv max=1000, no CURVE (paired with the next row)",
                n,
                plain,
                Some(base),
            );
            let curve = row(
                "protocol v2: recv max=1000, CURVE (encrypted, the plugin's key only)",
                n,
                curve,
                Some(base),
            );
            let ratio = curve.rate() / plain.rate();
            rows.push(plain);
            rows.push(curve);
            ratio
        });
        table::print(
            "External plugin, loopback TCP, events of 100 B: engine -> plugin",
            &rows,
        );
        println!("\nv2 batch receive / v1: {v2_vs_v1:.1}×");
        println!("v2 batch receive with a token / without (same run): {auth_vs_plain:.2}×");
        match curve_vs_plain {
            Some(r) => println!("v2 batch receive with CURVE / without (same run): {r:.2}×"),
            None => println!("CURVE: not in this build (make bench-curve measures it)"),
        }
    }
    if run("nats") {
        nats_tables(&args, reps, smoke);
    }
    if run("in") {
        let (v1, v2) = paired(
            reps.min(3),
            || protocol::v1_in(v1_n),
            || protocol::v2_in(n, 1000),
        );
        let v1 = row("protocol v1: one publish per round trip", v1_n, v1, None);
        let v1_rate = v1.rate();
        let v2 = row("protocol v2: publish batches of 1000", n, v2, Some(v1_rate));
        table::print(
            "External plugin, loopback TCP, events of 100 B: plugin -> engine",
            &[v1, v2],
        );
    }
    if run("startup") {
        println!("\n### Start-up: time from App::start to the last plugin's first event\n");
        println!("| plugins | time | result |");
        println!("|---|---:|---|");
        let internal: &[usize] = if smoke { &[10] } else { &[300, 400, 1000] };
        for &k in internal {
            let times: Vec<_> = (0..reps.min(3))
                .map(|_| robust::startup_internal(k))
                .collect();
            print_startup(&format!("{k} internal"), times);
        }
        let k = if smoke { 5 } else { 200 };
        let times: Vec<_> = (0..reps.min(3))
            .map(|_| robust::startup_external(k))
            .collect();
        print_startup(
            &format!("{k} external (one client process-thread each)"),
            times,
        );
    }
    if run("large") {
        large_table(&args, smoke, reps.min(3));
    }
    if run("isolation") {
        let (mut alone, mut beside) = (Vec::new(), Vec::new());
        for _ in 0..reps.min(3) {
            alone.push(robust::unrelated_rate(false, window));
            beside.push(robust::unrelated_rate(true, window));
        }
        let med = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (alone, beside) = (med(alone), med(beside));
        println!("\n### Isolation: an unrelated consumer's rate while another plugin is stuck\n");
        println!("| measurement | events/s | ratio |");
        println!("|---|---:|---:|");
        println!("| consumer alone (producer -> consumer) | {alone:.0} | 1.00× (reference) |");
        println!(
            "| same, beside a plugin that stopped reading its events | {beside:.0} | {:.2}× |",
            beside / alone.max(1e-9)
        );
    }
}

/// `--only large`: events of 1 KB to 16 MB, internal and external, beside raw ZeroMQ.
/// `--size BYTES` (with `--n EVENTS`) measures one size; `--reps N` sets the runs per median.
fn large_table(args: &[String], smoke: bool, reps: usize) {
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let reps = arg("--reps").map_or(reps, |r| r.max(1) as usize);
    let sizes = match arg("--size") {
        Some(s) => vec![(s as usize, arg("--n").unwrap_or(1000))],
        None => large::sizes(smoke),
    };
    let rss_note = if large::reset_peak() {
        "peak RSS of the bench process during the run (VmHWM after a reset), engine in-process"
    } else {
        "peak RSS of the bench process so far (VmHWM; it could not be reset here)"
    };
    println!(
        "\n### Large events: events/s, MB/s, ratio to raw ZeroMQ of the same run (median of {reps})\n"
    );
    println!("Peak RSS: {rss_note}.\n");
    println!("| size | path | events | events/s | MB/s | ratio | lost | peak RSS |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let med = |mut v: Vec<large::Run>| {
        let lost = v.iter().map(|r| r.1).sum::<u64>();
        let rss = v.iter().map(|r| r.2).max().unwrap_or(0);
        v.sort_by_key(|r| r.0);
        (v[v.len() / 2].0, lost, rss)
    };
    for (size, n) in sizes {
        let (mut ri, mut ei, mut rt, mut et) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            ri.push(large::raw_internal(n, size));
            ei.push(large::engine_internal(n, size));
            rt.push(large::raw_tcp(n, size));
            et.push(large::engine_external(n, size));
        }
        let size_label = large::label(size);
        let line = |what: &str, run: large::Run, base: Option<f64>| -> f64 {
            let (t, lost, rss) = run;
            let rate = n.saturating_sub(lost) as f64 / t.as_secs_f64().max(1e-9);
            let ratio = base.map_or("1.00× (reference)".to_string(), |b| {
                format!("{:.2}×", rate / b)
            });
            println!(
                "| {size_label} | {what} | {n} | {} | {:.0} | {ratio} | {lost} | {} MB |",
                table::thousands(rate),
                rate * size as f64 / 1e6,
                rss >> 20
            );
            rate
        };
        let base = line("raw inproc PUB -> XSUB/XPUB proxy -> SUB", med(ri), None);
        line(
            "event-engine internal: producer -> engine -> consumer",
            med(ei),
            Some(base),
        );
        let base = line("raw TCP PUB -> SUB (loopback)", med(rt), None);
        line(
            "event-engine external: client publish_batch_owned -> engine -> client next_batch_owned",
            med(et),
            Some(base),
        );
    }
}

fn print_startup(what: &str, times: Vec<Result<Duration, String>>) {
    let mut ok: Vec<Duration> = times
        .iter()
        .filter_map(|t| t.as_ref().ok().copied())
        .collect();
    ok.sort();
    match (
        ok.get(ok.len() / 2),
        times.iter().find_map(|t| t.as_ref().err()),
    ) {
        (Some(t), None) => println!("| {what} | {:.2} s | ok |", t.as_secs_f64()),
        (_, Some(e)) => println!("| {what} | - | failed: {e} |"),
        (None, None) => println!("| {what} | - | no run |"),
    }
}

/// The NATS bridge beside a raw async-nats client, against one nats-server of this run.
///
/// `--case raw|raw-headers|export|import|import-headers` and `--size 100|65536` run one line
/// (for profiling); `--reps N` sets how many runs each median takes (default 5).
fn nats_tables(args: &[String], reps: usize, smoke: bool) {
    use nats::Case;
    if std::process::Command::new(event_engine_testkit::nats::program())
        .arg("--version")
        .output()
        .is_err()
    {
        println!("\n(NATS bridge: skipped, nats-server is not installed)");
        return;
    }
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let cases: Vec<Case> = match arg("--case") {
        Some(c) => match Case::parse(&c) {
            Some(c) => vec![c],
            None => {
                eprintln!("unknown --case {c}");
                std::process::exit(2);
            }
        },
        None => Case::ALL.to_vec(),
    };
    let reps = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(reps);
    let sizes: Vec<(usize, u64)> = match arg("--size").and_then(|s| s.parse::<usize>().ok()) {
        Some(s) => vec![(s, if s < 4096 { 200_000 } else { 5_000 })],
        None => vec![(100, 200_000), (65_536, 5_000)],
    };
    let b = nats::bench();
    for (size, n) in sizes {
        let n = if smoke { n / 100 } else { n };
        // Every case once per round, so that all of them see the same machine.
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); cases.len()];
        let mut cpus: Vec<Vec<u64>> = vec![Vec::new(); cases.len()];
        for _ in 0..reps {
            for (i, c) in cases.iter().enumerate() {
                let (run, cpu) = b.run(*c, n, size);
                runs[i].push(run);
                cpus[i].push(cpu);
            }
        }
        let rows: Vec<(Case, Row, f64)> = cases
            .iter()
            .zip(runs)
            .zip(cpus)
            .map(|((c, r), mut cpu)| {
                cpu.sort_unstable();
                let cpu_us = cpu[cpu.len() / 2] as f64 / 1e3 / n as f64;
                (*c, row(nats_label(*c), n, median(r), None), cpu_us)
            })
            .collect();
        let rate = |case: Case| {
            rows.iter()
                .find(|(c, _, _)| *c == case)
                .map(|(_, r, _)| r.rate())
        };
        let (plain, headed) = (rate(Case::Raw), rate(Case::RawHeaders));
        println!("\n### NATS bridge, core NATS on loopback, {n} events of {size} B\n");
        println!(
            "| measurement | events/s | × raw, same bytes on the wire | × raw, payload only | CPU µs/event | lost |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for (c, r, cpu) in &rows {
            let ratio =
                |base: Option<f64>| base.map_or(String::new(), |b| format!("{:.2}×", r.rate() / b));
            let same = match c {
                Case::Raw | Case::RawHeaders => None,
                Case::Import => plain,
                Case::Export | Case::ImportHeaders => headed,
            };
            println!(
                "| {} | {} | {} | {} | {cpu:.2} | {} |",
                r.what,
                table::thousands(r.rate()),
                ratio(same),
                ratio(plain),
                r.lost
            );
        }
    }
    if arg("--case").is_some() {
        return;
    }
    let k = if smoke { 50 } else { 2000 };
    let (raw, out, inn) = b.latency(k);
    println!("\n### NATS bridge latency, events of 100 B, one at a time (median of {k})\n");
    println!("| path | latency | added by the bridge |");
    println!("|---|---:|---:|");
    println!("| raw async-nats: publish -> subscriber | {raw:.0} µs | |");
    println!(
        "| bus -> bridge -> NATS subscriber | {out:.0} µs | {:.0} µs |",
        out - raw
    );
    println!(
        "| NATS publisher -> bridge -> bus | {inn:.0} µs | {:.0} µs |",
        inn - raw
    );
}

fn nats_label(case: nats::Case) -> &'static str {
    use nats::Case;
    match case {
        Case::Raw => "raw async-nats: publish -> subscriber, payload only",
        Case::RawHeaders => "raw async-nats: publish -> subscriber, the bridge's header",
        Case::Export => "bridge export: bus -> bridge -> subscriber",
        Case::Import => "bridge import: publisher (payload only) -> bridge -> bus",
        Case::ImportHeaders => {
            "bridge import: publisher (another bridge's header) -> bridge -> bus"
        }
    }
}
