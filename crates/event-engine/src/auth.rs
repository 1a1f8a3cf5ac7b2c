//! Who may connect to an external plugin's port: the engine's ZAP handler (ZeroMQ RFC 27).
//!
//! An external plugin given a credential (a *token*: [`ExternalPluginSpec::with_token`],
//! or the one `event-engine run` makes for each plugin it launches) gets a port that speaks the
//! PLAIN mechanism as a server, in a ZAP domain of its own (`ee-plugin-<index>`). libzmq asks the
//! handler below about every connection that completes the PLAIN handshake; the handler admits it
//! only if the password is that plugin's token. Any other connection is refused at the handshake:
//! it never reaches the plugin's thread, so it receives no event and its `ack`, `quit` and
//! publishes have no effect. Ports without a token stay as in 0.2 (NULL mechanism, anyone may
//! connect); the handler admits every NULL handshake, which is what libzmq does without one.
//!
//! PLAIN sends the token in clear: it authenticates, it does not encrypt. The engine accepts it
//! on any address, and warns at start-up when a port listens beyond loopback (`docs/security.md`).
//!
//! [`ExternalPluginSpec::with_token`]: crate::plugins::ExternalPluginSpec::with_token

use std::collections::HashMap;

use log::{debug, warn};

/// The endpoint libzmq sends its ZAP requests to, in the socket's own context.
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The ZAP domain of the external plugin at `index` in the application.
pub(crate) fn domain(index: usize) -> String {
    format!("ee-plugin-{index}")
}

/// A fresh token: 32 random bytes from the operating system, as 64 lower-case hex digits.
///
/// ```
/// let token = event_engine::auth::new_token().unwrap();
/// assert_eq!(token.len(), 64);
/// assert_ne!(token, event_engine::auth::new_token().unwrap());
/// ```
pub fn new_token() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a token given to the engine (the rule every client checks too:
/// [`crate::wire::token::check`]).
pub fn check_token(token: &str) -> Result<(), String> {
    crate::wire::token::check(token)
}

/// The credentials the handler admits: ZAP domain -> (plugin name, token).
#[derive(Default)]
pub(crate) struct Table {
    admitted: HashMap<String, (String, String)>,
}

impl Table {
    /// Admits `token` on `domain`, the port of plugin `name`.
    pub(crate) fn admit(&mut self, domain: String, name: String, token: String) {
        self.admitted.insert(domain, (name, token));
    }

    /// The reply to one ZAP request (its frames after the REP envelope): status code, text and
    /// user id.
    fn decide(&self, frames: &[Vec<u8>]) -> (&'static str, &'static str, String) {
        // version, request id, domain, address, routing id, mechanism, credentials...
        let (Some(domain), Some(mechanism)) = (frames.get(2), frames.get(5)) else {
            return ("400", "malformed request", String::new());
        };
        match mechanism.as_slice() {
            // A port without a token: what libzmq does with no handler.
            b"NULL" => ("200", "OK", String::new()),
            b"PLAIN" => {
                let entry = std::str::from_utf8(domain)
                    .ok()
                    .and_then(|d| self.admitted.get(d));
                let (Some((name, token)), Some(password)) = (entry, frames.get(7)) else {
                    return ("400", "unknown domain", String::new());
                };
                if same(password, token.as_bytes()) {
                    ("200", "OK", name.clone())
                } else {
                    ("400", "wrong credential", String::new())
                }
            }
            _ => ("400", "mechanism not admitted", String::new()),
        }
    }
}

/// Constant-time equality (for the same length): the time of a refusal says nothing of how much
/// of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Binds the handler's socket in `ctx`; call before any socket that needs it binds.
pub(crate) fn bind(ctx: &crate::zmqx::EngineContext) -> Result<zmq::Socket, zmq::Error> {
    let socket = ctx.socket(zmq::REP)?;
    socket.set_linger(0)?;
    socket.bind(ZAP_ENDPOINT)?;
    Ok(socket)
}

/// Spawns the handler thread; it ends when the context shuts down.
pub(crate) fn spawn(
    socket: zmq::Socket,
    table: Table,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ee-zap".into())
        .spawn(move || serve(&socket, &table))
}

fn serve(socket: &zmq::Socket, table: &Table) {
    loop {
        let frames = match socket.recv_multipart(0) {
            Ok(f) => f,
            Err(zmq::Error::EINTR) => continue,
            Err(zmq::Error::ETERM) => return,
            Err(e) => {
                warn!("the authentication handler stopped: {e}");
                return;
            }
        };
        let (code, text, user) = table.decide(&frames);
        if code != "200" {
            debug!("refused a connection: {text}");
        }
        let request_id = frames.get(1).cloned().unwrap_or_default();
        let reply: [&[u8]; 6] = [
            b"1.0",
            &request_id,
            code.as_bytes(),
            text.as_bytes(),
            user.as_bytes(),
            b"",
        ];
        match socket.send_multipart(reply, 0) {
            Ok(()) => {}
            Err(zmq::Error::ETERM) => return,
            Err(e) => {
                warn!("the authentication handler stopped: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, mechanism: &str, credentials: &[&str]) -> Vec<Vec<u8>> {
        let mut f: Vec<Vec<u8>> = vec![
            b"1.0".to_vec(),
            b"7".to_vec(),
            domain.into(),
            b"127.0.0.1".to_vec(),
            Vec::new(),
            mechanism.into(),
        ];
        f.extend(credentials.iter().map(|c| c.as_bytes().to_vec()));
        f
    }

    fn table() -> Table {
        let mut t = Table::default();
        t.admit(domain(0), "a".into(), "token-of-plugin-a".into());
        t.admit(domain(1), "b".into(), "token-of-plugin-b".into());
        t
    }

    #[test]
    fn only_the_plugins_own_token_is_admitted_on_its_domain() {
        let t = table();
        let ok = t.decide(&request(
            "ee-plugin-0",
            "PLAIN",
            &["plugin", "token-of-plugin-a"],
        ));
        assert_eq!((ok.0, ok.2.as_str()), ("200", "a"));
        // Another plugin's token, on this plugin's port.
        let other = t.decide(&request(
            "ee-plugin-0",
            "PLAIN",
            &["plugin", "token-of-plugin-b"],
        ));
        assert_eq!(other.0, "400");
        assert_eq!(
            t.decide(&request("ee-plugin-0", "PLAIN", &["plugin", ""]))
                .0,
            "400"
        );
        assert_eq!(
            t.decide(&request(
                "ee-plugin-9",
                "PLAIN",
                &["p", "token-of-plugin-a"]
            ))
            .0,
            "400"
        );
        // Missing password frame, unknown mechanism, truncated request.
        assert_eq!(
            t.decide(&request("ee-plugin-0", "PLAIN", &["plugin"])).0,
            "400"
        );
        assert_eq!(t.decide(&request("ee-plugin-0", "CURVE", &["k"])).0, "400");
        assert_eq!(t.decide(&[b"1.0".to_vec()]).0, "400");
    }

    #[test]
    fn null_handshakes_are_admitted_as_without_a_handler() {
        assert_eq!(table().decide(&request("", "NULL", &[])).0, "200");
    }

    #[test]
    fn tokens_are_checked() {
        assert!(check_token(&new_token().unwrap()).is_ok());
        assert!(check_token("short").is_err());
        assert!(check_token(&"x".repeat(256)).is_err());
        assert!(check_token("has a space in it, sixteen+").is_err());
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
