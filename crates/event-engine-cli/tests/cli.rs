//! The `event-engine` command end to end: configuration errors, launching and restarting plugin
//! processes, Ctrl-C leaving no child behind, and tap / pub / stats against a running engine.
//!
//! Launched plugins are this test binary itself, run as a child (`child_plugin`, ignored in
//! normal runs) with a role in its environment.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use event_engine_client::Client;

const DEADLINE: Duration = Duration::from_secs(30);

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_event-engine"))
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ee-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The command line that runs this binary as a plugin with `role`.
fn child_command(role: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    format!(
        "command = [{:?}, \"--exact\", \"child_plugin\", \"--ignored\", \"--nocapture\", \"--test-threads=1\"]\nenv = {{ EE_TEST_ROLE = \"{role}\" }}",
        exe.display().to_string()
    )
}

/// Plugins launched by the tests below.
#[test]
#[ignore = "launched as a plugin process by the other tests"]
fn child_plugin() {
    let role = std::env::var("EE_TEST_ROLE").unwrap();
    let port: u16 = std::env::var("EE_PLUGIN_PORT").unwrap().parse().unwrap();
    let mut c = Client::connect_port("127.0.0.1", port).unwrap();
    match role.as_str() {
        // Answers TypeA events with TypeB<len>; crashes once (the first run) after two events.
        "crash-once" => {
            let marker = PathBuf::from(std::env::var("EE_MARKER").unwrap());
            let mut handled = 0;
            loop {
                let e = c.next(Some(DEADLINE)).unwrap().unwrap();
                if handled == 2 && !marker.exists() {
                    std::fs::write(&marker, b"").unwrap();
                    std::process::exit(3);
                }
                c.publish(format!("TypeB{}", e.data.len() - 5).as_bytes())
                    .unwrap();
                handled += 1;
                if e.data.ends_with(b"message 9") {
                    break;
                }
            }
            c.quit().unwrap();
        }
        // Blocks until it is signalled.
        "block" => {
            println!("CHILD-PID {}", std::process::id());
            let _ = c.next(None);
        }
        // Exits with 0 without ever sending quit.
        "exit-silently" => {}
        // Says where it was told to connect, and quits through that endpoint.
        "endpoint" => {
            let endpoint = std::env::var("EE_PLUGIN_ENDPOINT").unwrap();
            println!("ENDPOINT {endpoint}");
            drop(c);
            Client::connect(&endpoint).unwrap().quit().unwrap();
        }
        // Counts TypeA events until "TypeAstop", then says how many and quits.
        "until-stop" => {
            let mut n = 0;
            loop {
                let e = c.next(Some(DEADLINE)).unwrap().unwrap();
                if e.data == b"TypeAstop" {
                    break;
                }
                n += 1;
            }
            println!("RECEIVED {n}");
            c.quit().unwrap();
        }
        other => panic!("unknown role {other}"),
    }
}

fn run_app(dir: &Path, toml: &str, extra: &[&str]) -> Child {
    let app = dir.join("app.toml");
    std::fs::write(&app, toml).unwrap();
    Command::new(bin())
        .arg("run")
        .arg(&app)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_with_deadline(child: &mut Child) -> std::process::ExitStatus {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < until, "the command did not finish in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn output(child: Child) -> (std::process::ExitStatus, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn wait_for_file(path: &Path) {
    let until = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_bad_file_names_the_file_the_key_and_the_reason() {
    let dir = tempdir("bad");
    let mut child = run_app(&dir, "[[plugins]]\nname = \"py\"\nport = 99999\n", &[]);
    let status = wait_with_deadline(&mut child);
    let (_, _, stderr) = output(child);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("app.toml: plugins[0].port: 99999 is not a TCP port"),
        "{stderr}"
    );
    let missing = Command::new(bin())
        .args(["run", "/nonexistent/app.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/app.toml: cannot read"));
    // `check` says the same without starting anything, and exits 0 for a good file.
    let bad = dir.join("app.toml");
    let checked = Command::new(bin())
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&checked.stderr)
        .contains("plugins[0].port: 99999 is not a TCP port"));
    std::fs::write(
        &bad,
        "[[plugins]]\nname = \"py\"\n[plugins.run]\ncommand = [\"python3\", \"p.py\"]\n[[collectors]]\nname = \"c\"\nsubscriptions = [\"T\"]\ncount = 1\n",
    )
    .unwrap();
    let checked = Command::new(bin())
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    assert!(
        String::from_utf8_lossy(&checked.stdout).contains(
            "app.toml: ok: 1 external plugin(s) (1 launched), 0 generator(s), 1 collector(s), 0 bridge(s)"
        ),
        "{checked:?}"
    );
}

