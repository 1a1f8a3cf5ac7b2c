//! Requests: what a plugin process sends, parsed by the engine ([`parse_request`]) and built by
//! clients ([`Request::to_frames`]).

use std::borrow::Cow;

use crate::error::{ErrorCode, WireError};
use crate::{COMMAND_PREFIX, MAX_BATCH, MAX_RECV_BYTES, MAX_TIMEOUT_MS, NEXT_MSG, QUIT};

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
    /// v2 `plugin_command: recv [max=N] [timeout_ms=T] [max_bytes=B] [ack=S]`.
    Recv {
        /// Most events in the reply (1 when absent).
        max: u32,
        /// How long to wait for the first event; `None` waits for ever.
        timeout_ms: Option<u64>,
        /// Most bytes of event data in the reply (`None`: no byte limit). A single event larger
        /// than this is sent alone.
        max_bytes: Option<u64>,
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

impl<'a> Request<'a> {
    /// The frames of this request as a client sends them: the inverse of [`parse_request`].
    /// Events are borrowed, not copied.
    ///
    /// ```
    /// use event_engine_protocol::{parse_request, Request};
    ///
    /// let publish = Request::PublishBatch(vec![b"TypeAone", b"TypeAtwo"]);
    /// let frames = publish.to_frames();
    /// let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_ref()).collect();
    /// assert_eq!(frames[0], b"plugin_command: publish");
    /// assert_eq!(parse_request(&frames), Ok(publish));
    /// ```
    pub fn to_frames(&self) -> Vec<Cow<'a, [u8]>> {
        match self {
            Request::NextMsg => vec![Cow::Borrowed(NEXT_MSG)],
            Request::Quit => vec![Cow::Borrowed(QUIT)],
            Request::Publish(event) => vec![Cow::Borrowed(*event)],
            Request::Hello => vec![Cow::Borrowed(HELLO_COMMAND)],
            Request::Stats => vec![Cow::Borrowed(STATS_COMMAND)],
            Request::Recv {
                max,
                timeout_ms,
                max_bytes,
                ack,
            } => vec![Cow::Owned(recv_command(
                *max,
                *timeout_ms,
                *max_bytes,
                *ack,
            ))],
            Request::Ack { seq } => vec![Cow::Owned(ack_command(*seq))],
            Request::PublishBatch(events) => std::iter::once(Cow::Borrowed(PUBLISH_COMMAND))
                .chain(events.iter().map(|e| Cow::Borrowed(*e)))
                .collect(),
        }
    }
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
            let max_bytes = args.take_u64("max_bytes", 1, MAX_RECV_BYTES)?;
            let ack = args.take_u64("ack", 0, u64::MAX)?;
            args.finish(verb)?;
            single(Request::Recv {
                max,
                timeout_ms,
                max_bytes,
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

/// Builds the command frame of a `recv` request: `max`, `timeout_ms` (-1 for `None`), then
/// `max_bytes` and `ack` when given. Without `max_bytes` the bytes are those of clients before
/// it existed.
pub fn recv_command(
    max: u32,
    timeout_ms: Option<u64>,
    max_bytes: Option<u64>,
    ack: Option<u64>,
) -> Vec<u8> {
    let mut s = format!("plugin_command: recv max={max}");
    match timeout_ms {
        Some(t) => s.push_str(&format!(" timeout_ms={t}")),
        None => s.push_str(" timeout_ms=-1"),
    }
    if let Some(b) = max_bytes {
        s.push_str(&format!(" max_bytes={b}"));
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
                max_bytes: None,
                ack: None
            }
        );
        assert_eq!(
            parse(&[b"plugin_command: recv ack=7 max=3 timeout_ms=0"]).unwrap(),
            Request::Recv {
                max: 3,
                timeout_ms: Some(0),
                max_bytes: None,
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
            parse(&[&recv_command(5, Some(10), None, Some(2))]).unwrap(),
            Request::Recv {
                max: 5,
                timeout_ms: Some(10),
                max_bytes: None,
                ack: Some(2)
            }
        );
    }

    #[test]
    fn recv_max_bytes() {
        let recv = |max_bytes| Request::Recv {
            max: 10,
            timeout_ms: Some(100),
            max_bytes,
            ack: None,
        };
        assert_eq!(
            parse(&[b"plugin_command: recv max=10 timeout_ms=100 max_bytes=3145728"]).unwrap(),
            recv(Some(3_145_728))
        );
        assert_eq!(
            parse(&[b"plugin_command: recv max_bytes=1 timeout_ms=100 max=10"]).unwrap(),
            recv(Some(1))
        );
        // Formatted after timeout_ms, before ack; absent, the bytes are the old ones.
        assert_eq!(
            recv_command(10, Some(100), Some(3_145_728), Some(4)),
            b"plugin_command: recv max=10 timeout_ms=100 max_bytes=3145728 ack=4"
        );
        assert_eq!(
            recv_command(10, Some(100), None, Some(4)),
            b"plugin_command: recv max=10 timeout_ms=100 ack=4"
        );
        assert_eq!(
            recv(None).to_frames()[0].as_ref(),
            b"plugin_command: recv max=10 timeout_ms=100"
        );
        let message = |frame: &[u8]| parse(&[frame]).unwrap_err();
        let e = message(b"plugin_command: recv max_bytes=0");
        assert_eq!(e.code, ErrorCode::BadArgument);
        assert_eq!(
            e.message,
            format!("max_bytes=0 is out of range (1..={MAX_RECV_BYTES})")
        );
        let over = format!("plugin_command: recv max_bytes={}", MAX_RECV_BYTES + 1);
        assert_eq!(message(over.as_bytes()).code, ErrorCode::BadArgument);
        for bad in [
            &b"plugin_command: recv max_bytes=-1"[..],
            b"plugin_command: recv max_bytes=1MiB",
            b"plugin_command: recv max_bytes=+5",
            b"plugin_command: recv max_bytes=99999999999999999999999",
            b"plugin_command: recv max_bytes=1 max_bytes=2",
        ] {
            assert_eq!(message(bad).code, ErrorCode::BadArgument);
        }
        assert_eq!(
            message(b"plugin_command: recv max_bytes=ten").message,
            "max_bytes=ten is not a number"
        );
        assert_eq!(
            code(&[b"plugin_command: recv max_bytes="]),
            ErrorCode::BadCommand
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
    fn every_request_survives_a_round_trip() {
        let requests = [
            Request::NextMsg,
            Request::Quit,
            Request::Publish(b"TypeAx"),
            Request::Hello,
            Request::Stats,
            Request::Recv {
                max: 7,
                timeout_ms: None,
                max_bytes: None,
                ack: Some(3),
            },
            Request::Recv {
                max: MAX_BATCH,
                timeout_ms: Some(0),
                max_bytes: None,
                ack: None,
            },
            Request::Recv {
                max: 1000,
                timeout_ms: Some(500),
                max_bytes: Some(3 << 20),
                ack: Some(9),
            },
            Request::Recv {
                max: 1,
                timeout_ms: None,
                max_bytes: Some(MAX_RECV_BYTES),
                ack: None,
            },
            Request::Ack { seq: 12 },
            Request::PublishBatch(vec![b"a", b"bb"]),
        ];
        for r in requests {
            let frames = r.to_frames();
            let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_ref()).collect();
            assert_eq!(parse_request(&frames), Ok(r));
        }
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
}
