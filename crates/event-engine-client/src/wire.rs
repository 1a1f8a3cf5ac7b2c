//! The wire format of the external-plugin protocol, shared by the engine (server) and the client.
//!
//! `docs/protocol.md` is the specification; this module is its one implementation. A request is
//! the list of frames a REQ socket sends (the REQ envelope already removed); a reply is the list of
//! frames the engine sends back.
//!
//! ```
//! use event_engine_client::wire::{parse_request, Request};
//!
//! let frames: [&[u8]; 1] = [b"plugin_command: recv max=10 timeout_ms=100"];
//! match parse_request(&frames).unwrap() {
//!     Request::Recv { max, timeout_ms, ack } => {
//!         assert_eq!((max, timeout_ms, ack), (10, Some(100), None));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

use std::fmt;

/// Every command starts with these bytes; events must not (in protocol v1).
pub const COMMAND_PREFIX: &[u8] = b"plugin_command:";
/// Every status reply starts with these bytes.
pub const REPLY_PREFIX: &[u8] = b"event-engine: ";
/// v1: ask for the next event (blocks until there is one).
pub const NEXT_MSG: &[u8] = b"plugin_command: next_msg";
/// v1: the plugin is done.
pub const QUIT: &[u8] = b"plugin_command: quit";
/// v1: the reply to a published event.
pub const MSG_PUBLISHED: &[u8] = b"event-engine: msg published";
/// The reply to `quit`.
pub const QUIT_ACK: &[u8] = b"event-engine: bye";
/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 2;
/// Largest `max` accepted by `recv`.
pub const MAX_BATCH: u32 = 65_536;
/// Largest `timeout_ms` accepted by `recv` (one hour).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

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
}

