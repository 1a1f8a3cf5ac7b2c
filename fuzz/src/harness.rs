//! What the fuzz targets check, one function per target. Compiled by the fuzz crate (libFuzzer,
//! `make fuzz`) and by the engine's stable smoke test (`tests/fuzz_smoke.rs`), so the same
//! checks run in every `make test`.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::ExternalPluginSpec;
use event_engine::wire::{self, Request, Status};
use event_engine::{zmq, App, RunningApp};

/// Most frames cut from one input.
const MAX_FRAMES: usize = 64;

/// Cuts `data` into frames: each frame is one length byte and that many bytes (a length past
/// the end takes the rest).
pub fn frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if out.len() == MAX_FRAMES {
            break;
        }
        let n = (len as usize).min(tail.len());
        out.push(&tail[..n]);
        rest = &tail[n..];
    }
    out
}

/// The inverse of [`frames`] (for building inputs).
pub fn join(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let f = &f[..f.len().min(255)];
        out.push(f.len() as u8);
        out.extend_from_slice(f);
    }
    out
}

/// The parser never panics, and what it accepts or refuses is consistent with the spec.
pub fn wire_request(data: &[u8]) {
    let frames = frames(data);
    match wire::parse_request(&frames) {
        Ok(Request::Publish(event)) => {
            assert_eq!(frames.len(), 1);
            assert!(!event.is_empty());
            assert!(!event.starts_with(wire::COMMAND_PREFIX));
        }
        Ok(Request::PublishBatch(events)) => {
            assert!(!events.is_empty() && events.len() <= wire::MAX_BATCH as usize);
            assert!(events.iter().all(|e| !e.is_empty()));
            assert_eq!(events.len() + 1, frames.len());
        }
        Ok(Request::Recv {
            max,
            timeout_ms,
            max_bytes,
            ..
        }) => {
            assert!((1..=wire::MAX_BATCH).contains(&max));
            assert!(timeout_ms.is_none_or(|t| t <= wire::MAX_TIMEOUT_MS));
            assert!(max_bytes.is_none_or(|b| (1..=wire::MAX_RECV_BYTES).contains(&b)));
        }
        Ok(_) => assert_eq!(frames.len(), 1),
        Err(e) => {
            // Every refusal is a well-formed error reply that parses back to its code.
            match wire::parse_status(&e.to_frame()) {
                Some(Status::Error(back)) => assert_eq!(back.code, e.code),
                other => panic!("error reply {e} parsed as {other:?}"),
            }
        }
    }
    let _ = wire::parse_status(data);
}

struct Engine {
    dealer: zmq::Socket,
    app: RunningApp,
    _ctx: zmq::Context,
}

fn engine() -> &'static Mutex<Engine> {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let app = App::new(0, 0)
            .with_external_plugin(ExternalPluginSpec::new("target", 0).subscribe(Filter::new("Z")))
            .start()
            .expect("engine");
        let port = app.external_port("target").expect("port");
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).expect("dealer");
        dealer.set_linger(0).expect("linger");
        dealer
            .connect(&format!("tcp://127.0.0.1:{port}"))
            .expect("connect");
        Mutex::new(Engine {
            dealer,
            app,
            _ctx: ctx,
        })
    })
}

/// Sends the frames cut from `data` as one request, then `hello`: the engine must answer the
/// `hello` within two seconds whatever the request was (a consuming one is replaced by it).
pub fn engine_request(data: &[u8]) {
    let frames = frames(data);
    // `quit` would end the plugin under test; `hello` is the probe, which must be the only one
    // (replies come in order, so the probe's reply comes after every reply to the request).
    if frames
        .first()
        .is_some_and(|f| f.starts_with(b"plugin_command: quit"))
        || frames == [wire::HELLO_COMMAND]
    {
        return;
    }
    let e = engine().lock().unwrap_or_else(|p| p.into_inner());
    let mut request: Vec<&[u8]> = vec![b""];
    request.extend(frames.iter().copied());
    e.dealer.send_multipart(&request, 0).expect("send");
    e.dealer
        .send_multipart([&b""[..], wire::HELLO_COMMAND], 0)
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ready = e
            .dealer
            .poll(zmq::POLLIN, left.as_millis() as i64)
            .expect("poll");
        assert!(
            ready > 0,
            "the engine did not answer hello within 2 s ({:?}) after {:?}",
            e.app.stats(),
            frames
                .iter()
                .map(|f| String::from_utf8_lossy(f))
                .collect::<Vec<_>>()
        );
        let reply = e.dealer.recv_multipart(0).expect("recv");
        if reply
            .get(1)
            .is_some_and(|f| f.starts_with(b"event-engine: hello"))
        {
            return;
        }
    }
}
