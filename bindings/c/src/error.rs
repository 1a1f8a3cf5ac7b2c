//! Status codes, the thread-local last error, and the guard that every entry point runs in.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use event_engine::errors::EngineError;
use event_engine_client::{Error as ClientError, ErrorKind};

/// What a call did: `EE_OK` (0) or the reason it failed. Codes 1 to 7 are the shared client's
/// error kinds (the same numbers in every SDK); the others are the C API's own.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ee_status_t {
    /// Success.
    EE_OK = 0,
    /// An argument was invalid (an empty event, a batch size of 0, an index out of range, ...).
    EE_INVALID_ARGUMENT = 1,
    /// The engine did not answer in time, even after reconnecting.
    EE_DISCONNECTED = 2,
    /// The engine refused the request; `ee_last_error_wire_code()` tells why.
    EE_PROTOCOL = 3,
    /// The call was interrupted (`ee_cancel_cancel`).
    EE_INTERRUPTED = 4,
    /// The client has quit; connect a new one.
    EE_CLOSED = 5,
    /// The engine's reply did not follow the protocol (an engine that speaks only v1?).
    EE_UNEXPECTED_REPLY = 6,
    /// A ZeroMQ call failed (e.g. an endpoint whose transport is unknown).
    EE_ZMQ = 7,
    /// A pointer argument was NULL.
    EE_NULL_POINTER = 20,
    /// A string argument is not valid UTF-8.
    EE_INVALID_UTF8 = 21,
    /// The handle cannot do this any more (an app already started, a run already waited for).
    EE_BAD_STATE = 22,
    /// Nothing has that name (e.g. `ee_running_external_port` with an unknown plugin).
    EE_NOT_FOUND = 23,
    /// A bug inside the library panicked; the panic was caught and its message is in
    /// `ee_last_error()`.
    EE_PANIC = 24,
    /// The application's configuration is invalid (a port out of range, a high-water mark of 0, ...).
    EE_CONFIG = 40,
    /// A port could not be bound (already in use?).
    EE_BIND = 41,
    /// A plugin could not be set up.
    EE_PLUGIN_SETUP = 42,
    /// The start barrier timed out: some plugins' subscriptions never reached the bus.
    EE_BARRIER_TIMEOUT = 43,
    /// `ee_app_set_wait_for_external` ran out of time before every external plugin's process
    /// connected.
    EE_NOT_CONNECTED = 44,
    /// One or more plugins failed; the report (and `ee_last_error()`) names each.
    EE_PLUGINS_FAILED = 45,
    /// Another engine error (an internal error or a socket failure).
    EE_ENGINE = 46,
    /// The engine is stopping: an internal plugin's socket was closed under it. A callback that
    /// gets this status should return it (the plugin is then reported as stopped, not failed).
    EE_STOPPED = 47,
}

impl ee_status_t {
    /// Every status, in numeric order.
    pub(crate) const ALL: [ee_status_t; 21] = [
        ee_status_t::EE_OK,
        ee_status_t::EE_INVALID_ARGUMENT,
        ee_status_t::EE_DISCONNECTED,
        ee_status_t::EE_PROTOCOL,
        ee_status_t::EE_INTERRUPTED,
        ee_status_t::EE_CLOSED,
        ee_status_t::EE_UNEXPECTED_REPLY,
        ee_status_t::EE_ZMQ,
        ee_status_t::EE_NULL_POINTER,
        ee_status_t::EE_INVALID_UTF8,
        ee_status_t::EE_BAD_STATE,
        ee_status_t::EE_NOT_FOUND,
        ee_status_t::EE_PANIC,
        ee_status_t::EE_CONFIG,
        ee_status_t::EE_BIND,
        ee_status_t::EE_PLUGIN_SETUP,
        ee_status_t::EE_BARRIER_TIMEOUT,
        ee_status_t::EE_NOT_CONNECTED,
        ee_status_t::EE_PLUGINS_FAILED,
        ee_status_t::EE_ENGINE,
        ee_status_t::EE_STOPPED,
    ];

