//! Replies: what the engine sends back, built by the engine ([`Reply::to_frames`]) and parsed by
//! clients ([`Reply::parse`]).

use std::borrow::Cow;
use std::fmt;

use crate::document::{Hello, Stats};
use crate::error::{ErrorCode, WireError};
use crate::{MSG_PUBLISHED, QUIT_ACK, REPLY_PREFIX};

/// A reply of the engine, typed. `B` is how events are held: `&[u8]` when the engine builds a
/// reply from its queue, `Vec<u8>` (the default) when a client parses one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<B = Vec<u8>> {
    /// v1, to `next_msg`: the event itself, one bare frame.
    Event(B),
    /// v1, to an event published: `event-engine: msg published`.
    MsgPublished,
    /// To `recv`: `event-engine: events seq=S count=N redelivered=R`, then the events.
    Events {
        /// Sequence number of the first event (0 when there are none).
        seq: u64,
        /// How many of the first events were delivered before.
        redelivered: u32,
        /// The events, in order.
        events: Vec<B>,
    },
    /// To `publish`: `event-engine: published count=N`.
    Published {
        /// How many events were published.
        count: u64,
    },
    /// To `hello`: `event-engine: hello protocol=P`, then the JSON document.
    Hello(Box<Hello>),
    /// To `stats`: `event-engine: stats`, then the JSON document.
    Stats(Box<Stats>),
    /// To `ack`: `event-engine: acked seq=S pending=P`.
    Acked {
        /// The sequence number acknowledged.
        seq: u64,
        /// Events still delivered and unacknowledged.
        pending: u64,
    },
    /// To `quit`: `event-engine: bye`.
    Bye,
    /// Any request refused: `event-engine: error <code>: <message>`.
    Error(WireError),
}

/// Why a reply could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The reply had no frames.
    Empty,
    /// The first frame is not a status (`event-engine: ...`): `len` bytes of something else.
    NotStatus {
        /// The frame's length.
        len: usize,
    },
    /// An error reply with a code this version does not know.
    UnknownError {
        /// The code as sent.
        code: String,
        /// The message.
        message: String,
    },
    /// A status whose kind word this version does not know.
    UnknownKind(String),
    /// A status of a known kind that does not follow the protocol.
    Malformed(String),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Empty => f.write_str("an empty reply"),
            ReplyError::NotStatus { len } => write!(f, "{len} bytes that are not a status"),
            ReplyError::UnknownError { code, message } => {
                write!(f, "unknown error code '{code}': {message}")
            }
            ReplyError::UnknownKind(kind) => write!(f, "a status of unknown kind '{kind}'"),
            ReplyError::Malformed(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for ReplyError {}

fn status_frame(text: String) -> Cow<'static, [u8]> {
    Cow::Owned(text.into_bytes())
}

fn json<T: serde::Serialize>(document: &T) -> Cow<'static, [u8]> {
    // These documents are strings and numbers: serialising them cannot fail.
    Cow::Owned(serde_json::to_vec(document).unwrap_or_default())
}

impl<B: AsRef<[u8]>> Reply<B> {
    /// The kind word of the reply's status (`events`, `published`, ...); `event` for a v1 event.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Event(_) => "event",
            Reply::MsgPublished => "msg",
            Reply::Events { .. } => "events",
            Reply::Published { .. } => "published",
            Reply::Hello(_) => "hello",
            Reply::Stats(_) => "stats",
            Reply::Acked { .. } => "acked",
            Reply::Bye => "bye",
            Reply::Error(_) => "error",
        }
    }

    /// The frames of this reply as the engine sends them (after the envelope): the inverse of
    /// [`Reply::parse`]. Events are borrowed, not copied.
    pub fn to_frames(&self) -> Vec<Cow<'_, [u8]>> {
        match self {
            Reply::Event(e) => vec![Cow::Borrowed(e.as_ref())],
            Reply::MsgPublished => vec![Cow::Borrowed(MSG_PUBLISHED)],
            Reply::Events {
                seq,
                redelivered,
                events,
            } => {
                let header = EventsHeader {
                    seq: *seq,
                    count: u32::try_from(events.len()).unwrap_or(u32::MAX),
                    redelivered: *redelivered,
                };
                std::iter::once(Cow::Owned(header.to_frame()))
                    .chain(events.iter().map(|e| Cow::Borrowed(e.as_ref())))
                    .collect()
            }
            Reply::Published { count } => {
                vec![status_frame(format!(
                    "event-engine: published count={count}"
                ))]
            }
            Reply::Hello(h) => vec![
                status_frame(format!("event-engine: hello protocol={}", h.protocol)),
                json(h),
            ],
            Reply::Stats(s) => vec![Cow::Borrowed(b"event-engine: stats".as_slice()), json(s)],
            Reply::Acked { seq, pending } => vec![status_frame(format!(
                "event-engine: acked seq={seq} pending={pending}"
            ))],
            Reply::Bye => vec![Cow::Borrowed(QUIT_ACK)],
            Reply::Error(e) => vec![Cow::Owned(e.to_frame())],
        }
    }
}

