//! The wire format of the event-engine external-plugin protocol: the one implementation of
//! `docs/protocol.md`, used by the engine (the server side) and by `event-engine-client` (the
//! client under every SDK).
//!
//! Both directions are typed and go both ways: a [`Request`] is built by a client
//! ([`Request::to_frames`]) and parsed by the engine ([`parse_request`]); a [`Reply`] is built by
//! the engine ([`Reply::to_frames`]) and parsed by a client ([`Reply::parse`]). A request is the
//! list of frames a REQ socket sends (the REQ envelope already removed); a reply is the list of
//! frames the engine sends back. [`endpoint`] spells the TCP endpoints both sides use.
//!
//! This crate knows nothing of sockets: it has no ZeroMQ dependency.
//!
//! ```
//! use event_engine_protocol::{parse_request, Reply, Request};
//!
//! // A client asks for up to 10 events, waiting at most 100 ms...
//! let asked = Request::Recv { max: 10, timeout_ms: Some(100), max_bytes: None, ack: None };
//! let frames = asked.to_frames();
//! let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_ref()).collect();
//! assert_eq!(frames, [b"plugin_command: recv max=10 timeout_ms=100".as_slice()]);
//! // ...the engine reads the request...
//! assert_eq!(parse_request(&frames), Ok(asked));
//! // ...and answers with two events, which the client parses back.
//! let events: Vec<&[u8]> = vec![b"TypeAone", b"TypeAtwo"];
//! let reply = Reply::Events { seq: 1, redelivered: 0, events };
//! let sent: Vec<Vec<u8>> = reply.to_frames().into_iter().map(|f| f.into_owned()).collect();
//! assert_eq!(sent[0], b"event-engine: events seq=1 count=2 redelivered=0");
//! match Reply::parse(sent).unwrap() {
//!     Reply::Events { seq, events, .. } => assert_eq!((seq, events.len()), (1, 2)),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

#![warn(missing_docs)]

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
/// Largest `max_bytes` accepted by `recv`: 1 TiB, far above what an engine can hold for one
/// plugin, and exact as a JavaScript number and a C `uint64_t`.
pub const MAX_RECV_BYTES: u64 = 1 << 40;
/// Largest `timeout_ms` accepted by `recv` (one hour).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// The engine's default `max_request_bytes` (and `max_event_bytes`): 64 MiB. Clients split a
/// batch whose events add up to more into several `publish` requests.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

mod document;
pub mod endpoint;
mod error;
mod reply;
mod request;
pub mod token;

pub use document::{from_hex, to_hex, Filter, Hello, Stats};
pub use error::{ErrorCode, WireError};
pub use reply::{parse_status, EventsHeader, Reply, ReplyError, Status};
pub use request::{
    ack_command, parse_request, recv_command, Request, HELLO_COMMAND, PUBLISH_COMMAND,
    STATS_COMMAND,
};