    /// The status's stable name, as a NUL-terminated string.
    fn name(self) -> &'static std::ffi::CStr {
        use ee_status_t::*;
        match self {
            EE_OK => c"EE_OK",
            EE_INVALID_ARGUMENT => c"EE_INVALID_ARGUMENT",
            EE_DISCONNECTED => c"EE_DISCONNECTED",
            EE_PROTOCOL => c"EE_PROTOCOL",
            EE_INTERRUPTED => c"EE_INTERRUPTED",
            EE_CLOSED => c"EE_CLOSED",
            EE_UNEXPECTED_REPLY => c"EE_UNEXPECTED_REPLY",
            EE_ZMQ => c"EE_ZMQ",
            EE_NULL_POINTER => c"EE_NULL_POINTER",
            EE_INVALID_UTF8 => c"EE_INVALID_UTF8",
            EE_BAD_STATE => c"EE_BAD_STATE",
            EE_NOT_FOUND => c"EE_NOT_FOUND",
            EE_PANIC => c"EE_PANIC",
            EE_CONFIG => c"EE_CONFIG",
            EE_BIND => c"EE_BIND",
            EE_PLUGIN_SETUP => c"EE_PLUGIN_SETUP",
            EE_BARRIER_TIMEOUT => c"EE_BARRIER_TIMEOUT",
            EE_NOT_CONNECTED => c"EE_NOT_CONNECTED",
            EE_PLUGINS_FAILED => c"EE_PLUGINS_FAILED",
            EE_ENGINE => c"EE_ENGINE",
            EE_STOPPED => c"EE_STOPPED",
        }
    }

    fn from_code(code: i32) -> Option<ee_status_t> {
        ee_status_t::ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// The engine's reason for refusing a request (`EE_PROTOCOL`): the protocol's error codes, the
/// same numbers in every SDK (`docs/protocol.md`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ee_wire_code_t {
    /// The last error was not `EE_PROTOCOL`.
    EE_WIRE_NONE = 0,
    /// The request had no bytes.
    EE_WIRE_EMPTY_MESSAGE = 1,
    /// A multi-part request that is not a multi-part command.
    EE_WIRE_MULTIPART_MESSAGE = 2,
    /// The bytes after `plugin_command:` are not UTF-8.
    EE_WIRE_NOT_UTF8 = 3,
    /// A malformed command.
    EE_WIRE_BAD_COMMAND = 4,
    /// A well-formed command whose verb is unknown.
    EE_WIRE_UNKNOWN_COMMAND = 5,
    /// An unknown, repeated, missing or out-of-range argument.
    EE_WIRE_BAD_ARGUMENT = 6,
    /// An acknowledgement of a sequence number that was never delivered.
    EE_WIRE_BAD_SEQUENCE = 7,
    /// The plugin holds the maximum number of unacknowledged events.
    EE_WIRE_PENDING_FULL = 8,
    /// The request had no empty delimiter frame.
    EE_WIRE_MISSING_DELIMITER = 9,
    /// An event or request over the engine's limits.
    EE_WIRE_TOO_LARGE = 10,
}

impl ee_wire_code_t {
    fn from_wire(code: event_engine_client::wire::ErrorCode) -> ee_wire_code_t {
        use ee_wire_code_t::*;
        use event_engine_client::wire::ErrorCode as W;
        match code {
            W::EmptyMessage => EE_WIRE_EMPTY_MESSAGE,
            W::MultipartMessage => EE_WIRE_MULTIPART_MESSAGE,
            W::NotUtf8 => EE_WIRE_NOT_UTF8,
            W::BadCommand => EE_WIRE_BAD_COMMAND,
            W::UnknownCommand => EE_WIRE_UNKNOWN_COMMAND,
            W::BadArgument => EE_WIRE_BAD_ARGUMENT,
            W::BadSequence => EE_WIRE_BAD_SEQUENCE,
            W::PendingFull => EE_WIRE_PENDING_FULL,
            W::MissingDelimiter => EE_WIRE_MISSING_DELIMITER,
            W::TooLarge => EE_WIRE_TOO_LARGE,
        }
    }
}

/// Why a call failed: the status, a message for humans, and the engine's code for
/// `EE_PROTOCOL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The status the call returns.
    pub status: ee_status_t,
    /// What went wrong, for `ee_last_error()`.
    pub message: String,
    /// The engine's error code (`EE_PROTOCOL` only).
    pub wire: ee_wire_code_t,
}

