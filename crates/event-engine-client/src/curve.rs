//! CURVE keys (ZeroMQ RFC 26) a client connects with to a port given its plugin's public key:
//! the connection is authenticated by key and encrypted (the engine's `docs/security.md`). The
//! client needs the engine's public key and the plugin's secret key; the plugin's public key is
//! derived from the secret one (libzmq's `zmq_curve_public`), so nothing else has to travel.
//!
//! Where a client's credential comes from, in one place ([`resolve`], which
//! [`Client::connect_with`](crate::Client::connect_with) and so every SDK calls):
//!
//! 1. [`ClientOptions::curve`](crate::ClientOptions::curve) or
//!    [`ClientOptions::token`](crate::ClientOptions::token), if either is set (not both);
//! 2. else CURVE keys from the launch environment, if `EE_ENGINE_PUBLIC_KEY` is set: the secret
//!    key from `EE_PLUGIN_SECRET_KEY`, else the first line of the file named by
//!    `EE_PLUGIN_SECRET_KEY_FILE`;
//! 3. else the token of the launch environment ([`Token::from_launch_env`]);
//! 4. else none: the client connects as in 0.2.
//!
//! CURVE needs a libzmq built with libsodium: in a build without it (the default build,
//! [`available`] is false), asking for CURVE is an invalid-argument error that says so.

use std::path::Path;

use crate::client::ClientOptions;
use crate::error::{Error, Result};
use crate::launch::LaunchEnv;
use crate::token::Token;

// libzmq's (zmq-sys declares it, and does not export it).
extern "C" {
    fn zmq_curve_public(
        z85_public_key: *mut std::os::raw::c_char,
        z85_secret_key: *const std::os::raw::c_char,
    ) -> std::os::raw::c_int;
}

/// True when this build's libzmq has CURVE (`zmq::has("curve")`).
pub fn available() -> bool {
    zmq::has("curve") == Some(true)
}

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

fn unavailable() -> Error {
    invalid(
        "CURVE keys were given, and this build's libzmq has no CURVE (the default build's is \
         compiled without libsodium): use the CURVE build (`make build-curve`, \
         docs/security.md) or a token"
            .into(),
    )
}

/// The 85 characters of Z85 (ZeroMQ RFC 32).
const Z85: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes a CURVE key given as Z85 text (40 characters; surrounding white space ignored),
/// naming it `what` in the error.
pub fn decode_key(what: &str, key: &str) -> Result<[u8; 32]> {
    let key = key.trim();
    if key.len() != 40 {
        return Err(invalid(format!(
            "{what}: a CURVE key is 40 characters of Z85 text, got {} character(s)",
            key.len()
        )));
    }
    if !key.bytes().all(|b| Z85.contains(&b)) {
        return Err(invalid(format!(
            "{what}: a CURVE key is Z85 text, and this one has other characters"
        )));
    }
    z85_decode_key(key.as_bytes()).ok_or_else(|| invalid(format!("{what}: not a 32-byte key")))
}

/// libzmq's Z85 (RFC 32) decoding of 40 characters into 32 bytes (`None` where libzmq refuses
/// the text, e.g. a group of five characters above 2^32 - 1). `zmq_z85_decode` is called
/// directly because `zmq::z85_decode` (zmq 0.10) leaks the C string it passes on every call.
fn z85_decode_key(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 40 {
        return None;
    }
    let text = std::ffi::CString::new(text).ok()?;
    let mut out = [0u8; 32];
    // SAFETY: `text` is NUL-terminated and 40 characters long, so libzmq writes 40 * 4 / 5 = 32
    // bytes into `out`; both outlive the call.
    let done = unsafe { zmq_sys::zmq_z85_decode(out.as_mut_ptr(), text.as_ptr()) };
    (!done.is_null()).then_some(out)
}

