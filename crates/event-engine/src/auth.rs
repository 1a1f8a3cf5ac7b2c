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
//! **CURVE** (ZeroMQ RFC 26) authenticates *and* encrypts: an external plugin given a public key
//! ([`ExternalPluginSpec::with_curve_public_key`]) gets a port that is a CURVE server with the
//! engine's key pair ([`EngineConfig::curve_keys`](crate::EngineConfig::curve_keys)), in its own
//! ZAP domain; the handler admits a CURVE handshake only from a client whose public key is that
//! plugin's. CURVE needs a libzmq built with libsodium: the default build's has none
//! ([`curve_available`] is false; asking for CURVE is then a start-up error), `make build-curve`
//! links the system's (`docs/security.md`).
//!
//! [`ExternalPluginSpec::with_token`]: crate::plugins::ExternalPluginSpec::with_token
//! [`ExternalPluginSpec::with_curve_public_key`]: crate::plugins::ExternalPluginSpec::with_curve_public_key

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

/// True when this build's libzmq has CURVE (`zmq::has("curve")`): the `make build-curve` build
/// has, the default build has not.
pub fn curve_available() -> bool {
    zmq::has("curve") == Some(true)
}

/// The error of a start-up that asks for CURVE in a build without it.
pub(crate) fn curve_unavailable(what: &str) -> String {
    format!(
        "{what} needs CURVE, and this build's libzmq has none (zmq-sys builds it without \
         libsodium): build against the system's libzmq with `make build-curve` \
         (docs/security.md), or use a token"
    )
}

/// The 85 characters of Z85 (ZeroMQ RFC 32).
const Z85: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes a CURVE key given as Z85 text (40 characters) to its 32 bytes.
///
/// ```
/// let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// assert_eq!(event_engine::auth::decode_curve_key(key).unwrap().len(), 32);
/// assert!(event_engine::auth::decode_curve_key("short").is_err());
/// ```
pub fn decode_curve_key(key: &str) -> Result<[u8; 32], String> {
    let key = key.trim();
    if key.len() != 40 {
        return Err(format!(
            "a CURVE key is 40 characters of Z85 text, got {} character(s)",
            key.len()
        ));
    }
    if !key.bytes().all(|b| Z85.contains(&b)) {
        return Err("a CURVE key is Z85 text, and this one has other characters".into());
    }
    let text = std::ffi::CString::new(key).map_err(|_| "not a Z85 CURVE key".to_string())?;
    let mut bytes = [0u8; 32];
    // SAFETY: `text` is NUL-terminated and 40 characters long (checked above), so libzmq writes
    // 40 * 4 / 5 = 32 bytes into `bytes`; both outlive the call. Called directly because
    // `zmq::z85_decode` (zmq 0.10) leaks the C string it passes.
    let done = unsafe { zmq_sys::zmq_z85_decode(bytes.as_mut_ptr(), text.as_ptr()) };
    if done.is_null() {
        return Err("not a Z85 CURVE key".into());
    }
    Ok(bytes)
}

// libzmq's (zmq-sys declares it, and does not export it).
unsafe extern "C" {
    fn zmq_curve_public(
        z85_public_key: *mut std::os::raw::c_char,
        z85_secret_key: *const std::os::raw::c_char,
    ) -> std::os::raw::c_int;
}

/// The public key of a CURVE secret key (both 32 bytes), by libzmq's `zmq_curve_public`: an
/// error in a build without CURVE.
pub fn curve_public_of(secret: &[u8; 32]) -> Result<[u8; 32], String> {
    let secret_z85 = zmq::z85_encode(secret).map_err(|e| e.to_string())?;
    let secret_c = std::ffi::CString::new(secret_z85).map_err(|e| e.to_string())?;
    let mut public = [0 as std::os::raw::c_char; 41];
    // SAFETY: libzmq reads a NUL-terminated 40-character Z85 secret and writes 41 bytes (40
    // characters and a NUL) into `public`, which has room for them.
    let rc = unsafe { zmq_curve_public(public.as_mut_ptr(), secret_c.as_ptr()) };
    if rc != 0 {
        return Err(curve_unavailable("deriving a CURVE public key"));
    }
    // SAFETY: libzmq NUL-terminated it (rc == 0).
    let text = unsafe { std::ffi::CStr::from_ptr(public.as_ptr()) };
    decode_curve_key(&text.to_string_lossy())
}