impl Failure {
    /// A failure with a status and a message.
    pub fn new(status: ee_status_t, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            wire: ee_wire_code_t::EE_WIRE_NONE,
        }
    }

    /// `EE_NULL_POINTER` naming the argument.
    pub fn null(what: &str) -> Self {
        Failure::new(
            ee_status_t::EE_NULL_POINTER,
            format!("{what} must not be NULL"),
        )
    }

    /// `EE_INVALID_ARGUMENT` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ee_status_t::EE_INVALID_ARGUMENT, message)
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidArgument => ee_status_t::EE_INVALID_ARGUMENT,
            ErrorKind::Disconnected => ee_status_t::EE_DISCONNECTED,
            ErrorKind::Protocol => ee_status_t::EE_PROTOCOL,
            ErrorKind::Interrupted => ee_status_t::EE_INTERRUPTED,
            ErrorKind::Closed => ee_status_t::EE_CLOSED,
            ErrorKind::UnexpectedReply => ee_status_t::EE_UNEXPECTED_REPLY,
            ErrorKind::Zmq => ee_status_t::EE_ZMQ,
        };
        Failure {
            status,
            message: e.to_string(),
            wire: e
                .wire_code()
                .map_or(ee_wire_code_t::EE_WIRE_NONE, ee_wire_code_t::from_wire),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        let status = match &e {
            EngineError::Config(_) => ee_status_t::EE_CONFIG,
            EngineError::Bind { .. } => ee_status_t::EE_BIND,
            EngineError::PluginSetup { .. } => ee_status_t::EE_PLUGIN_SETUP,
            EngineError::BarrierTimeout { .. } => ee_status_t::EE_BARRIER_TIMEOUT,
            EngineError::ExternalPluginsNotConnected { .. } => ee_status_t::EE_NOT_CONNECTED,
            EngineError::PluginsFailed(_) => ee_status_t::EE_PLUGINS_FAILED,
            e if e.is_stop() => ee_status_t::EE_STOPPED,
            _ => ee_status_t::EE_ENGINE,
        };
        Failure::new(status, e.to_string())
    }
}

/// What entry points return inside the guard.
pub type Result<T> = std::result::Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static LAST_WIRE: Cell<ee_wire_code_t> = const { Cell::new(ee_wire_code_t::EE_WIRE_NONE) };
}

fn set_last(message: &str, wire: ee_wire_code_t) {
    // A message with a NUL byte in it is cut there rather than lost.
    let text = message.split('\0').next().unwrap_or_default();
    let c = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = c;
        }
    });
    LAST_WIRE.with(|w| w.set(wire));
}

/// Records a failure as this thread's last error and returns its status.
pub(crate) fn fail(f: Failure) -> ee_status_t {
    set_last(&f.message, f.wire);
    f.status
}

/// Runs an entry point's body: catches any panic (`EE_PANIC`), records failures in the
/// thread-local last error, and clears it on success.
pub(crate) fn guard<F>(body: F) -> ee_status_t
where
    F: FnOnce() -> Result<()>,
{
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last("", ee_wire_code_t::EE_WIRE_NONE);
            ee_status_t::EE_OK
        }
        Ok(Err(f)) => fail(f),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            fail(Failure::new(
                ee_status_t::EE_PANIC,
                format!("panic inside libevent_engine (caught): {what}"),
            ))
        }
    }
}