impl ErrorCode {
    /// All codes, in numeric order.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::EmptyMessage,
        ErrorCode::MultipartMessage,
        ErrorCode::NotUtf8,
        ErrorCode::BadCommand,
        ErrorCode::UnknownCommand,
        ErrorCode::BadArgument,
        ErrorCode::BadSequence,
        ErrorCode::PendingFull,
        ErrorCode::MissingDelimiter,
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

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// v1 `plugin_command: next_msg`.
    NextMsg,
    /// v1 `plugin_command: quit`.
    Quit,
    /// v1: any other single frame is an event to publish.
    Publish(&'a [u8]),
    /// v2 `plugin_command: hello`.
    Hello,
    /// v2 `plugin_command: recv [max=N] [timeout_ms=T] [ack=S]`.
    Recv {
        /// Most events in the reply (1 when absent).
        max: u32,
        /// How long to wait for the first event; `None` waits for ever.
        timeout_ms: Option<u64>,
        /// The last sequence number the client has processed, if it says.
        ack: Option<u64>,
    },
    /// v2 `plugin_command: publish` followed by one frame per event.
    PublishBatch(Vec<&'a [u8]>),
    /// v2 `plugin_command: ack seq=S`.
    Ack {
        /// Everything up to and including this sequence number is processed.
        seq: u64,
    },
    /// v2 `plugin_command: stats`.
    Stats,
}

fn err(code: ErrorCode, message: impl Into<String>) -> WireError {
    WireError::new(code, message)
}

/// Parses the body frames of a request (the frames after the REQ envelope's empty delimiter).
pub fn parse_request<'a>(frames: &[&'a [u8]]) -> Result<Request<'a>, WireError> {
    let Some((first, rest)) = frames.split_first() else {
        return Err(err(ErrorCode::EmptyMessage, "the request has no frames"));
    };
    if !first.starts_with(COMMAND_PREFIX) {
        if !rest.is_empty() {
            return Err(err(
                ErrorCode::MultipartMessage,
                format!(
                    "a multi-part request ({} frames) must start with a command",
                    frames.len()
                ),
            ));
        }
        if first.is_empty() {
            return Err(err(ErrorCode::EmptyMessage, "an event cannot be empty"));
        }
        return Ok(Request::Publish(first));
    }
    let text = std::str::from_utf8(&first[COMMAND_PREFIX.len()..]).map_err(|e| {
        err(
            ErrorCode::NotUtf8,
            format!("the bytes after 'plugin_command:' are not UTF-8 ({e})"),
        )
    })?;
    let Some(body) = text.strip_prefix(' ') else {
        return Err(err(
            ErrorCode::BadCommand,
            "expected one space after 'plugin_command:'",
        ));
    };
    let mut words = body.split(' ');
    let verb = words.next().unwrap_or_default();
    if verb.is_empty() || !verb.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(err(
            ErrorCode::BadCommand,
            format!("'{}' is not a command word", truncate(verb)),
        ));
    }
    let args = Args::parse(words)?;
    let single = |req: Request<'a>| -> Result<Request<'a>, WireError> {
        if rest.is_empty() {
            Ok(req)
        } else {
            Err(err(
                ErrorCode::MultipartMessage,
                format!("'{verb}' takes one frame, got {}", frames.len()),
            ))
        }
    };
    match verb {
        "next_msg" | "quit" | "hello" | "stats" => {
            args.none_allowed(verb)?;
            single(match verb {
                "next_msg" => Request::NextMsg,
                "quit" => Request::Quit,
                "hello" => Request::Hello,
                _ => Request::Stats,
            })
        }
        "recv" => {
            let mut args = args;
            let max = args.take_u64("max", 1, u64::from(MAX_BATCH))?.unwrap_or(1) as u32;
            let timeout_ms = match args.take_raw("timeout_ms") {
                None | Some("-1") => None,
                Some(v) => Some(parse_u64("timeout_ms", v, 0, MAX_TIMEOUT_MS)?),
            };
            let ack = args.take_u64("ack", 0, u64::MAX)?;
            args.finish(verb)?;
            single(Request::Recv {
                max,
                timeout_ms,
                ack,
            })
        }
        "ack" => {
            let mut args = args;
            let seq = args
                .take_u64("seq", 0, u64::MAX)?
                .ok_or_else(|| err(ErrorCode::BadArgument, "'ack' needs seq=<number>"))?;
            args.finish(verb)?;
            single(Request::Ack { seq })
        }
        "publish" => {
            args.none_allowed(verb)?;
            if rest.is_empty() {
                return Err(err(
                    ErrorCode::BadArgument,
                    "'publish' needs at least one event frame after the command",
                ));
            }
            if rest.len() > MAX_BATCH as usize {
                return Err(err(
                    ErrorCode::BadArgument,
                    format!(
                        "'publish' takes at most {MAX_BATCH} events, got {}",
                        rest.len()
                    ),
                ));
            }
            if let Some(i) = rest.iter().position(|f| f.is_empty()) {
                return Err(err(
                    ErrorCode::EmptyMessage,
                    format!(
                        "event {} of the batch is empty; nothing was published",
                        i + 1
                    ),
                ));
            }
            Ok(Request::PublishBatch(rest.to_vec()))
        }
        _ => Err(err(
            ErrorCode::UnknownCommand,
            format!("unknown command '{}'", truncate(verb)),
        )),
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

fn parse_u64(key: &str, v: &str, min: u64, max: u64) -> Result<u64, WireError> {
    let n: u64 = v
        .parse()
        .ok()
        .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            err(
                ErrorCode::BadArgument,
                format!("{key}={} is not a number", truncate(v)),
            )
        })?;
    if n < min || n > max {
        return Err(err(
            ErrorCode::BadArgument,
            format!("{key}={n} is out of range ({min}..={max})"),
        ));
    }
    Ok(n)
}

