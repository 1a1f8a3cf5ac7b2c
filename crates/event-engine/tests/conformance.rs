//! Runs every ```ee-wire example of docs/protocol.md against a real engine, one test per example,
//! so the protocol page cannot drift from the code. The notation is described in §3 of the page.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;
use libtest_mimic::{Arguments, Failed, Trial};

const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Clone, PartialEq)]
enum Frame {
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Json(serde_json::Value),
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Exact(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Frame::Prefix(b) => write!(f, "{:?}*", String::from_utf8_lossy(b)),
            Frame::Json(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Inject(Vec<Vec<u8>>),
    Request(Vec<Vec<u8>>),
    Reply(Vec<Frame>),
    OnBus(Vec<u8>),
    Reconnect,
}

#[derive(Debug, Clone)]
struct Example {
    name: String,
    line: usize,
    steps: Vec<Step>,
}

fn parse_quoted(s: &str) -> Result<(Vec<u8>, &str), String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'x')) => {
                    let hex: String = (0..2)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    out.push(u8::from_str_radix(&hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?);
                }
                Some((_, 'n')) => out.push(b'\n'),
                Some((_, '"')) => out.push(b'"'),
                Some((_, '\\')) => out.push(b'\\'),
                other => return Err(format!("unknown escape {other:?}")),
            },
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Err("unterminated string".into())
}

fn parse_frames(mut s: &str) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(frames);
        }
        if let Some(rest) = s.strip_prefix('"') {
            let (bytes, rest) = parse_quoted(rest)?;
            if let Some(rest) = rest.strip_prefix('*') {
                frames.push(Frame::Prefix(bytes));
                s = rest;
            } else {
                frames.push(Frame::Exact(bytes));
                s = rest;
            }
        } else if s.starts_with('{') || s.starts_with('[') {
            let v = serde_json::from_str(s).map_err(|e| format!("JSON frame: {e}"))?;
            frames.push(Frame::Json(v));
            return Ok(frames);
        } else {
            return Err(format!("cannot read a frame at '{s}'"));
        }
    }
}

fn exact(frames: Vec<Frame>) -> Result<Vec<Vec<u8>>, String> {
    frames
        .into_iter()
        .map(|f| match f {
            Frame::Exact(b) => Ok(b),
            other => Err(format!("{other:?} is not allowed here")),
        })
        .collect()
}

fn parse_examples(doc: &str) -> Result<Vec<Example>, String> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    let mut in_outer_fence = false;
    for (i, line) in doc.lines().enumerate() {
        let lineno = i + 1;
        // A four-backtick block shows the notation itself: not an example.
        if line.starts_with("````") {
            in_outer_fence = !in_outer_fence;
            continue;
        }
        if in_outer_fence {
            continue;
        }
        if let Some(info) = line.strip_prefix("```ee-wire") {
            let name = info
                .trim()
                .strip_prefix("name=")
                .ok_or(format!("line {lineno}: an example needs name=..."))?;
            current = Some(Example {
                name: name.to_string(),
                line: lineno,
                steps: Vec::new(),
            });
            continue;
        }
        let Some(ex) = current.as_mut() else {
            continue;
        };
        if line.trim() == "```" {
            examples.extend(current.take());
            continue;
        }
        let line = line.trim();
        let at = |e: String| format!("line {lineno}: {e}");
        let step = if let Some(rest) = line.strip_prefix('=') {
            Step::Inject(exact(parse_frames(rest).map_err(at)?).map_err(at)?)
        } else if let Some(rest) = line.strip_prefix('>') {
            Step::Request(exact(parse_frames(rest).map_err(at)?).map_err(at)?)
        } else if let Some(rest) = line.strip_prefix('<') {
            Step::Reply(parse_frames(rest).map_err(at)?)
        } else if let Some(rest) = line.strip_prefix('^') {
            let mut frames = exact(parse_frames(rest).map_err(at)?).map_err(at)?;
            if frames.len() != 1 {
                return Err(at("'^' takes one event".into()));
            }
            Step::OnBus(frames.remove(0))
        } else if line == "~ reconnect" {
            Step::Reconnect
        } else if line.is_empty() || line.starts_with('#') {
            continue;
        } else {
            return Err(at(format!("cannot read '{line}'")));
        };
        ex.steps.push(step);
    }
    if let Some(ex) = current {
        return Err(format!(
            "example {} (line {}) is not closed",
            ex.name, ex.line
        ));
    }
    Ok(examples)
}

fn json_matches(expected: &serde_json::Value, actual: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (expected, actual) {
        (Value::String(s), _) if s == "*" => true,
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| json_matches(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_matches(x, y))
        }
        (e, a) => e == a,
    }
}

fn frame_matches(expected: &Frame, actual: &[u8]) -> bool {
    match expected {
        Frame::Exact(b) => b == actual,
        Frame::Prefix(p) => actual.starts_with(p),
        Frame::Json(v) => serde_json::from_slice::<serde_json::Value>(actual)
            .map(|a| json_matches(v, &a))
            .unwrap_or(false),
    }
}