/// The public key of a CURVE secret key, both Z85 (an error in a build without CURVE).
pub fn public_of(secret: &str) -> Result<String> {
    decode_key("the secret key", secret)?;
    if !available() {
        return Err(unavailable());
    }
    let secret_c = std::ffi::CString::new(secret.trim())
        .map_err(|_| invalid("the secret key: not text".into()))?;
    let mut public = [0 as std::os::raw::c_char; 41];
    // SAFETY: libzmq reads a NUL-terminated 40-character Z85 secret key and writes 41 bytes (40
    // characters and a NUL) into `public`, which has room for them.
    let rc = unsafe { zmq_curve_public(public.as_mut_ptr(), secret_c.as_ptr()) };
    if rc != 0 {
        return Err(unavailable());
    }
    // SAFETY: libzmq wrote a NUL-terminated string (rc == 0).
    let text = unsafe { std::ffi::CStr::from_ptr(public.as_ptr()) };
    Ok(text.to_string_lossy().into_owned())
}

/// The keys a client connects with: the engine's public key and the plugin's key pair, checked
/// (32-byte Z85 keys). Its `Debug` output never shows the secret key.
///
/// ```
/// use event_engine_client::Curve;
///
/// // Needs the CURVE build to derive the public key; without it the error says so.
/// let engine = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// let secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
/// match Curve::new(engine, secret) {
///     Ok(curve) => assert_eq!(curve.public_key(), "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"),
///     Err(e) => assert!(e.to_string().contains("make build-curve")),
/// }
/// assert!(Curve::new("short", secret).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Curve {
    engine_public_key: String,
    public_key: String,
    secret_key: String,
}

impl std::fmt::Debug for Curve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curve")
            .field("engine_public_key", &self.engine_public_key)
            .field("public_key", &self.public_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl Curve {
    /// Keys from the engine's public key and the plugin's secret key (Z85); the plugin's public
    /// key is derived. An error in a build without CURVE.
    pub fn new(engine_public_key: &str, secret_key: &str) -> Result<Curve> {
        decode_key("the engine's public key", engine_public_key)?;
        let public_key = public_of(secret_key)?;
        Ok(Curve {
            engine_public_key: engine_public_key.trim().to_string(),
            public_key,
            secret_key: secret_key.trim().to_string(),
        })
    }

    /// The secret key in the file at `path`: its first line, trimmed (`event-engine keygen`'s
    /// `.key` file).
    pub fn secret_from_file(path: impl AsRef<Path>) -> Result<String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            invalid(format!(
                "could not read the plugin secret key file {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or_default().trim().to_string();
        decode_key(&format!("the secret key file {}", path.display()), &line)?;
        Ok(line)
    }

    /// The keys of a launched plugin: `None` without `EE_ENGINE_PUBLIC_KEY`; with it, the
    /// secret key of `EE_PLUGIN_SECRET_KEY`, else of the file `EE_PLUGIN_SECRET_KEY_FILE`
    /// (one of them is needed).
    pub fn from_launch_env(env: &LaunchEnv) -> Result<Option<Curve>> {
        let Some(engine) = &env.engine_public_key else {
            return Ok(None);
        };
        let secret = match (&env.secret_key, &env.secret_key_file) {
            (Some(s), _) => s.clone(),
            (None, Some(f)) => Curve::secret_from_file(f)?,
            (None, None) => {
                return Err(invalid(
                    "EE_ENGINE_PUBLIC_KEY is set without EE_PLUGIN_SECRET_KEY or \
                     EE_PLUGIN_SECRET_KEY_FILE"
                        .into(),
                ))
            }
        };
        Curve::new(engine, &secret).map(Some)
    }

    /// The keys an SDK was given as options: the engine's public key with the plugin's secret
    /// key (`secret_key` text or `secret_key_file`, not both); `None` when none is given. Every
    /// binding's CURVE options go through here.
    pub fn from_options(
        engine_public_key: Option<&str>,
        secret_key: Option<&str>,
        secret_key_file: Option<&Path>,
    ) -> Result<Option<Curve>> {
        let secret = match (secret_key, secret_key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give curve_secret_key or curve_secret_key_file, not both".into(),
                ))
            }
            (Some(s), None) => Some(s.to_string()),
            (None, Some(f)) => Some(Curve::secret_from_file(f)?),
            (None, None) => None,
        };
        match (engine_public_key, secret) {
            (None, None) => Ok(None),
            (Some(engine), Some(secret)) => Curve::new(engine, &secret).map(Some),
            _ => Err(invalid(
                "CURVE needs both the engine's public key and the plugin's secret key".into(),
            )),
        }
    }

    /// The engine's public key (Z85).
    pub fn engine_public_key(&self) -> &str {
        &self.engine_public_key
    }

    /// The plugin's public key (Z85): what the engine's configuration names for this plugin.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Makes `socket` a CURVE client with these keys.
    pub(crate) fn apply(&self, socket: &zmq::Socket) -> Result<()> {
        let server = decode_key("the engine's public key", &self.engine_public_key)?;
        let public = decode_key("the public key", &self.public_key)?;
        let secret = decode_key("the secret key", &self.secret_key)?;
        socket.set_curve_serverkey(&server)?;
        socket.set_curve_publickey(&public)?;
        socket.set_curve_secretkey(&secret)?;
        Ok(())
    }
}