#[test]
fn a_crashed_plugin_is_restarted_and_nothing_is_lost() {
    let dir = tempdir("restart");
    let marker = dir.join("crashed");
    let toml = format!(
        r#"
[[generators]]
name = "producer"
count = 10
event = "TypeAThis is message {{i}}"

[[collectors]]
name = "collector"
subscriptions = ["TypeB"]
count = 10
timeout_ms = 30000

[[plugins]]
name = "counter"
subscriptions = ["TypeA"]
[plugins.run]
{}
restart = "on-failure"
max_restarts = 2
restart_backoff_ms = 50
"#,
        child_command("crash-once").replace(
            "EE_TEST_ROLE = \"crash-once\"",
            &format!(
                "EE_TEST_ROLE = \"crash-once\", EE_MARKER = {:?}",
                marker.display().to_string()
            )
        )
    );
    let mut child = run_app(&dir, &toml, &[]);
    let status = wait_with_deadline(&mut child);
    let (_, _, stderr) = output(child);
    assert!(status.success(), "{stderr}");
    assert!(marker.exists());
    assert!(stderr.contains("counter exit 3; restarting"), "{stderr}");
    assert!(
        stderr.contains("collector      finished; 10 event(s): TypeB 10"),
        "{stderr}"
    );
    assert!(
        stderr.contains("process exit 0 after 1 restart(s)"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_that_keeps_failing_fails_the_run() {
    let dir = tempdir("fail");
    let toml = format!(
        "[[plugins]]\nname = \"broken\"\n[plugins.run]\ncommand = [\"sh\", \"-c\", \"exit 7\"]\nrestart = \"on-failure\"\nmax_restarts = 1\nrestart_backoff_ms = 10\n\n[[plugins]]\nname = \"waiting\"\n[plugins.run]\n{}\n",
        child_command("block")
    );
    let mut child = run_app(&dir, &toml, &[]);
    let status = wait_with_deadline(&mut child);
    let (_, _, stderr) = output(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken exit 7; restarting"), "{stderr}");
    assert!(stderr.contains("broken failed (exit 7)"), "{stderr}");
    // The summary says so too (not "finished": the engine's side of it ended cleanly).
    assert!(
        stderr.contains("broken         FAILED; process exit 7 after 1 restart(s)"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_whose_command_cannot_start_reads_as_failed() {
    let dir = tempdir("nostart");
    let toml = "[[plugins]]\nname = \"classifier\"\n[plugins.run]\ncommand = [\"pyhton3\", \"classifier.py\"]\n";
    let mut child = run_app(&dir, toml, &[]);
    let status = wait_with_deadline(&mut child);
    let (_, _, stderr) = output(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    // The last line about it is the summary's (the first one is the start-up listing).
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("event-engine:   classifier "))
        .unwrap_or_else(|| panic!("no summary line for classifier:\n{stderr}"));
    assert!(
        line.contains("FAILED; process cannot start") && line.contains("pyhton3"),
        "{line}"
    );
}

#[test]
fn a_process_that_exits_without_quit_does_not_hang_the_engine() {
    let dir = tempdir("silent");
    let toml = format!(
        "[[plugins]]\nname = \"silent\"\n[plugins.run]\n{}\n",
        child_command("exit-silently")
    );
    let mut child = run_app(&dir, &toml, &[]);
    let status = wait_with_deadline(&mut child);
    assert!(status.success(), "{:?}", output(child).2);
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn ctrl_c_stops_everything_and_leaves_no_child_process() {
    a_signal_stops_everything(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_everything_and_exits_with_143() {
    a_signal_stops_everything(libc::SIGTERM, 143);
}

fn a_signal_stops_everything(signal: i32, code: i32) {
    let dir = tempdir(&format!("signal-{signal}"));
    let toml = format!(
        "[[plugins]]\nname = \"blocker\"\n[plugins.run]\n{}\ngrace_period_ms = 2000\n",
        child_command("block")
    );
    let mut child = run_app(&dir, &toml, &[]);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut pid = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(p) = line.split("CHILD-PID ").nth(1) {
            pid = Some(p.trim().parse::<i32>().unwrap());
            break;
        }
    }
    let pid = pid.expect("the plugin printed its pid");
    assert!(pid_alive(pid));
    // SAFETY: sends the signal to the CLI we started.
    unsafe { libc::kill(child.id() as i32, signal) };
    let started = Instant::now();
    let status = wait_with_deadline(&mut child);
    assert_eq!(status.code(), Some(code));
    assert!(started.elapsed() < Duration::from_secs(10));
    let until = Instant::now() + Duration::from_secs(5);
    while pid_alive(pid) {
        // A zombie is reaped by its parent (gone) or by init; either way it must go.
        assert!(Instant::now() < until, "plugin process {pid} survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn tap_pub_and_stats_against_a_running_engine() {
    let dir = tempdir("tap");
    let ready = dir.join("ready.json");
    let mut engine = run_app(
        &dir,
        "[[plugins]]\nname = \"watched\"\nsubscriptions = [\"TypeA\"]\n",
        &["--ready-file", ready.to_str().unwrap()],
    );
    wait_for_file(&ready);
    let mut tap = Command::new(bin())
        .args([
            "tap",
            "--ready",
            ready.to_str().unwrap(),
            "--filter",
            "TypeA",
            "--count",
            "1",
        ])
        .args(["--timeout-ms", "30000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The tap's subscription reaches the bus at its own pace: publish until it has seen one.
    let until = Instant::now() + DEADLINE;
    while tap.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "tap saw nothing");
        let st = Command::new(bin())
            .args([
                "pub",
                "--ready",
                ready.to_str().unwrap(),
                "TypeA",
                "hello tap",
            ])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, stdout, _) = output(tap);
    assert!(status.success());
    assert!(
        stdout.contains("TypeA") && stdout.contains("hello tap") && stdout.contains("14 B"),
        "{stdout}"
    );

    // The plugin received what was published (at least the one the tap saw).
    let json = Command::new(bin())
        .args(["stats", "--ready", ready.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc[0]["plugin"], "watched");
    assert_eq!(doc[0]["stats"]["sessions"], 0);
    let mut c = Client::connect_port(
        "127.0.0.1",
        doc[0]["endpoint"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        c.next(Some(DEADLINE)).unwrap().unwrap().data,
        b"TypeAhello tap"
    );
    let table = Command::new(bin())
        .args(["stats", "--ready", ready.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("delivered") && table.contains("watched"),
        "{table}"
    );
    // With --endpoint the first column is the endpoint, wider than a name: the columns stay
    // aligned (every counter ends where its heading ends).
    let endpoint = doc[0]["endpoint"].as_str().unwrap();
    let table = Command::new(bin())
        .args(["stats", "--endpoint", endpoint])
        .output()
        .unwrap();
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[1].starts_with(endpoint), "{table}");
    assert_eq!(lines[0].len(), lines[1].len(), "columns moved:\n{table}");
    let ends = |l: &str| -> Vec<usize> {
        let mut v = Vec::new();
        let b = l.as_bytes();
        for i in 0..b.len() {
            if b[i] != b' ' && (i + 1 == b.len() || b[i + 1] == b' ') {
                v.push(i);
            }
        }
        v
    };
    assert_eq!(
        ends(lines[0])[1..],
        ends(lines[1])[1..],
        "columns moved:\n{table}"
    );
    c.quit().unwrap();
    let status = wait_with_deadline(&mut engine);
    assert!(status.success());
    assert!(!ready.exists(), "the ready file is removed at exit");
}

#[test]
fn each_command_s_help_names_the_endpoint_it_needs() {
    for (command, needs) in [
        ("tap", "subscribe endpoint"),
        ("pub", "publish endpoint"),
        ("stats", "external plugin's endpoint"),
    ] {
        let help = Command::new(bin())
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout).to_string();
        assert!(
            help.contains("Examples:") && help.contains(needs),
            "{command}: {help}"
        );
    }
}

#[test]
fn pub_without_an_engine_is_a_clear_error() {
    let out = Command::new(bin())
        .args([
            "pub",
            "--endpoint",
            "tcp://127.0.0.1:1",
            "--timeout-ms",
            "300",
            "TypeA",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no engine answered"));
    let out = Command::new(bin()).args(["stats"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("say where the engine is"));
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Finding 5: with every file descriptor taken by idle connections, the engine does not spin,
/// says so once, keeps serving connected clients and recovers when descriptors free up.
#[test]
fn out_of_descriptors_the_engine_neither_spins_nor_stops_serving() {
    use std::os::unix::process::CommandExt;
    let dir = tempdir("nofile");
    let app = dir.join("app.toml");
    let ready = dir.join("ready.json");
    std::fs::write(
        &app,
        "[[plugins]]\nname = \"victim\"\n[[plugins]]\nname = \"other\"\n",
    )
    .unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(&app)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit only changes the child's own limits before it runs.
    unsafe {
        cmd.pre_exec(|| {
            let l = libc::rlimit {
                rlim_cur: 200,
                rlim_max: 200,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    wait_for_file(&ready);
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    let port = |name: &str| info["plugins"][name]["port"].as_u64().unwrap() as u16;
    // A client connected before the descriptors run out.
    let mut early = Client::connect_port("127.0.0.1", port("other")).unwrap();
    early.hello().unwrap();
    let mut idle = Vec::new();
    for _ in 0..260 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port("victim"))) {
            idle.push(s);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let (t0, c0) = (Instant::now(), cpu_ticks(child.id()));
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (cpu_ticks(child.id()) - c0) as f64 / hz / t0.elapsed().as_secs_f64();
    assert!(cpu < 0.5, "the engine used {:.0} % CPU", cpu * 100.0);
    // The connected client is still served.
    early.stats().unwrap();
    // Descriptors free up: a new client is served again.
    idle.clear();
    let mut late = Client::connect_port("127.0.0.1", port("victim")).unwrap();
    late.hello().unwrap();
    late.quit().unwrap();
    early.quit().unwrap();
    let status = wait_with_deadline(&mut child);
    let (_, _, stderr) = output(child);
    assert!(status.success(), "{stderr}");
    let said = stderr.matches("no file descriptor left").count();
    assert!((1..=3).contains(&said), "said {said} times: {stderr}");
}

#[test]
fn ee_bind_address_opens_the_ports_and_plugins_get_a_connectable_endpoint() {
    let dir = tempdir("bind-env");
    let ready = dir.join("ready.json");
    let toml = format!(
        "[[plugins]]\nname = \"camera\"\n[plugins.run]\n{}\n",
        child_command("endpoint")
    );
    let app = dir.join("app.toml");
    std::fs::write(&app, toml).unwrap();
    let mut child = Command::new(bin())
        .arg("run")
        .arg(&app)
        .arg("--ready-file")
        .arg(&ready)
        .env("EE_BIND_ADDRESS", "0.0.0.0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child);
    let (_, stdout, stderr) = output(child);
    let all = format!("{stdout}{stderr}");
    assert!(status.success(), "{all}");
    // Warned at start-up, saying where the address came from.
    assert!(
        all.contains("listens on 0.0.0.0 (from EE_BIND_ADDRESS)"),
        "{all}"
    );
    // The launched plugin was given 127.0.0.1, not 0.0.0.0 (and reached the engine with it).
    assert!(all.contains("ENDPOINT tcp://127.0.0.1:"), "{all}");
    assert!(!all.contains("ENDPOINT tcp://0.0.0.0"), "{all}");
}

/// Issue "only a plugin's own process can be that plugin": `event-engine run` gives each plugin
/// it launches a token of its own through the launch environment (the client finds it with no
/// code); an impostor on its port gets nothing; a plugin started elsewhere uses its
/// `token_file` (made private on the first run); `auth = "none"` is warned of.
#[test]
fn launched_plugins_authenticate_with_no_code_and_impostors_get_nothing() {
    use event_engine_client::{ClientOptions, Error, Token};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempdir("auth");
    let ready = dir.join("ready.json");
    let toml = format!(
        "[[generators]]\nname = \"producer\"\ncount = 100\nevent = \"TypeA{{i}}\"\n\n\
         [[plugins]]\nname = \"victim\"\nsubscriptions = [\"TypeA\"]\n[plugins.run]\n{}\n\n\
         [[plugins]]\nname = \"remote\"\ntoken_file = \"remote.token\"\n\n\
         [[plugins]]\nname = \"legacy\"\nauth = \"none\"\n",
        child_command("until-stop")
    );
    let mut engine = run_app(&dir, &toml, &["--ready-file", ready.to_str().unwrap()]);
    wait_for_file(&ready);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ready), 0o600, "the ready file holds tokens");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    let endpoint = |name: &str| {
        doc["plugins"][name]["endpoint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(doc["plugins"]["victim"]["token"].as_str().unwrap().len() >= 16);
    assert!(doc["plugins"]["legacy"].get("token").is_none());

    // Impostors on the launched plugin's port: no token, and the remote plugin's token.
    let remote_token = std::fs::read_to_string(dir.join("remote.token")).unwrap();
    assert_eq!(mode(&dir.join("remote.token")), 0o600);
    let impostor = |token: Option<&str>| ClientOptions {
        reply_timeout: Duration::from_millis(300),
        retries: 0,
        token: token.map(|t| Token::new(t.trim()).unwrap()),
        ..ClientOptions::default()
    };
    for token in [None, Some(remote_token.as_str())] {
        let mut c = Client::connect_with(&endpoint("victim"), impostor(token)).unwrap();
        assert!(matches!(
            c.next_batch(100, Some(Duration::from_millis(100))),
            Err(Error::Disconnected { .. })
        ));
        assert!(matches!(c.quit(), Err(Error::Disconnected { .. })));
    }
    // stats --ready presents each plugin's token from the ready file.
    let json = Command::new(bin())
        .args(["stats", "--ready", ready.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let victim = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == "victim")
        .unwrap();
    assert!(
        victim["stats"]["refused"].as_u64().unwrap() >= 2,
        "{victim}"
    );
    assert!(json.status.success(), "{stats}");

    // The remote plugin connects with its token file, the legacy one with nothing.
    let remote = ClientOptions {
        token: Some(Token::from_file(dir.join("remote.token")).unwrap()),
        ..ClientOptions::default()
    };
    Client::connect_with(&endpoint("remote"), remote)
        .unwrap()
        .quit()
        .unwrap();
    Client::connect(&endpoint("legacy"))
        .unwrap()
        .quit()
        .unwrap();
    let st = Command::new(bin())
        .args(["pub", "--ready", ready.to_str().unwrap(), "TypeA", "stop"])
        .status()
        .unwrap();
    assert!(st.success());
    let status = wait_with_deadline(&mut engine);
    let (_, stdout, stderr) = output(engine);
    assert!(status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("RECEIVED 100"), "{stdout}{stderr}");
    assert!(
        stderr.contains("plugin legacy: auth = \"none\": anyone who can reach"),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains(remote_token.trim()), "a token was printed");
    assert!(!stderr.contains(doc["plugins"]["victim"]["token"].as_str().unwrap()));
}

#[test]
fn keygen_writes_a_private_key_pair_once_or_says_it_needs_curve() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ee-cli-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("engine");
    let out = Command::new(bin())
        .arg("keygen")
        .arg(&prefix)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !event_engine::auth::curve_available() {
        // The default build: a clear error, no file.
        assert!(!out.status.success());
        assert!(stderr.contains("make build-curve"), "{stderr}");
        assert!(!dir.join("engine.key").exists());
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    assert!(out.status.success(), "{stderr}");
    let key = dir.join("engine.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public = std::fs::read_to_string(dir.join("engine.pub")).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(public.trim()));
    let again = Command::new(bin())
        .arg("keygen")
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not overwritten"));
    std::fs::remove_dir_all(&dir).unwrap();
}
