//! Launching plugin processes: environment, output prefixed with the plugin's name, and the
//! signals that stop them (each child runs in its own process group, so a signal reaches the
//! programs it starts too; if the CLI dies, the kernel sends its children SIGTERM).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;

use crate::config::Launch;

/// Sent by a child's waiter thread when it exits.
pub struct Exited {
    pub index: usize,
    pub generation: u32,
    pub status: std::io::Result<ExitStatus>,
}

/// Starts `launch` for plugin `name`; its waiter thread reports on `exited`.
pub fn spawn(
    index: usize,
    generation: u32,
    name: &str,
    launch: &Launch,
    env: &[(String, String)],
    exited: Sender<Exited>,
) -> std::io::Result<u32> {
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .current_dir(&launch.cwd)
        .envs(env.iter().cloned())
        .envs(&launch.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setpgid and prctl are async-signal-safe and touch only the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child: Child = cmd.spawn().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot start {:?} in {}: {e}",
                launch.program,
                launch.cwd.display()
            ),
        )
    })?;
    let pid = child.id();
    if let Some(out) = child.stdout.take() {
        prefix_lines(name.to_string(), out, false);
    }
    if let Some(err) = child.stderr.take() {
        prefix_lines(name.to_string(), err, true);
    }
    std::thread::Builder::new()
        .name(format!("wait-{name}"))
        .spawn(move || {
            let status = child.wait();
            let _ = exited.send(Exited {
                index,
                generation,
                status,
            });
        })?;
    Ok(pid)
}

fn prefix_lines(name: String, stream: impl Read + Send + 'static, to_stderr: bool) {
    let _ = std::thread::Builder::new()
        .name(format!("out-{name}"))
        .spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']);
                        if to_stderr {
                            let _ = writeln!(std::io::stderr().lock(), "{name:>12} | {text}");
                        } else {
                            let _ = writeln!(std::io::stdout().lock(), "{name:>12} | {text}");
                        }
                    }
                }
            }
        });
}

/// Sends `signal` to the process group of `pid` (the child and what it started).
pub fn signal_group(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; harmless if it is gone.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

/// A human description of how a process ended.
pub fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}
