//! The `counter` example, in Rust: a producer publishes `TypeA` events, a counter plugin answers
//! each with a `TypeB` event carrying the number of characters it counted, and the producer
//! reads every answer. It is event-engine 0.2's own example, run at scale.
//!
//! The same example exists in every language under `examples/<language>/`: there, the counter is
//! an external plugin process. Run this one with `cargo run --release --example counter [N]`.

use std::time::Instant;

use event_engine::events::Filter;
use event_engine::plugins::FnPlugin;
use event_engine::App;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);

    let producer = FnPlugin::new("producer", move |pub_socket, sub_socket| {
        // Publish every event, then read every answer: the bus holds what the counter has not
        // answered yet, and makes the producer wait when it is full (nothing is dropped).
        let reader = std::thread::spawn(move || -> Result<u64, zmq::Error> {
            let mut total = 0;
            for _ in 0..n {
                let answer = sub_socket.recv_bytes(0)?;
                let count: u64 = std::str::from_utf8(&answer[5..])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                total += count;
            }
            Ok(total)
        });
        for i in 0..n {
            pub_socket.send(format!("TypeAThis is message {i}").as_bytes(), 0)?;
        }
        let total = reader.join().map_err(|_| zmq::Error::EFAULT)??;
        println!("producer: {n} answers, {total} characters counted");
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));

    let counter = FnPlugin::new("counter", move |pub_socket, sub_socket| {
        for _ in 0..n {
            let event = sub_socket.recv_bytes(0)?;
            let count = event.len() - 5;
            pub_socket.send(format!("TypeB{count}").as_bytes(), 0)?;
        }
        Ok(())
    })
    .subscribe(Filter::new("TypeA"));

    let started = Instant::now();
    let report = App::new(0, 0)
        .with_plugin(producer)
        .with_plugin(counter)
        .run_with_report()?;
    report.result()?;
    let secs = started.elapsed().as_secs_f64();
    print!("{report}");
    println!(
        "counter example: {} events through the bus in {:.2} s ({:.0} events/s), 0 lost",
        report.events_forwarded,
        secs,
        report.events_forwarded as f64 / secs
    );
    Ok(())
}
