//! The engine's error replies: `event-engine: error <code>: <message>`.

use std::fmt;

/// Machine-readable error codes carried by `event-engine: error <code>: <message>` replies.
///
/// The numeric values are stable and shared by every SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    /// The request had no bytes.
    EmptyMessage = 1,
    /// A multi-part request that is not a multi-part command.
    MultipartMessage = 2,
    /// The bytes after `plugin_command:` are not UTF-8.
    NotUtf8 = 3,
    /// A command that does not follow `plugin_command: <verb>[ <key>=<value>]*`.
    BadCommand = 4,
    /// A well-formed command whose verb is unknown.
    UnknownCommand = 5,
    /// An unknown, repeated, missing or out-of-range argument, or a frame count that does not fit.
    BadArgument = 6,
    /// An `ack` for a sequence number that was never delivered.
    BadSequence = 7,
    /// The plugin holds the maximum number of unacknowledged events.
    PendingFull = 8,
    /// The request had no empty delimiter frame (a DEALER client without the REQ envelope).
    MissingDelimiter = 9,
    /// An event or a request over the engine's limits (`max_event_bytes`, `max_frames`,
    /// `max_request_bytes`; see the `hello` reply).
    TooLarge = 10,
}

impl ErrorCode {
    /// All codes, in numeric order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::EmptyMessage,
        ErrorCode::MultipartMessage,
        ErrorCode::NotUtf8,
        ErrorCode::BadCommand,
        ErrorCode::UnknownCommand,
        ErrorCode::BadArgument,
        ErrorCode::BadSequence,
        ErrorCode::PendingFull,
        ErrorCode::MissingDelimiter,
        ErrorCode::TooLarge,
    ];

    /// The code as it appears on the wire, e.g. `unknown_command`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::MultipartMessage => "multipart_message",
            ErrorCode::NotUtf8 => "not_utf8",
            ErrorCode::BadCommand => "bad_command",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::BadArgument => "bad_argument",
            ErrorCode::BadSequence => "bad_sequence",
            ErrorCode::PendingFull => "pending_full",
            ErrorCode::MissingDelimiter => "missing_delimiter",
            ErrorCode::TooLarge => "too_large",
        }
    }

    /// Parses the wire name of a code.
    pub fn from_wire(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request the engine could not accept: the code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// What kind of error.
    pub code: ErrorCode,
    /// What was wrong, for humans.
    pub message: String,
}

impl WireError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WireError {
            code,
            message: message.into(),
        }
    }

    /// The reply frame: `event-engine: error <code>: <message>`.
    pub fn to_frame(&self) -> Vec<u8> {
        format!("event-engine: error {}: {}", self.code, self.message).into_bytes()
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WireError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_stable() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32 + 1);
            assert_eq!(ErrorCode::from_wire(c.as_str()), Some(*c));
        }
    }
}