/// Completes `options` with the launch environment's credential, by the rule of the
/// [module](self): options first (a token and CURVE keys together are an error), then CURVE
/// keys, then a token.
pub fn resolve(options: &mut ClientOptions, env: &LaunchEnv) -> Result<()> {
    match (&options.token, &options.curve) {
        (Some(_), Some(_)) => Err(invalid(
            "give a token or CURVE keys, not both (a port takes one)".into(),
        )),
        (Some(_), None) | (None, Some(_)) => Ok(()),
        (None, None) => {
            options.curve = Curve::from_launch_env(env)?;
            if options.curve.is_none() {
                options.token = Token::from_launch_env(env)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINE: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

    #[test]
    fn z85_decoding_is_libzmq_s() {
        for key in [ENGINE, SECRET, PUBLIC] {
            let ours = decode_key("k", key).unwrap();
            assert_eq!(ours.to_vec(), zmq::z85_decode(key).unwrap(), "{key}");
        }
        // RFC 32's test vector, twice over.
        let vector = "HelloWorld".repeat(4);
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B].repeat(4);
        assert_eq!(decode_key("k", &vector).unwrap().to_vec(), bytes);
        // A group above 2^32 - 1 is refused, not wrapped.
        assert!(decode_key("k", &"#".repeat(40)).is_err());
    }

    #[test]
    fn keys_are_checked() {
        assert!(decode_key("k", ENGINE).is_ok());
        assert!(decode_key("k", &ENGINE[1..]).is_err());
        assert!(decode_key("k", &format!("{}\u{7f}", &ENGINE[1..])).is_err());
        let e = Curve::from_options(Some(ENGINE), None, None).unwrap_err();
        assert!(e.to_string().contains("both"), "{e}");
        assert_eq!(Curve::from_options(None, None, None).unwrap(), None);
    }

    #[test]
    fn the_public_key_is_derived_where_curve_is() {
        match Curve::new(ENGINE, SECRET) {
            Ok(c) => {
                assert!(available());
                assert_eq!(c.public_key(), PUBLIC);
                assert!(!format!("{c:?}").contains(SECRET));
            }
            Err(e) => {
                assert!(!available());
                assert!(e.to_string().contains("make build-curve"), "{e}");
            }
        }
    }

    #[test]
    fn the_launch_environment_gives_keys_before_a_token() {
        let dir = std::env::temp_dir().join(format!("ee-curve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plugin.key");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        let env = LaunchEnv {
            engine_public_key: Some(ENGINE.into()),
            secret_key_file: Some(file.display().to_string()),
            token: Some("0123456789abcdef0123".into()),
            ..LaunchEnv::default()
        };
        let mut options = ClientOptions::default();
        let r = resolve(&mut options, &env);
        if available() {
            r.unwrap();
            assert_eq!(options.curve.unwrap().public_key(), PUBLIC);
            assert!(options.token.is_none());
        } else {
            assert!(r.is_err());
        }
        // Without the engine's key, the token.
        let mut options = ClientOptions::default();
        let token_only = LaunchEnv {
            engine_public_key: None,
            ..env.clone()
        };
        resolve(&mut options, &token_only).unwrap();
        assert!(options.token.is_some() && options.curve.is_none());
        let missing = LaunchEnv {
            engine_public_key: Some(ENGINE.into()),
            ..LaunchEnv::default()
        };
        let e = resolve(&mut ClientOptions::default(), &missing).unwrap_err();
        assert!(e.to_string().contains("EE_PLUGIN_SECRET_KEY"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
