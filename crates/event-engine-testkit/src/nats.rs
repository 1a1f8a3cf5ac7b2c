//! `nats-server` for tests: a server (JetStream on, MQTT gateway optional) or a three-node
//! cluster, on free ports, in a temporary directory that is removed afterwards.
//!
//! nats-server cannot listen on port 0 and report the port it got in a form we can read for
//! every listener, so each start picks free ports (bind 0, release), writes a config file, starts
//! the server and reads its log until it says `Server is ready`; when a port was taken
//! meanwhile, it picks others and starts again. Readiness is read from the log, never slept for.
//!
//! ```no_run
//! use event_engine_testkit::nats::NatsServer;
//!
//! let mut server = NatsServer::start(); // JetStream on
//! println!("{}", server.url());          // nats://127.0.0.1:<port>
//! server.restart();                      // SIGKILL, then the same ports and store again
//! ```

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::free_port;

/// How long a server gets to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The program: `$NATS_SERVER` or `nats-server` on the PATH.
pub fn program() -> String {
    std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into())
}

/// Panics with the install hint when nats-server is missing.
pub fn require() {
    let ok = Command::new(program())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "nats-server not found: install it (Debian: apt-get install nats-server) or set NATS_SERVER"
    );
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ee-nats-{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Ports of one server.
#[derive(Debug, Clone, Copy)]
struct Ports {
    client: u16,
    cluster: u16,
    mqtt: u16,
}

/// One nats-server process and its files.
#[derive(Debug)]
pub struct NatsServer {
    name: String,
    dir: PathBuf,
    ports: Ports,
    mqtt: bool,
    /// `routes` of the cluster this server belongs to (other members' cluster ports).
    cluster: Option<(String, Vec<u16>)>,
    child: Option<Child>,
    own_dir: bool,
    /// A configuration given whole ([`NatsServer::with_config`]).
    custom: Option<String>,
}

impl NatsServer {
    /// A server run from `config` (the caller chose its ports), in a fresh directory that is its
    /// working directory (relative `store_dir`s land there). Panics unless it becomes ready.
    pub fn with_config(name: &str, config: &str) -> NatsServer {
        require();
        let mut s = NatsServer {
            name: name.into(),
            dir: temp_dir(name),
            ports: Ports {
                client: 0,
                cluster: 0,
                mqtt: 0,
            },
            mqtt: false,
            cluster: None,
            child: None,
            own_dir: true,
            custom: Some(config.to_string()),
        };
        if let Err(e) = s.launch() {
            panic!("{e}");
        }
        s
    }

    /// A server with JetStream.
    pub fn start() -> NatsServer {
        Self::start_with(false)
    }

    /// A server with JetStream and the MQTT gateway.
    pub fn start_with_mqtt() -> NatsServer {
        Self::start_with(true)
    }

    fn start_with(mqtt: bool) -> NatsServer {
        require();
        let dir = temp_dir("single");
        let mut s = NatsServer {
            name: "n1".into(),
            dir,
            ports: Ports {
                client: 0,
                cluster: 0,
                mqtt: 0,
            },
            mqtt,
            cluster: None,
            child: None,
            own_dir: true,
            custom: None,
        };
        s.launch_fresh_ports();
        s
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.ports.client)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.ports.client
    }

    /// The MQTT port (0 without the gateway).
    pub fn mqtt_port(&self) -> u16 {
        self.ports.mqtt
    }

    /// The server process's id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's name (`n1`, `n2`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join(format!("{}.log", self.name))).unwrap_or_default()
    }

    fn config(&self) -> String {
        if let Some(c) = &self.custom {
            return c.clone();
        }
        let store = self.dir.join(format!("{}-store", self.name));
        let mut c = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\njetstream {{\n  store_dir: {store:?}\n  max_memory_store: 256MB\n  max_file_store: 2GB\n}}\n",
            name = self.name,
            port = self.ports.client,
        );
        if let Some((cluster, routes)) = &self.cluster {
            let routes: Vec<String> = routes
                .iter()
                .map(|p| format!("    nats-route://127.0.0.1:{p}"))
                .collect();
            c.push_str(&format!(
                "cluster {{\n  name: {cluster}\n  listen: 127.0.0.1:{}\n  routes: [\n{}\n  ]\n}}\n",
                self.ports.cluster,
                routes.join("\n")
            ));
        }
        if self.mqtt {
            c.push_str(&format!(
                "mqtt {{\n  listen: 127.0.0.1:{}\n}}\n",
                self.ports.mqtt
            ));
        }
        c
    }

    /// Starts the process with the current ports; Err(log) when it did not become ready.
    fn launch(&mut self) -> Result<(), String> {
        let conf = self.dir.join(format!("{}.conf", self.name));
        fs::write(&conf, self.config()).map_err(|e| e.to_string())?;
        let log = self.dir.join(format!("{}.log", self.name));
        let _ = fs::remove_file(&log);
        let child = Command::new(program())
            .arg("-c")
            .arg(&conf)
            .arg("-l")
            .arg(&log)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start nats-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server is ready") {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    self.child = None;
                    return Err(format!("nats-server exited ({status}): {text}{err}"));
                }
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "nats-server not ready in {READY_TIMEOUT:?}: {text}"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn launch_fresh_ports(&mut self) {
        let mut last = String::new();
        for _ in 0..5 {
            self.ports.client = free_port();
            if self.mqtt {
                self.ports.mqtt = free_port();
            }
            match self.launch() {
                Ok(()) => return,
                Err(e) if e.contains("address already in use") => last = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no free ports for nats-server after 5 tries: {last}");
    }

    /// Kills the process (SIGKILL); its store stays.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the killed server again on the same ports with the same store (panics if its
    /// ports were taken meanwhile).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.launch() {
                Ok(()) => return,
                // The old socket may linger a moment after a kill.
                Err(e) if e.contains("address already in use") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Kills the server and starts it again (same ports, same store).
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// The directory of its files (config, log, store).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        if self.own_dir {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Three servers in one cluster, JetStream on every one (streams may have 3 replicas).
#[derive(Debug)]
pub struct NatsCluster {
    /// The members, `n1`, `n2`, `n3`.
    pub servers: Vec<NatsServer>,
    dir: PathBuf,
}

impl NatsCluster {
    /// Starts three servers and waits until each is ready and has routes to the two others.
    pub fn start() -> NatsCluster {
        require();
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start() {
                Ok(c) => return c,
                Err(e) if e.contains("address already in use") => last = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no free ports for a nats cluster after 5 tries: {last}");
    }

    fn try_start() -> Result<NatsCluster, String> {
        let dir = temp_dir("cluster");
        let ports: Vec<Ports> = (0..3)
            .map(|_| Ports {
                client: free_port(),
                cluster: free_port(),
                mqtt: 0,
            })
            .collect();
        let mut servers: Vec<NatsServer> = (0..3)
            .map(|i| NatsServer {
                name: format!("n{}", i + 1),
                dir: dir.clone(),
                ports: ports[i],
                mqtt: false,
                cluster: Some((
                    "ee-test".into(),
                    (0..3)
                        .filter(|j| *j != i)
                        .map(|j| ports[j].cluster)
                        .collect(),
                )),
                child: None,
                own_dir: false,
                custom: None,
            })
            .collect();
        let mut cluster = NatsCluster {
            servers: Vec::new(),
            dir,
        };
        for s in &mut servers {
            s.launch()?;
        }
        cluster.servers = servers;
        // Routes: every server logs a line per route it made or accepted.
        let routed = crate::wait_until(READY_TIMEOUT, || {
            cluster
                .servers
                .iter()
                .all(|s| s.log().matches("Route connection created").count() >= 2)
        });
        if !routed {
            let logs: Vec<String> = cluster.servers.iter().map(|s| s.log()).collect();
            return Err(format!(
                "the cluster did not form: {}",
                logs.join("\n---\n")
            ));
        }
        Ok(cluster)
    }

    /// Every member's URL, for a client's server list.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            s.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