/// A CURVE key pair (ZeroMQ RFC 26), kept as Z85 text (40 characters each). Its `Debug` output
/// never shows the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeys {
    public: String,
    secret: String,
}

impl std::fmt::Debug for CurveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveKeys")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl CurveKeys {
    /// A fresh key pair from libzmq (`zmq_curve_keypair`): an error in a build without CURVE.
    pub fn generate() -> Result<CurveKeys, String> {
        if !curve_available() {
            return Err(curve_unavailable("generating a CURVE key pair"));
        }
        let pair = zmq::CurveKeyPair::new().map_err(|e| e.to_string())?;
        Ok(CurveKeys {
            public: zmq::z85_encode(&pair.public_key).map_err(|e| e.to_string())?,
            secret: zmq::z85_encode(&pair.secret_key).map_err(|e| e.to_string())?,
        })
    }

    /// The key pair of a secret key (Z85), its public key derived ([`curve_public_of`]).
    pub fn from_secret(secret: &str) -> Result<CurveKeys, String> {
        let bytes = decode_curve_key(secret).map_err(|e| format!("the secret key: {e}"))?;
        let public = curve_public_of(&bytes)?;
        Ok(CurveKeys {
            public: zmq::z85_encode(&public).map_err(|e| e.to_string())?,
            secret: secret.trim().to_string(),
        })
    }

    /// The public key (Z85).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The secret key (Z85).
    pub fn secret_key(&self) -> &str {
        &self.secret
    }
}

/// Writes a fresh key pair ([`CurveKeys::generate`]) to `PREFIX.key` (the secret key, mode
/// 0600) and `PREFIX.pub` (the public key), one Z85 line each, what `event-engine keygen`
/// does. Never overwrites: an error if either file exists.
pub fn write_key_files(prefix: &std::path::Path) -> Result<CurveKeys, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let keys = CurveKeys::generate()?;
    let with = |ext: &str| {
        let mut name = prefix.as_os_str().to_owned();
        name.push(ext);
        std::path::PathBuf::from(name)
    };
    let (secret, public) = (with(".key"), with(".pub"));
    for path in [&secret, &public] {
        if path.exists() {
            return Err(format!("{} exists: not overwritten", path.display()));
        }
    }
    let write = |path: &std::path::Path, mode: u32, text: &str| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&secret, 0o600, keys.secret_key())?;
    write(&public, 0o644, keys.public_key())?;
    Ok(keys)
}

/// The first line of the key file at `path`, trimmed and checked (40 characters of Z85); with
/// `secret`, warns when other users may read it.
pub fn read_key_file(path: &std::path::Path, secret: bool) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the key file {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim().to_string();
    decode_curve_key(&line).map_err(|e| format!("the key file {}: {e}", path.display()))?;
    if secret {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                warn!(
                    "secret key file {} may be read by other users (mode {:o}): chmod 600 it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
        }
    }
    Ok(line)
}

/// What a plugin's port admits.
#[derive(Clone)]
pub(crate) enum Credential {
    /// ZAP PLAIN: this password.
    Token(String),
    /// CURVE: a client with this public key.
    Curve([u8; 32]),
}

/// The credentials the handler admits: ZAP domain -> (plugin name, credential).
#[derive(Default)]
pub(crate) struct Table {
    admitted: HashMap<String, (String, Credential)>,
}

impl Table {
    /// Admits `token` on `domain`, the port of plugin `name`.
    pub(crate) fn admit(&mut self, domain: String, name: String, token: String) {
        self.admitted
            .insert(domain, (name, Credential::Token(token)));
    }

