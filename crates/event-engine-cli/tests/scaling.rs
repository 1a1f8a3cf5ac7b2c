//! Runs every block of docs/scaling.md: topology 1 (an external plugin on another host, in two
//! network namespaces, with the cable pulled mid-stream), topology 2 (two engines sharing a
//! three-node NATS cluster) and topology 3 (an edge engine with a leaf node, the cloud away and
//! then back). Ports in the NATS blocks are rewritten to free ones; namespaces make their own.
//!
//! The plugin process of topology 1 is this test binary, run as `child_classifier` (ignored in
//! normal runs) on the other host.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use event_engine_client::{Client, ClientOptions};
use event_engine_testkit::nats::NatsServer;
use event_engine_testkit::netns::HostPair;
use event_engine_testkit::{free_port, wait_until};

const DEADLINE: Duration = Duration::from_secs(45);

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_event-engine"))
}

/// The block of docs/scaling.md whose info string names `name` (```` ```toml name ````).
fn snippet(name: &str) -> String {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scaling.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(info) = l.strip_prefix("```") {
            if info.split_whitespace().nth(1) == Some(name) {
                let block: Vec<&str> = lines
                    .by_ref()
                    .take_while(|l| !l.starts_with("```"))
                    .collect();
                return block.join("\n") + "\n";
            }
        }
    }
    panic!("docs/scaling.md has no block named {name}");
}

/// Every block of docs/scaling.md has a name this file runs.
#[test]
fn every_block_of_scaling_md_is_run_here() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scaling.md"),
    )
    .unwrap();
    let me =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scaling.rs"))
            .unwrap();
    for l in doc.lines().filter(|l| l.starts_with("```") && l.len() > 3) {
        let name = l[3..]
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("unnamed block: {l}"));
        assert!(
            me.contains(&format!("snippet(\"{name}\")")),
            "block {name} is not run"
        );
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ee-scaling-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `event-engine run` of a file, with a ready file; its stderr goes to a log.
struct Engine {
    child: Child,
    ready: PathBuf,
    log: PathBuf,
}

