//! Test hosts in network namespaces: two namespaces joined by a veth pair, each with its own
//! address, so that an engine and a plugin (or two engines) talk over a real link that a test
//! can pull and plug back.
//!
//! Both ends live in namespaces the test made: nothing is configured in the machine's own
//! namespace, and the addresses (`10.77.0.1` and `10.77.0.2`, a /30) exist only inside them, so
//! pairs made by tests running at the same time do not see each other. Programs run on a host
//! through `ip netns exec` ([`HostPair::command`]); the file system is shared.
//!
//! Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and `ip` (iproute2). Where the kernel or the
//! sandbox refuses, [`HostPair::new`] says why and [`HostPair::new_or_skip`] prints
//! `SKIP: ...` and returns `None`, so the test passes visibly skipped.
//!
//! ```no_run
//! use std::process::Command;
//! use event_engine_testkit::netns::HostPair;
//!
//! let Some(pair) = HostPair::new_or_skip("cable") else { return };
//! let mut engine = pair.command(&pair.a, "event-engine").args(["run", "app.toml"]).spawn().unwrap();
//! pair.link_down(&pair.b);   // the cable is pulled on host b's side
//! pair.link_up(&pair.b);
//! # let _ = engine.kill();
//! ```

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// One test host: a network namespace with one end of the veth pair.
#[derive(Debug, Clone)]
pub struct Host {
    /// The namespace's name (for `ip netns exec`).
    pub netns: String,
    /// The interface's name inside it.
    pub interface: String,
    /// Its address.
    pub addr: Ipv4Addr,
}

/// Two hosts joined by a veth pair; removed (namespaces and link) when dropped.
#[derive(Debug)]
pub struct HostPair {
    /// The first host (`10.77.0.1`).
    pub a: Host,
    /// The second host (`10.77.0.2`).
    pub b: Host,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl HostPair {
    /// Makes the two namespaces, the veth pair and the addresses, and brings the links up.
    /// `tag` (a few letters) names them, with the process id.
    pub fn new(tag: &str) -> Result<HostPair, String> {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = format!("{tag}{}x{n}", std::process::id());
        let host = |side: &str, addr: [u8; 4]| Host {
            netns: format!("ee-{id}-{side}"),
            interface: format!("ee{side}{}", n % 1000),
            addr: Ipv4Addr::from(addr),
        };
        let pair = HostPair {
            a: host("a", [10, 77, 0, 1]),
            b: host("b", [10, 77, 0, 2]),
        };
        ip(&["netns", "add", &pair.a.netns])?;
        // From here on Drop removes whatever was made.
        ip(&["netns", "add", &pair.b.netns])?;
        // The veth is made inside a, its peer moved to b: no interface in the root namespace.
        ip(&[
            "-n",
            &pair.a.netns,
            "link",
            "add",
            &pair.a.interface,
            "type",
            "veth",
            "peer",
            "name",
            &pair.b.interface,
            "netns",
            &pair.b.netns,
        ])?;
        for h in [&pair.a, &pair.b] {
            ip(&[
                "-n",
                &h.netns,
                "addr",
                "add",
                &format!("{}/30", h.addr),
                "dev",
                &h.interface,
            ])?;
            ip(&["-n", &h.netns, "link", "set", &h.interface, "up"])?;
            ip(&["-n", &h.netns, "link", "set", "lo", "up"])?;
        }
        Ok(pair)
    }

    /// [`HostPair::new`], or `None` after printing `SKIP: <why>` where the kernel refuses.
    pub fn new_or_skip(tag: &str) -> Option<HostPair> {
        match HostPair::new(tag) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("SKIP: network namespaces are not available here: {e}");
                println!("SKIP: network namespaces are not available here: {e}");
                None
            }
        }
    }

    /// A command that runs `program` on `host` (`ip netns exec <ns> program`).
    pub fn command(&self, host: &Host, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.arg("netns").arg("exec").arg(&host.netns).arg(program);
        c
    }

    /// Takes `host`'s end of the link down: a pulled cable (sockets stay open, packets stop).
    pub fn link_down(&self, host: &Host) {
        ip(&["-n", &host.netns, "link", "set", &host.interface, "down"]).expect("link down");
    }

    /// Brings `host`'s end of the link back up.
    pub fn link_up(&self, host: &Host) {
        ip(&["-n", &host.netns, "link", "set", &host.interface, "up"]).expect("link up");
    }
}

impl Drop for HostPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth, and with it the peer.
        let _ = ip(&["netns", "del", &self.a.netns]);
        let _ = ip(&["netns", "del", &self.b.netns]);
    }
}