/// Like [`guard`] for the few entry points that return a value instead of a status (the
/// `free` functions and the error accessors): a panic gives `fallback`.
pub(crate) fn guard_value<T, F>(fallback: T, body: F) -> T
where
    F: FnOnce() -> T,
{
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The name of a status, e.g. `"EE_DISCONNECTED"`; `"EE_UNKNOWN_STATUS"` for a number that is
/// not one. The string is static: never free it.
#[no_mangle]
pub extern "C" fn ee_status_str(status: i32) -> *const c_char {
    guard_value(
        c"EE_UNKNOWN_STATUS".as_ptr().cast(),
        || match ee_status_t::from_code(status) {
            Some(s) => s.name().as_ptr().cast(),
            None => c"EE_UNKNOWN_STATUS".as_ptr().cast(),
        },
    )
}

/// The message of the last call on this thread that failed, for humans; `""` after a call that
/// succeeded. Never NULL. The string belongs to the library and stays valid until the next
/// `ee_` call on this thread: copy it to keep it.
#[no_mangle]
pub extern "C" fn ee_last_error() -> *const c_char {
    guard_value(c"".as_ptr().cast(), || {
        LAST_ERROR.with(|cell| match cell.try_borrow() {
            Ok(s) => s.as_ptr(),
            Err(_) => c"".as_ptr().cast(),
        })
    })
}

/// The engine's error code when the last call on this thread returned `EE_PROTOCOL`;
/// `EE_WIRE_NONE` otherwise.
#[no_mangle]
pub extern "C" fn ee_last_error_wire_code() -> ee_wire_code_t {
    guard_value(ee_wire_code_t::EE_WIRE_NONE, || LAST_WIRE.with(Cell::get))
}

/// The library's version, e.g. `"0.3.0"`. The string is static: never free it.
#[no_mangle]
pub extern "C" fn ee_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

/// Panics inside the library with `message` (NULL: a fixed message) and returns what every
/// entry point returns then: `EE_PANIC`, with the panic's message in `ee_last_error()`. It
/// exists so that tests (and the sceptical) can check that no panic crosses into C.
#[no_mangle]
pub extern "C" fn ee_debug_panic(message: *const c_char) -> ee_status_t {
    guard(|| {
        let text = if message.is_null() {
            "ee_debug_panic".to_string()
        } else {
            // SAFETY: the caller passes a NUL-terminated string (documented).
            unsafe { std::ffi::CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        };
        panic!("{text}");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(p: *const c_char) -> String {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    #[test]
    fn client_kinds_keep_their_numbers() {
        for kind in ErrorKind::ALL {
            let status = ee_status_t::from_code(kind as i32).unwrap();
            assert_eq!(status as u32, kind as u32);
            assert_eq!(
                text(ee_status_str(status as i32)),
                format!("EE_{}", kind.name().to_uppercase())
            );
        }
    }

    #[test]
    fn engine_errors_map_to_their_status() {
        use std::time::Duration;
        let cases: Vec<(EngineError, ee_status_t)> = vec![
            (EngineError::Config("x".into()), ee_status_t::EE_CONFIG),
            (
                EngineError::Bind {
                    what: "w".into(),
                    endpoint: "e".into(),
                    source: event_engine::zmq::Error::EADDRINUSE,
                },
                ee_status_t::EE_BIND,
            ),
            (
                EngineError::PluginSetup {
                    name: "n".into(),
                    id: "i".into(),
                    details: "d".into(),
                },
                ee_status_t::EE_PLUGIN_SETUP,
            ),
            (
                EngineError::BarrierTimeout {
                    timeout: Duration::from_secs(1),
                    waiting_for: vec![],
                },
                ee_status_t::EE_BARRIER_TIMEOUT,
            ),
            (
                EngineError::ExternalPluginsNotConnected {
                    timeout: Duration::from_secs(1),
                    missing: vec![],
                },
                ee_status_t::EE_NOT_CONNECTED,
            ),
            (
                EngineError::PluginsFailed(vec![]),
                ee_status_t::EE_PLUGINS_FAILED,
            ),
            (
                EngineError::SubSocketCreateError(event_engine::zmq::Error::ETERM),
                ee_status_t::EE_STOPPED,
            ),
            (EngineError::Internal("x".into()), ee_status_t::EE_ENGINE),
        ];
        for (e, status) in cases {
            assert_eq!(Failure::from(e).status, status);
        }
    }

    #[test]
    fn protocol_errors_carry_the_wire_code() {
        use event_engine_client::wire::{ErrorCode, WireError};
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            let f = Failure::from(ClientError::Protocol(WireError::new(code, "m")));
            assert_eq!(f.status, ee_status_t::EE_PROTOCOL);
            assert_eq!(f.wire as u32, i as u32 + 1);
            assert_eq!(fail(f), ee_status_t::EE_PROTOCOL);
            assert_eq!(ee_last_error_wire_code() as u32, code as u32);
        }
    }

    #[test]
    fn guard_catches_panics_and_keeps_the_message() {
        assert_eq!(guard(|| panic!("boom {}", 7)), ee_status_t::EE_PANIC);
        assert!(text(ee_last_error()).contains("boom 7"));
        assert_eq!(guard(|| Ok(())), ee_status_t::EE_OK);
        assert_eq!(text(ee_last_error()), "");
        assert_eq!(text(ee_status_str(9999)), "EE_UNKNOWN_STATUS");
    }
}