impl Engine {
    fn start(
        dir: &Path,
        name: &str,
        toml: &str,
        prefix: Option<(&HostPair, &event_engine_testkit::netns::Host)>,
    ) -> Engine {
        let app = dir.join(format!("{name}.toml"));
        std::fs::write(&app, toml).unwrap();
        let ready = dir.join(format!("{name}.ready.json"));
        let log = dir.join(format!("{name}.log"));
        let mut cmd = match prefix {
            Some((pair, host)) => pair.command(host, bin()),
            None => Command::new(bin()),
        };
        let child = cmd
            .arg("run")
            .arg(&app)
            .arg("--ready-file")
            .arg(&ready)
            .env("RUST_LOG", "event_engine=info,warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let e = Engine { child, ready, log };
        assert!(
            wait_until(DEADLINE, || e.ready.exists()),
            "{name} not ready: {}",
            e.output()
        );
        e
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `event-engine stats --json`: the entry of `plugin`.
    fn stats(&self, plugin: &str) -> serde_json::Value {
        let out = Command::new(bin())
            .args(["stats", "--ready"])
            .arg(&self.ready)
            .arg("--json")
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        doc.as_array()
            .and_then(|a| a.iter().find(|p| p["plugin"] == plugin).cloned())
            .unwrap_or_default()
    }

    fn counter(&self, plugin: &str, name: &str) -> u64 {
        self.stats(plugin)["counters"][name].as_u64().unwrap_or(0)
    }

    fn wait_finished(&self, collector: &str) {
        assert!(
            wait_until(DEADLINE, || self.stats(collector)["state"] == "finished"),
            "{collector} did not finish: {} / {}",
            self.stats(collector),
            self.output()
        );
    }

    /// SIGTERM, then the whole output.
    fn stop(mut self) -> String {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + DEADLINE;
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "engine did not stop: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.output()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The classifier of topology 1, on the other host: answers every Frame<i> with Label<i> once,
/// retrying through a pulled cable, and prints what it saw.
#[test]
#[ignore = "launched on the plugin's host by topology_1_a_plugin_on_another_host"]
fn child_classifier() {
    let endpoint = std::env::var("EE_PLUGIN_ENDPOINT").unwrap();
    let options = ClientOptions {
        reply_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    };
    let mut c = Client::connect_with(&endpoint, options).unwrap();
    let mut seen = BTreeSet::new();
    let mut received = 0u64;
    let deadline = Instant::now() + DEADLINE;
    while seen.len() < 2000 {
        assert!(
            Instant::now() < deadline,
            "classifier: {} of 2000",
            seen.len()
        );
        let batch = match c.next_batch(100, Some(Duration::from_millis(500))) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("classifier: receive: {e}; retrying");
                continue;
            }
        };
        for e in batch {
            received += 1;
            let i: u64 = std::str::from_utf8(&e.data[5..]).unwrap().parse().unwrap();
            if seen.insert(i) {
                while let Err(err) = c.publish(format!("Label{i}").as_bytes()) {
                    eprintln!("classifier: publish: {err}; retrying");
                }
            }
            if seen.len() % 250 == 0 {
                println!("progress {}", seen.len());
            }
        }
    }
    while let Err(e) = c.quit() {
        eprintln!("classifier: quit: {e}; retrying");
    }
    println!("classifier distinct {} received {received}", seen.len());
}

#[test]
fn topology_1_a_plugin_on_another_host() {
    let Some(pair) = HostPair::new_or_skip("s1") else {
        return;
    };
    assert_eq!(
        pair.a.addr.to_string(),
        "10.77.0.1",
        "the address docs/scaling.md uses"
    );
    let dir = tempdir("hosts");
    let engine = Engine::start(
        &dir,
        "engine",
        &snippet("hosts/app.toml"),
        Some((&pair, &pair.a)),
    );
    // The start barrier holds: nothing starts until the plugin on the other host connects.
    assert!(wait_until(DEADLINE, || engine
        .output()
        .contains("external plugin process(es) to connect")));
    assert!(
        !engine.output().contains("starting them"),
        "{}",
        engine.output()
    );
    let mut plugin = pair
        .command(&pair.b, std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_classifier",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EE_PLUGIN_ENDPOINT", "tcp://10.77.0.1:6000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(plugin.stdout.take().unwrap()).lines();
    let mut last = String::new();
    let mut pulled = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("progress 500") && !pulled {
            // The cable is pulled on the plugin's side for three seconds.
            pair.link_down(&pair.b);
            std::thread::sleep(Duration::from_secs(3));
            pair.link_up(&pair.b);
            pulled = true;
        }
        if line.starts_with("classifier ") {
            last = line;
        }
    }
    assert!(plugin.wait().unwrap().success());
    assert!(pulled, "the stream ended before the cable was pulled");
    assert!(last.starts_with("classifier distinct 2000"), "{last}");
    // The engine ends on its own: every plugin is done.
    let mut engine = engine;
    let deadline = Instant::now() + DEADLINE;
    while engine.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{}", engine.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = engine.output();
    assert!(out.contains("starting them"), "{out}");
    assert!(
        out.contains("archive        finished; 2000 event(s)"),
        "{out}"
    );
    println!("FIGURES topology 1, cable pulled 3 s: {last}");
}

/// Rewrites `127.0.0.1:<from>` to `127.0.0.1:<to>` for each pair.
fn ports(text: &str, map: &[(u16, u16)]) -> String {
    let mut t = text.to_string();
    for (from, to) in map {
        t = t.replace(&format!("127.0.0.1:{from}"), &format!("127.0.0.1:{to}"));
    }
    t
}

#[test]
fn topology_2_engines_on_a_lan_share_a_nats_cluster() {
    let dir = tempdir("lan");
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let n1 = snippet("lan/n1.conf");
    let mut nodes = Vec::new();
    for k in 0..3 {
        // n1's file with this node's name, ports and the two others as routes.
        let others: Vec<usize> = (0..3).filter(|j| *j != k).collect();
        let conf = ports(
            &n1.replace("n1", &format!("n{}", k + 1)),
            &[
                (4222, client[k]),
                (6222, route[k]),
                (6223, route[others[0]]),
                (6224, route[others[1]]),
            ],
        );
        nodes.push(NatsServer::with_config(&format!("n{}", k + 1), &conf));
    }
    assert!(wait_until(DEADLINE, || nodes.iter().all(|n| n
        .log()
        .matches("Route connection created")
        .count()
        >= 2)));
    let site_a = ports(
        &snippet("lan/site-a.toml"),
        &[(4222, client[0]), (4223, client[1]), (4224, client[2])],
    );
    let site_b = site_a.replace("site-a", "site-b");
    let a = Engine::start(&dir, "site-a", &site_a, None);
    let b = Engine::start(&dir, "site-b", &site_b, None);
    a.wait_finished("dashboard");
    b.wait_finished("dashboard");
    for e in [&a, &b] {
        assert_eq!(e.counter("lan", "exported"), 1000);
        assert_eq!(e.counter("lan", "imported"), 1000);
        assert_eq!(e.counter("lan", "import_duplicates"), 0);
    }
    for out in [a.stop(), b.stop()] {
        assert!(
            out.contains("dashboard      finished; 2000 event(s): Detection 2000"),
            "{out}"
        );
    }
}

#[test]
fn topology_3_an_edge_forwards_through_its_leaf_node_when_the_link_is_up() {
    let dir = tempdir("edge");
    let (edge_port, cloud_port, leaf_port) = (free_port(), free_port(), free_port());
    let map = [(4222, edge_port), (4333, cloud_port), (7422, leaf_port)];
    let edge_nats = NatsServer::with_config("edge", &ports(&snippet("edge/nats.conf"), &map));
    let edge = Engine::start(&dir, "edge", &ports(&snippet("edge/app.toml"), &map), None);
    // The cloud is away: the edge's stream keeps everything.
    assert!(
        wait_until(DEADLINE, || edge.counter("uplink", "exported") == 500),
        "{}",
        edge.output()
    );
    let cloud_nats = NatsServer::with_config("cloud", &ports(&snippet("cloud/nats.conf"), &map));
    assert!(
        wait_until(DEADLINE, || edge_nats
            .log()
            .contains("Leafnode connection created")),
        "{}",
        edge_nats.log()
    );
    let cloud = Engine::start(
        &dir,
        "cloud",
        &ports(&snippet("cloud/app.toml"), &map),
        None,
    );
    cloud.wait_finished("archive");
    assert_eq!(cloud.counter("sites", "imported"), 500);
    let out = cloud.stop();
    assert!(
        out.contains("archive        finished; 500 event(s)"),
        "{out}"
    );
    let out = edge.stop();
    assert!(
        out.contains("uplink") && out.contains("exported 500"),
        "{out}"
    );
    drop(cloud_nats);
}
