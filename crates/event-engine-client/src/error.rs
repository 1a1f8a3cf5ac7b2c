//! The client's one error type, and the table of its kinds that every SDK shares: each kind's
//! number, name and string code are defined here once. The bindings translate them (C status
//! codes, Node.js `code`/`codeNumber`/`kind`, Python `code`/`code_number`/`kind`) and their tests
//! compare what they expose with [`ErrorKind::ALL`], so a kind added here fails every binding's
//! build or tests until it is handled there.

use crate::wire::{ErrorCode, WireError};

/// Stable kinds of [`Error`]; the numbers are part of every SDK's API (C status codes, Node
/// `code`, Python exception classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    /// An argument was invalid (empty event, `max` of 0, ...).
    InvalidArgument = 1,
    /// The engine did not answer in time, even after reconnecting.
    Disconnected = 2,
    /// The engine answered with an error reply (see [`Error::wire_code`]).
    Protocol = 3,
    /// The call was interrupted (cancel token, signal).
    Interrupted = 4,
    /// The client has already quit.
    Closed = 5,
    /// The engine's reply did not follow the protocol (an engine that does not speak v2?).
    UnexpectedReply = 6,
    /// A ZeroMQ call failed.
    Zmq = 7,
}

impl ErrorKind {
    /// All kinds, in numeric order.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Disconnected,
        ErrorKind::Protocol,
        ErrorKind::Interrupted,
        ErrorKind::Closed,
        ErrorKind::UnexpectedReply,
        ErrorKind::Zmq,
    ];

    /// The kind's stable number, 1 to 7: the C status code, Node's `codeNumber`, Python's
    /// `code_number`, [`Error::code`].
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The kind with this number.
    pub fn from_number(number: u32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.number() == number)
    }

    /// The kind's short stable name, e.g. `disconnected`: every SDK's `kind`.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// The kind's stable string code, e.g. `EE_DISCONNECTED`: `EE_` and the name in upper case.
    /// The C status's name, and the `code` of Node.js and Python errors.
    pub fn code(self) -> String {
        format!("EE_{}", self.name().to_ascii_uppercase())
    }

    /// What the kind means, in one sentence (for the bindings' generated documentation).
    pub fn summary(self) -> &'static str {
        self.describe().1
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::InvalidArgument => ("invalid_argument", "An argument was invalid."),
            ErrorKind::Disconnected => (
                "disconnected",
                "The engine did not answer in time, even after reconnecting.",
            ),
            ErrorKind::Protocol => ("protocol", "The engine refused the request."),
            ErrorKind::Interrupted => ("interrupted", "The call was interrupted."),
            ErrorKind::Closed => ("closed", "The plugin has quit."),
            ErrorKind::UnexpectedReply => (
                "unexpected_reply",
                "The engine's reply did not follow the protocol.",
            ),
            ErrorKind::Zmq => ("zmq", "A ZeroMQ call failed."),
        }
    }
}

/// How a plugin's port refused a client at the handshake ([`Error::Disconnected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The port admits only its plugin's token, and this client presented none.
    NoToken,
    /// This client presented a token the port does not admit (another plugin's, a stale one, or
    /// a port that takes no token).
    WrongToken,
    /// This client's CURVE handshake was refused: the port does not admit its key pair (another
    /// plugin's), the engine's public key it was given is not the engine's, or the port is not
    /// a CURVE port.
    WrongKey,
}

fn refusal_hint(refused: Option<Refusal>) -> &'static str {
    match refused {
        None => "is it running?",
        Some(Refusal::NoToken) => {
            "the engine closed every connection during the handshake: the port admits only its \
             plugin's token (or CURVE key), and this client presented none (EE_PLUGIN_TOKEN, \
             EE_PLUGIN_TOKEN_FILE, EE_PLUGIN_SECRET_KEY or the token or curve option; \
             docs/security.md)"
        }
        Some(Refusal::WrongToken) => {
            "the engine closed every connection during the handshake: it does not admit this \
             client's token (another plugin's, a stale one, or a port that takes none; \
             docs/security.md)"
        }
        Some(Refusal::WrongKey) => {
            "the engine closed every connection during the CURVE handshake: the port does not \
             admit this client's key pair, the engine public key it was given \
             (EE_ENGINE_PUBLIC_KEY or the curve option) is not the engine's, or the port is not \
             a CURVE port (docs/security.md)"
        }
    }
}

/// Everything that can go wrong in a client call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument was invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The engine did not answer.
    #[error("no reply from the engine at {endpoint} within {waited_ms} ms ({attempts} attempt(s)); {}", refusal_hint(*.refused))]
    Disconnected {
        /// The endpoint the client talks to.
        endpoint: String,
        /// How long the client waited in all, in milliseconds.
        waited_ms: u64,
        /// How many times the request was sent.
        attempts: u32,
        /// Why, when the port refused this client at the handshake (a port with a token and a
        /// client without it, or with another one; a port without a token and a client with
        /// one): `docs/security.md`.
        refused: Option<Refusal>,
    },
    /// The engine refused the request.
    #[error("the engine refused the request: {0}")]
    Protocol(WireError),
    /// The call was interrupted before it completed.
    #[error("interrupted")]
    Interrupted,
    /// The client has quit; make a new one.
    #[error("the client has quit")]
    Closed,
    /// The engine's reply did not follow the protocol.
    #[error("unexpected reply from the engine: {0}")]
    UnexpectedReply(String),
    /// A ZeroMQ call failed.
    #[error("ZeroMQ error: {0}")]
    Zmq(#[from] zmq::Error),
}

impl Error {
    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Disconnected { .. } => ErrorKind::Disconnected,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::Interrupted => ErrorKind::Interrupted,
            Error::Closed => ErrorKind::Closed,
            Error::UnexpectedReply(_) => ErrorKind::UnexpectedReply,
            Error::Zmq(_) => ErrorKind::Zmq,
        }
    }

    /// The stable numeric code of the kind (`self.kind().number()`).
    pub fn code(&self) -> u32 {
        self.kind() as u32
    }

    /// For [`Error::Protocol`], the engine's error code.
    pub fn wire_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Protocol(e) => Some(e.code),
            _ => None,
        }
    }
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*k as u32, i as u32 + 1);
        }
        assert_eq!(Error::Interrupted.code(), 4);
        let e = Error::Protocol(WireError::new(ErrorCode::BadSequence, "x"));
        assert_eq!(e.wire_code(), Some(ErrorCode::BadSequence));
        assert_eq!(e.kind().name(), "protocol");
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_number(k.number()), Some(k));
            assert!(names.insert(k.name()), "{} twice", k.name());
            assert!(k
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(k.code(), format!("EE_{}", k.name().to_uppercase()));
            assert!(k.summary().ends_with('.'));
        }
        assert_eq!(ErrorKind::from_number(0), None);
        assert_eq!(ErrorKind::Disconnected.code(), "EE_DISCONNECTED");
    }
}
