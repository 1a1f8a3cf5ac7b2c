//! Baselines for the Node.js SDK benchmark (`bench/bench.js`), measured in Rust on the same engine:
//!
//! * `raw_sub PUB_ENDPOINT SUB_ENDPOINT COUNT`: a raw ZeroMQ PUB publishes COUNT events over TCP
//!   into the bus and a raw TCP SUB receives them (no plugin protocol at all);
//! * `raw_sub PUB_ENDPOINT PLUGIN_ENDPOINT COUNT client`: the same events received by
//!   `event-engine-client` with `next_batch(1000)` from a plugin subscribed to `RawC`;
//! * `... client1`: the same with `next()`, one event per round trip, from a plugin subscribed to
//!   `Raw1`.
//! * a fifth argument SIZE (with `raw`, `client` or `client1` as the fourth) sets the events'
//!   size in bytes (default 100; the large-event rows of `bench/bench.js --large`).
//!
//! Prints one JSON line: `{"events": N, "seconds": S, "rate": R}`.

use std::time::{Duration, Instant};

use event_engine_client::Client;

type Error = Box<dyn std::error::Error>;
/// Size of the events, as in `bench/bench.js` and the Rust bench.
const SIZE: usize = 100;
/// Receives what is available (up to 1000 events), waiting at most the given time for the first.
type Receive = Box<dyn FnMut(Duration) -> Result<Vec<Vec<u8>>, Error>>;

fn publisher(ctx: &zmq::Context, endpoint: &str) -> Result<zmq::Socket, Error> {
    let publisher = ctx.socket(zmq::PUB)?;
    // A PUB drops what exceeds its high-water mark: unlimited, so that nothing is lost.
    publisher.set_sndhwm(0)?;
    publisher.connect(endpoint)?;
    Ok(publisher)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err(
            "usage: raw_sub PUB_ENDPOINT (SUB_ENDPOINT | PLUGIN_ENDPOINT) COUNT [client]".into(),
        );
    }
    let count: usize = args[3].parse()?;
    let client_mode = args.get(4).is_some_and(|m| m.starts_with("client"));
    let max = if args.get(4).is_some_and(|m| m == "client1") {
        1
    } else {
        1000
    };
    let size: usize = match args.get(5) {
        Some(s) => s.parse()?,
        None => SIZE,
    };
    let ctx = zmq::Context::new();
    let publisher = publisher(&ctx, &args[1])?;
    let filter: &[u8] = match (client_mode, max) {
        (false, _) => b"Raw ",
        (true, 1) => b"Raw1",
        (true, _) => b"RawC",
    };
    let warmup = [filter, b"warmup"].concat();

    // A PUB's first events are lost until its connection is up: send warm-ups until one arrives.
    let mut receive: Receive = if client_mode {
        let mut client = Client::connect(&args[2])?;
        Box::new(move |timeout| {
            Ok(client
                .next_batch(max, Some(timeout))?
                .into_iter()
                .map(|e| e.data)
                .collect())
        })
    } else {
        let sub = ctx.socket(zmq::SUB)?;
        sub.set_subscribe(filter)?;
        sub.connect(&args[2])?;
        Box::new(move |timeout| {
            let mut out = Vec::new();
            if sub.poll(zmq::POLLIN, timeout.as_millis() as i64)? > 0 {
                while out.len() < 1000 {
                    match sub.recv_bytes(zmq::DONTWAIT) {
                        Ok(b) => out.push(b),
                        Err(zmq::Error::EAGAIN) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(out)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        publisher.send(&warmup, 0)?;
        if !receive(Duration::from_millis(20))?.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err("no warm-up event came back in 10 s".into());
        }
    }

    let started = Instant::now();
    let sender = std::thread::spawn(move || -> Result<(), zmq::Error> {
        for i in 0..count {
            let mut event = [filter, format!("This is message {i} ").as_bytes()].concat();
            event.resize(size.max(event.len()), b'.');
            publisher.send(event, 0)?;
        }
        // Keep the socket (and its queue) until everything is out.
        std::thread::sleep(Duration::from_secs(2));
        Ok(())
    });
    let mut received = 0;
    while received < count {
        let batch = receive(Duration::from_secs(10))?;
        if batch.is_empty() {
            return Err(format!("only {received} of {count} events arrived").into());
        }
        received += batch.iter().filter(|e| !e.ends_with(b"warmup")).count();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"events\": {received}, \"seconds\": {seconds:.4}, \"rate\": {:.0}}}",
        received as f64 / seconds
    );
    drop(sender);
    Ok(())
}