fn show(frames: &[Vec<u8>]) -> String {
    frames
        .iter()
        .map(|f| format!("{:?}", String::from_utf8_lossy(f)))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Client {
    _ctx: zmq::Context,
    socket: zmq::Socket,
}

impl Client {
    fn connect(port: u16) -> Client {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::REQ).expect("socket");
        socket.set_linger(0).expect("linger");
        socket
            .connect(&format!("tcp://127.0.0.1:{port}"))
            .expect("connect");
        Client { _ctx: ctx, socket }
    }
}

/// Counts the events a reply says were published.
fn published_by(reply: &[Vec<u8>]) -> u64 {
    match reply.first().map(Vec::as_slice) {
        Some(b"event-engine: msg published") => 1,
        Some(f) => String::from_utf8_lossy(f)
            .strip_prefix("event-engine: published count=")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        None => 0,
    }
}

fn run_example(ex: &Example) -> Result<(), Failed> {
    let (inject_tx, inject_rx) = mpsc::channel::<Vec<u8>>();
    let (seen_tx, seen_rx) = mpsc::channel::<Vec<u8>>();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_feeder = Arc::clone(&stop);
    let inject_rx = Mutex::new(inject_rx);
    let feeder = FnPlugin::new("feeder", move |pub_socket, sub| {
        let rx = inject_rx.lock().map_err(|_| zmq::Error::EFAULT)?;
        while !stop_feeder.load(Ordering::SeqCst) {
            while let Ok(e) = rx.try_recv() {
                pub_socket.send(e, 0)?;
            }
            if sub.poll(zmq::POLLIN, 5)? > 0 {
                while let Ok(e) = sub.recv_bytes(zmq::DONTWAIT) {
                    let _ = seen_tx.send(e);
                }
            }
        }
        Ok(())
    })
    .subscribe(Filter::new("TypeB"));
    let sensor = ExternalPluginSpec::new("sensor", 0)
        .subscribe(Filter::new("TypeA"))
        .subscribe(Filter::bytes("binary", [0x01, 0x00]));
    let app = App::new(0, 0)
        .with_plugin(feeder)
        .with_external_plugin(sensor)
        .start()
        .map_err(|e| format!("engine: {e}"))?;
    let port = app.external_port("sensor").ok_or("no port")?;
    let mut client = Client::connect(port);
    let mut forwarded_expected = 0u64;
    let mut last_reply: Option<Vec<Vec<u8>>> = None;
    let result = (|| -> Result<(), String> {
        for step in &ex.steps {
            match step {
                Step::Inject(events) => {
                    for e in events {
                        inject_tx.send(e.clone()).map_err(|e| e.to_string())?;
                    }
                    forwarded_expected += events.len() as u64;
                }
                Step::Request(frames) => {
                    // Everything published so far has reached the plugin's queue.
                    let until = Instant::now() + DEADLINE;
                    while app.stats().events_forwarded < forwarded_expected {
                        if Instant::now() > until {
                            return Err("injected events never reached the bus".into());
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    client
                        .socket
                        .send_multipart(frames, 0)
                        .map_err(|e| e.to_string())?;
                    let ready = client
                        .socket
                        .poll(zmq::POLLIN, DEADLINE.as_millis() as i64)
                        .map_err(|e| e.to_string())?;
                    if ready == 0 {
                        return Err(format!("no reply to {}", show(frames)));
                    }
                    let reply = client.socket.recv_multipart(0).map_err(|e| e.to_string())?;
                    forwarded_expected += published_by(&reply);
                    last_reply = Some(reply);
                }
                Step::Reply(expected) => {
                    let actual = last_reply.take().ok_or("a reply line without a request")?;
                    let ok = expected.len() == actual.len()
                        && expected
                            .iter()
                            .zip(&actual)
                            .all(|(e, a)| frame_matches(e, a));
                    if !ok {
                        return Err(format!("expected {expected:?}\n     got {}", show(&actual)));
                    }
                }
                Step::OnBus(event) => {
                    let got = seen_rx.recv_timeout(DEADLINE).map_err(|_| {
                        format!(
                            "{:?} never reached the bus",
                            show(std::slice::from_ref(event))
                        )
                    })?;
                    if &got != event {
                        return Err(format!(
                            "expected {} on the bus, got {}",
                            show(std::slice::from_ref(event)),
                            show(&[got])
                        ));
                    }
                }
                Step::Reconnect => client = Client::connect(port),
            }
        }
        Ok(())
    })();
    stop.store(true, Ordering::SeqCst);
    app.stop();
    let report = app.wait().map_err(|e| format!("engine: {e}"))?;
    result.map_err(|e| format!("{} (docs/protocol.md line {}): {e}", ex.name, ex.line))?;
    // The sensor was either told to quit by the example or stopped; nothing failed.
    report.result().map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
    let examples = parse_examples(&doc).expect("docs/protocol.md examples");
    assert!(examples.len() >= 20, "only {} examples", examples.len());
    let mut names = std::collections::HashSet::new();
    let trials = examples
        .into_iter()
        .map(|ex| {
            assert!(
                names.insert(ex.name.clone()),
                "two examples named {}",
                ex.name
            );
            Trial::test(format!("protocol_md::{}", ex.name), move || {
                run_example(&ex)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
