//! How TCP endpoints are spelled, by the engine that binds them and by every client that
//! connects: `tcp://HOST:PORT`, with an IPv6 address in brackets (`tcp://[::1]:6000`).
//!
//! ```
//! use event_engine_protocol::endpoint;
//!
//! assert_eq!(endpoint::tcp("127.0.0.1", 6000), "tcp://127.0.0.1:6000");
//! assert_eq!(endpoint::tcp("::1", 6000), "tcp://[::1]:6000");
//! assert_eq!(endpoint::tcp("[::1]", 6000), "tcp://[::1]:6000");
//! // What a client connects to when the engine listens on every interface.
//! assert_eq!(endpoint::tcp(endpoint::connectable("0.0.0.0"), 6000), "tcp://127.0.0.1:6000");
//! ```

/// The host a client connects to when it is given only a port, and the address the engine
/// binds unless told otherwise.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// True for a host that is an IPv6 address: it has a `:` (a host name or IPv4 address cannot).
pub fn is_ipv6_host(host: &str) -> bool {
    host.contains(':')
}

/// True when `endpoint` names an IPv6 address (`tcp://[...]:port`): a ZeroMQ socket needs its
/// IPv6 option set to use it.
pub fn is_ipv6(endpoint: &str) -> bool {
    endpoint.contains('[')
}

/// `host` as it stands in an endpoint: an IPv6 address in brackets, anything else as it is.
pub fn host_part(host: &str) -> String {
    if is_ipv6_host(host) && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The endpoint of TCP `port` on `host` (a name, an IPv4 address, or an IPv6 address with or
/// without brackets).
pub fn tcp(host: &str, port: u16) -> String {
    format!("tcp://{}:{port}", host_part(host))
}

/// The endpoint a server binds: as [`tcp`], with port 0 spelled `*` (any free port).
pub fn bind(address: &str, port: u16) -> String {
    if port == 0 {
        format!("tcp://{}:*", host_part(address))
    } else {
        tcp(address, port)
    }
}

/// The address a client on the same host connects to, given the address a server is bound to:
/// the wildcard addresses (`0.0.0.0`, `::`) become the loopback address of their family.
pub fn connectable(bound: &str) -> &str {
    match bound.trim_start_matches('[').trim_end_matches(']') {
        "0.0.0.0" | "*" | "" => DEFAULT_HOST,
        "::" | "::0" => "::1",
        _ => bound,
    }
}

/// The port at the end of a TCP endpoint (`tcp://127.0.0.1:6000` gives 6000).
pub fn port_of(endpoint: &str) -> Option<u16> {
    endpoint.rsplit(':').next().and_then(|p| p.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(tcp("engine", 1), "tcp://engine:1");
        assert_eq!(tcp("fe80::1%eth0", 2), "tcp://[fe80::1%eth0]:2");
        assert_eq!(bind("127.0.0.1", 0), "tcp://127.0.0.1:*");
        assert_eq!(bind("0.0.0.0", 5559), "tcp://0.0.0.0:5559");
        assert_eq!(bind("::1", 7), "tcp://[::1]:7");
        assert_eq!(connectable("0.0.0.0"), "127.0.0.1");
        assert_eq!(connectable("::"), "::1");
        assert_eq!(connectable("[::]"), "::1");
        assert_eq!(connectable("10.0.0.5"), "10.0.0.5");
        assert_eq!(port_of("tcp://[::1]:6000"), Some(6000));
        assert_eq!(port_of("tcp://127.0.0.1:*"), None);
        assert!(is_ipv6(&tcp("::1", 1)) && !is_ipv6(&tcp("h", 1)));
    }
}