    /// Admits a CURVE client with public key `key` on `domain`, the port of plugin `name`.
    pub(crate) fn admit_curve(&mut self, domain: String, name: String, key: [u8; 32]) {
        self.admitted.insert(domain, (name, Credential::Curve(key)));
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
            b"PLAIN" | b"CURVE" => {
                let entry = std::str::from_utf8(domain)
                    .ok()
                    .and_then(|d| self.admitted.get(d));
                // PLAIN: username, password; CURVE: the client's 32-byte public key.
                let (given, expected) = match (entry, mechanism.as_slice()) {
                    (Some((name, Credential::Token(token))), b"PLAIN") => {
                        (frames.get(7), (name, token.as_bytes()))
                    }
                    (Some((name, Credential::Curve(key))), b"CURVE") => {
                        (frames.get(6), (name, key.as_slice()))
                    }
                    (None, _) => return ("400", "unknown domain", String::new()),
                    _ => return ("400", "mechanism not admitted", String::new()),
                };
                let Some(given) = given else {
                    return ("400", "malformed request", String::new());
                };
                if same(given, expected.1) {
                    ("200", "OK", expected.0.clone())
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
        assert_eq!(t.decide(&request("ee-plugin-0", "GSSAPI", &["k"])).0, "400");
        assert_eq!(t.decide(&[b"1.0".to_vec()]).0, "400");
    }

    #[test]
    fn only_the_plugins_own_curve_key_is_admitted_on_its_domain() {
        let mut t = table();
        t.admit_curve(domain(2), "c".into(), [7u8; 32]);
        let curve = |d: &str, key: &[u8]| {
            let mut r = request(d, "CURVE", &[]);
            r.push(key.to_vec());
            t.decide(&r)
        };
        let ok = curve("ee-plugin-2", &[7u8; 32]);
        assert_eq!((ok.0, ok.2.as_str()), ("200", "c"));
        assert_eq!(curve("ee-plugin-2", &[8u8; 32]).0, "400");
        assert_eq!(curve("ee-plugin-2", &[7u8; 31]).0, "400");
        // A CURVE handshake on a token's domain, PLAIN on a key's, none at all.
        assert_eq!(curve("ee-plugin-0", &[7u8; 32]).0, "400");
        let plain = t.decide(&request("ee-plugin-2", "PLAIN", &["plugin", "x"]));
        assert_eq!(plain.0, "400");
        assert_eq!(t.decide(&request("ee-plugin-2", "CURVE", &[])).0, "400");
    }

    #[test]
    fn curve_keys_are_checked_and_made_where_curve_is() {
        assert!(decode_curve_key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").is_ok());
        assert!(decode_curve_key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf").is_err());
        assert!(decode_curve_key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\u{7f}").is_err());
        if !curve_available() {
            let e = CurveKeys::generate().unwrap_err();
            assert!(e.contains("make build-curve"), "{e}");
            return;
        }
        let keys = CurveKeys::generate().unwrap();
        assert!(!format!("{keys:?}").contains(keys.secret_key()));
        assert_eq!(CurveKeys::from_secret(keys.secret_key()).unwrap(), keys);
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ee-keygen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prefix = dir.join("scorer");
        if !curve_available() {
            assert!(write_key_files(&prefix)
                .unwrap_err()
                .contains("make build-curve"));
            std::fs::remove_dir_all(&dir).unwrap();
            return;
        }
        let keys = write_key_files(&prefix).unwrap();
        let key = dir.join("scorer.key");
        let public = dir.join("scorer.pub");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&public) & 0o022, 0);
        assert_eq!(read_key_file(&key, true).unwrap(), keys.secret_key());
        assert_eq!(read_key_file(&public, false).unwrap(), keys.public_key());
        assert_eq!(
            CurveKeys::from_secret(&read_key_file(&key, true).unwrap()).unwrap(),
            keys
        );
        let e = write_key_files(&prefix).unwrap_err();
        assert!(e.contains("not overwritten"), "{e}");
        assert_eq!(read_key_file(&key, true).unwrap(), keys.secret_key());
        std::fs::write(dir.join("bad.pub"), "not a key\n").unwrap();
        assert!(read_key_file(&dir.join("bad.pub"), false).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
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