/// `key=value` arguments of a command, in order.
struct Args<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    fn parse(words: impl Iterator<Item = &'a str>) -> Result<Self, WireError> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for word in words {
            let Some((k, v)) = word.split_once('=') else {
                return Err(err(
                    ErrorCode::BadCommand,
                    format!(
                        "unexpected '{}' (arguments are key=value, one space apart)",
                        truncate(word)
                    ),
                ));
            };
            if k.is_empty() || v.is_empty() {
                return Err(err(
                    ErrorCode::BadCommand,
                    format!("'{}' is not key=value", truncate(word)),
                ));
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(err(
                    ErrorCode::BadArgument,
                    format!("'{}' is given twice", truncate(k)),
                ));
            }
            pairs.push((k, v));
        }
        Ok(Args { pairs })
    }

    fn none_allowed(&self, verb: &str) -> Result<(), WireError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(err(
                ErrorCode::BadCommand,
                format!("'{verb}' takes no arguments, got '{}'", truncate(k)),
            )),
        }
    }

    fn take_raw(&mut self, key: &str) -> Option<&'a str> {
        let i = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(i).1)
    }

    fn take_u64(&mut self, key: &str, min: u64, max: u64) -> Result<Option<u64>, WireError> {
        self.take_raw(key)
            .map(|v| parse_u64(key, v, min, max))
            .transpose()
    }

    fn finish(self, verb: &str) -> Result<(), WireError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(err(
                ErrorCode::BadArgument,
                format!("'{verb}' has no argument '{}'", truncate(k)),
            )),
        }
    }
}

/// Builds the command frame of a `recv` request.
pub fn recv_command(max: u32, timeout_ms: Option<u64>, ack: Option<u64>) -> Vec<u8> {
    let mut s = format!("plugin_command: recv max={max}");
    match timeout_ms {
        Some(t) => s.push_str(&format!(" timeout_ms={t}")),
        None => s.push_str(" timeout_ms=-1"),
    }
    if let Some(a) = ack {
        s.push_str(&format!(" ack={a}"));
    }
    s.into_bytes()
}

/// Builds the command frame of an `ack` request.
pub fn ack_command(seq: u64) -> Vec<u8> {
    format!("plugin_command: ack seq={seq}").into_bytes()
}

/// The command frame of a batch publish (the events follow as frames).
pub const PUBLISH_COMMAND: &[u8] = b"plugin_command: publish";
/// The command frame of `hello`.
pub const HELLO_COMMAND: &[u8] = b"plugin_command: hello";
/// The command frame of `stats`.
pub const STATS_COMMAND: &[u8] = b"plugin_command: stats";

/// The header frame of a `recv` reply: `event-engine: events seq=S count=N redelivered=R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsHeader {
    /// Sequence number of the first event (0 when `count` is 0).
    pub seq: u64,
    /// Number of event frames that follow.
    pub count: u32,
    /// How many of the first events were delivered before (to this or an earlier client).
    pub redelivered: u32,
}

impl EventsHeader {
    /// The header frame.
    pub fn to_frame(&self) -> Vec<u8> {
        format!(
            "event-engine: events seq={} count={} redelivered={}",
            self.seq, self.count, self.redelivered
        )
        .into_bytes()
    }
}

/// A status reply (`event-engine: <kind>[ key=value]*`), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `event-engine: error <code>: <message>`.
    Error(WireError),
    /// An error reply with a code this version does not know.
    UnknownError {
        /// The code as sent.
        code: String,
        /// The message.
        message: String,
    },
    /// Any other status: its kind word and arguments.
    Ok {
        /// e.g. `events`, `published`, `hello`, `stats`, `acked`, `bye`, `msg`.
        kind: String,
        /// `key=value` arguments after the kind, in order.
        args: Vec<(String, String)>,
    },
}

impl Status {
    /// The value of argument `key`, parsed as a number.
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        match self {
            Status::Ok { args, .. } => args
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse().ok()),
            _ => None,
        }
    }
}

/// Parses a status frame; `None` when the frame does not start with `event-engine: `.
pub fn parse_status(frame: &[u8]) -> Option<Status> {
    let rest = frame.strip_prefix(REPLY_PREFIX)?;
    let text = String::from_utf8_lossy(rest);
    if let Some(e) = text.strip_prefix("error ") {
        let (code, message) = e.split_once(": ").unwrap_or((e, ""));
        return Some(match ErrorCode::from_wire(code) {
            Some(code) => Status::Error(WireError::new(code, message)),
            None => Status::UnknownError {
                code: code.to_string(),
                message: message.to_string(),
            },
        });
    }
    let mut words = text.split(' ');
    let kind = words.next().unwrap_or_default().to_string();
    let args = words
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(Status::Ok { kind, args })
}