impl Reply<Vec<u8>> {
    /// Parses the frames of a reply. A first frame that is not a status is a v1 event
    /// ([`Reply::Event`]) when it is the only frame; a reply to `next_msg` can be nothing else,
    /// so a v1 client takes its one frame as the event without parsing it.
    ///
    /// ```
    /// use event_engine_protocol::{ErrorCode, Reply, WireError};
    ///
    /// let frames = vec![b"event-engine: acked seq=4 pending=0".to_vec()];
    /// assert_eq!(Reply::parse(frames), Ok(Reply::Acked { seq: 4, pending: 0 }));
    /// let refused = WireError::new(ErrorCode::PendingFull, "ack some first");
    /// assert_eq!(Reply::parse(vec![refused.to_frame()]), Ok(Reply::Error(refused)));
    /// ```
    pub fn parse(frames: Vec<Vec<u8>>) -> Result<Reply, ReplyError> {
        let mut frames = frames.into_iter();
        let Some(first) = frames.next() else {
            return Err(ReplyError::Empty);
        };
        let rest: Vec<Vec<u8>> = frames.collect();
        let Some(status) = parse_status(&first) else {
            return if rest.is_empty() {
                Ok(Reply::Event(first))
            } else {
                Err(ReplyError::NotStatus { len: first.len() })
            };
        };
        let (kind, args) = match status {
            Status::Error(e) => return Ok(Reply::Error(e)),
            Status::UnknownError { code, message } => {
                return Err(ReplyError::UnknownError { code, message })
            }
            Status::Ok { kind, args } => (kind, args),
        };
        let arg = |key: &str| -> Result<u64, ReplyError> {
            args.iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse().ok())
                .ok_or_else(|| ReplyError::Malformed(format!("'{kind}' without a number {key}=")))
        };
        let document = |what: &str| -> Result<&[u8], ReplyError> {
            match rest.as_slice() {
                [doc] => Ok(doc.as_slice()),
                _ => Err(ReplyError::Malformed(format!(
                    "{what} without its document"
                ))),
            }
        };
        let single = |reply: Reply| -> Result<Reply, ReplyError> {
            if rest.is_empty() {
                Ok(reply)
            } else {
                Err(ReplyError::Malformed(format!(
                    "'{}' with {} extra frame(s)",
                    reply.kind(),
                    rest.len()
                )))
            }
        };
        match kind.as_str() {
            "msg" if first.as_slice() == MSG_PUBLISHED => single(Reply::MsgPublished),
            "bye" => single(Reply::Bye),
            "published" => single(Reply::Published {
                count: arg("count")?,
            }),
            "acked" => single(Reply::Acked {
                seq: arg("seq")?,
                pending: arg("pending")?,
            }),
            "events" => {
                let count = arg("count")?;
                if rest.len() as u64 != count {
                    return Err(ReplyError::Malformed(format!(
                        "header says {count} events, reply has {}",
                        rest.len()
                    )));
                }
                Ok(Reply::Events {
                    seq: arg("seq")?,
                    redelivered: u32::try_from(arg("redelivered").unwrap_or(0)).unwrap_or(u32::MAX),
                    events: rest,
                })
            }
            "hello" => serde_json::from_slice(document("hello")?)
                .map(|h| Reply::Hello(Box::new(h)))
                .map_err(|e| ReplyError::Malformed(format!("hello document: {e}"))),
            "stats" => serde_json::from_slice(document("stats")?)
                .map(|s| Reply::Stats(Box::new(s)))
                .map_err(|e| ReplyError::Malformed(format!("stats document: {e}"))),
            _ => Err(ReplyError::UnknownKind(kind)),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(reply: Reply<&[u8]>) -> Reply {
        let frames: Vec<Vec<u8>> = reply
            .to_frames()
            .into_iter()
            .map(|f| f.into_owned())
            .collect();
        Reply::parse(frames).unwrap()
    }

    #[test]
    fn every_reply_survives_a_round_trip() {
        let hello = Hello {
            protocol: 2,
            versions: vec![1, 2],
            engine: "event-engine test".into(),
            name: "p".into(),
            id: "i".into(),
            subscriptions: vec![crate::Filter::from_bytes(b"TypeA")],
            max_batch: crate::MAX_BATCH,
            max_pending: 9,
            max_event_bytes: 64,
            max_frames: 3,
            max_request_bytes: 64,
        };
        let stats = Stats {
            name: "p".into(),
            delivered: 3,
            ..Stats::default()
        };
        let e = WireError::new(ErrorCode::BadArgument, "max=0 is out of range");
        let cases: Vec<(Reply<&[u8]>, Reply)> = vec![
            (Reply::Event(b"TypeAx"), Reply::Event(b"TypeAx".to_vec())),
            (Reply::MsgPublished, Reply::MsgPublished),
            (
                Reply::Events {
                    seq: 5,
                    redelivered: 1,
                    events: vec![b"a", b"b"],
                },
                Reply::Events {
                    seq: 5,
                    redelivered: 1,
                    events: vec![b"a".to_vec(), b"b".to_vec()],
                },
            ),
            (
                Reply::Events {
                    seq: 0,
                    redelivered: 0,
                    events: vec![],
                },
                Reply::Events {
                    seq: 0,
                    redelivered: 0,
                    events: vec![],
                },
            ),
            (Reply::Published { count: 2 }, Reply::Published { count: 2 }),
            (
                Reply::Hello(Box::new(hello.clone())),
                Reply::Hello(Box::new(hello)),
            ),
            (
                Reply::Stats(Box::new(stats.clone())),
                Reply::Stats(Box::new(stats)),
            ),
            (
                Reply::Acked { seq: 4, pending: 1 },
                Reply::Acked { seq: 4, pending: 1 },
            ),
            (Reply::Bye, Reply::Bye),
            (Reply::Error(e.clone()), Reply::Error(e)),
        ];
        for (sent, parsed) in cases {
            assert_eq!(round_trip(sent), parsed);
        }
    }

    #[test]
    fn replies_off_the_protocol_are_errors() {
        let parse = |frames: &[&[u8]]| Reply::parse(frames.iter().map(|f| f.to_vec()).collect());
        assert_eq!(parse(&[]), Err(ReplyError::Empty));
        assert_eq!(parse(&[b"xy", b"z"]), Err(ReplyError::NotStatus { len: 2 }));
        assert!(matches!(
            parse(&[b"event-engine: events seq=1 count=2 redelivered=0", b"a"]),
            Err(ReplyError::Malformed(m)) if m.contains("2 events")
        ));
        assert!(matches!(
            parse(&[b"event-engine: acked seq=1"]),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse(&[b"event-engine: hello protocol=2"]),
            Err(ReplyError::Malformed(_))
        ));
        assert_eq!(
            parse(&[b"event-engine: teapot"]),
            Err(ReplyError::UnknownKind("teapot".into()))
        );
        assert!(matches!(
            parse(&[b"event-engine: error teapot: short"]),
            Err(ReplyError::UnknownError { .. })
        ));
        assert!(matches!(
            parse(&[b"event-engine: bye", b"x"]),
            Err(ReplyError::Malformed(_))
        ));
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
}