/// The JSON document in the second frame of a `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    /// Highest protocol version the engine speaks.
    pub protocol: u32,
    /// All versions the engine speaks.
    pub versions: Vec<u32>,
    /// Engine name and version, e.g. `event-engine 0.3.0`.
    pub engine: String,
    /// The plugin's registered name.
    pub name: String,
    /// The plugin's registered id (a UUID).
    pub id: String,
    /// The plugin's subscription filters.
    pub subscriptions: Vec<Filter>,
    /// Largest `max` that `recv` accepts.
    pub max_batch: u32,
    /// Most events that may be delivered and not yet acknowledged.
    pub max_pending: u64,
}

/// A subscription filter as it appears in `hello`: its bytes in hex, and as text when they are
/// printable UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    /// The filter bytes, lower-case hex.
    pub hex: String,
    /// The filter as text, when it is printable UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Filter {
    /// Describes `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let text = std::str::from_utf8(bytes)
            .ok()
            .filter(|s| !s.chars().any(char::is_control))
            .map(str::to_string);
        Filter {
            hex: to_hex(bytes),
            text,
        }
    }

    /// The filter bytes (decoded from `hex`); `None` if `hex` is not valid hex.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        from_hex(&self.hex)
    }
}

/// The JSON document in the second frame of a `stats` reply: one plugin's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// The plugin's name.
    pub name: String,
    /// Events handed to clients for the first time.
    pub delivered: u64,
    /// Events handed to a client again (after a reconnect or a lost reply).
    pub redelivered: u64,
    /// Events acknowledged by clients.
    pub acked: u64,
    /// Events delivered and not yet acknowledged (held for redelivery).
    pub pending: u64,
    /// Events taken off the bus and not yet delivered: they wait for the plugin's process to ask
    /// (at most the engine's `buffer_limit`; when full, the bus waits for this plugin).
    pub buffered: u64,
    /// Events published by the plugin.
    pub published: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// v2 client sessions (connections sending `recv`) that took over the plugin's queue; v1
    /// `next_msg` requests are not counted, since each reply is a delivery whatever the
    /// connection.
    pub sessions: u64,
    /// TCP connections open to the plugin's port now (0: no process is connected). Absent from
    /// the stats of engines before 0.3.1 (read as 0).
    #[serde(default)]
    pub connections: u64,
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hex (either case); `None` if it is not an even number of hex digits.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(frames: &[&[u8]]) -> Result<Request<'static>, WireError> {
        // Leak for 'static convenience in tests.
        let owned: Vec<&'static [u8]> = frames
            .iter()
            .map(|f| &*Box::leak(f.to_vec().into_boxed_slice()))
            .collect();
        parse_request(&owned)
    }

    fn code(frames: &[&[u8]]) -> ErrorCode {
        parse(frames).unwrap_err().code
    }

    #[test]
    fn v1_commands_are_exact() {
        assert_eq!(parse(&[NEXT_MSG]).unwrap(), Request::NextMsg);
        assert_eq!(parse(&[QUIT]).unwrap(), Request::Quit);
        assert_eq!(
            code(&[b"plugin_command: next_msg x"]),
            ErrorCode::BadCommand
        );
        assert_eq!(code(&[b"plugin_command: next_msg "]), ErrorCode::BadCommand);
        assert_eq!(
            code(&[b"plugin_command: quitnow"]),
            ErrorCode::UnknownCommand
        );
        assert_eq!(code(&[b"plugin_command:quit"]), ErrorCode::BadCommand);
        assert_eq!(code(&[b"plugin_command: quit\n"]), ErrorCode::BadCommand);
        assert_eq!(code(&[b"plugin_command: \xff\xfe"]), ErrorCode::NotUtf8);
        assert_eq!(code(&[b"plugin_command: "]), ErrorCode::BadCommand);
    }

    #[test]
    fn anything_else_is_an_event() {
        assert_eq!(
            parse(&[b"TypeAhello"]).unwrap(),
            Request::Publish(b"TypeAhello")
        );
        assert_eq!(
            parse(&[b"\x01\x00\xff"]).unwrap(),
            Request::Publish(b"\x01\x00\xff")
        );
        assert_eq!(code(&[b""]), ErrorCode::EmptyMessage);
        assert_eq!(code(&[]), ErrorCode::EmptyMessage);
        assert_eq!(code(&[b"a", b"b"]), ErrorCode::MultipartMessage);
        assert_eq!(code(&[NEXT_MSG, b"b"]), ErrorCode::MultipartMessage);
    }

    #[test]
    fn recv_arguments() {
        assert_eq!(
            parse(&[b"plugin_command: recv"]).unwrap(),
            Request::Recv {
                max: 1,
                timeout_ms: None,
                ack: None
            }
        );
        assert_eq!(
            parse(&[b"plugin_command: recv ack=7 max=3 timeout_ms=0"]).unwrap(),
            Request::Recv {
                max: 3,
                timeout_ms: Some(0),
                ack: Some(7)
            }
        );
        assert_eq!(
            code(&[b"plugin_command: recv max=0"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv max=-1"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv max=+1"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv max=65537"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv max=1 max=2"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv size=2"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            code(&[b"plugin_command: recv  max=2"]),
            ErrorCode::BadCommand
        );
        assert_eq!(code(&[b"plugin_command: recv max"]), ErrorCode::BadCommand);
        assert_eq!(
            code(&[b"plugin_command: recv timeout_ms=-2"]),
            ErrorCode::BadArgument
        );
        assert_eq!(
            parse(&[&recv_command(5, Some(10), Some(2))]).unwrap(),
            Request::Recv {
                max: 5,
                timeout_ms: Some(10),
                ack: Some(2)
            }
        );
    }

    #[test]
    fn publish_batch() {
        assert_eq!(
            parse(&[PUBLISH_COMMAND, b"a", b"b"]).unwrap(),
            Request::PublishBatch(vec![b"a", b"b"])
        );
        assert_eq!(code(&[PUBLISH_COMMAND]), ErrorCode::BadArgument);
        assert_eq!(code(&[PUBLISH_COMMAND, b"a", b""]), ErrorCode::EmptyMessage);
        assert_eq!(
            code(&[b"plugin_command: publish count=2", b"a"]),
            ErrorCode::BadCommand
        );
    }

    #[test]
    fn ack_needs_seq() {
        assert_eq!(parse(&[&ack_command(9)]).unwrap(), Request::Ack { seq: 9 });
        assert_eq!(code(&[b"plugin_command: ack"]), ErrorCode::BadArgument);
        assert_eq!(
            code(&[b"plugin_command: ack seq=x"]),
            ErrorCode::BadArgument
        );
    }

    #[test]
    fn status_round_trip() {
        let h = EventsHeader {
            seq: 4,
            count: 2,
            redelivered: 1,
        };
        let s = parse_status(&h.to_frame()).unwrap();
        assert_eq!(s.arg_u64("seq"), Some(4));
        assert_eq!(s.arg_u64("count"), Some(2));
        assert_eq!(s.arg_u64("redelivered"), Some(1));
        let e = WireError::new(ErrorCode::BadSequence, "ack=9 but only 3 delivered");
        assert_eq!(parse_status(&e.to_frame()), Some(Status::Error(e)));
        assert_eq!(parse_status(b"TypeA"), None);
        assert!(matches!(
            parse_status(b"event-engine: error teapot: short"),
            Some(Status::UnknownError { .. })
        ));
    }

    #[test]
    fn hex_and_filters() {
        assert_eq!(to_hex(b"\x01\x00A"), "010041");
        assert_eq!(from_hex("010041").unwrap(), b"\x01\x00A");
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(Filter::from_bytes(b"TypeA").text.as_deref(), Some("TypeA"));
        assert_eq!(Filter::from_bytes(b"\x01\x00").text, None);
        assert_eq!(
            Filter::from_bytes(b"\x01\x00").bytes().unwrap(),
            b"\x01\x00"
        );
    }

    #[test]
    fn error_codes_are_stable() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32 + 1);
            assert_eq!(ErrorCode::from_wire(c.as_str()), Some(*c));
        }
    }
}
