//! The JSON documents of `hello` and `stats` replies, and the hex spelling of filters.

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
    /// Largest event the engine accepts, in bytes (0: not said, an engine before these limits).
    #[serde(default)]
    pub max_event_bytes: u64,
    /// Most frames in one request (0: not said).
    #[serde(default)]
    pub max_frames: u64,
    /// Most bytes in one request, all frames together (0: not said).
    #[serde(default)]
    pub max_request_bytes: u64,
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
    /// (at most the engine's `buffer_limit`, and `buffer_bytes` bytes; when full, the bus waits
    /// for this plugin).
    pub buffered: u64,
    /// The bytes of the `buffered` events together (at most the engine's `buffer_bytes`, plus
    /// the one event that crossed it). Absent from the stats of engines before 0.4 (read as 0).
    #[serde(default)]
    pub buffered_bytes: u64,
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
    /// Client connections dropped because their unread replies filled their queue (absent from
    /// older engines: 0).
    #[serde(default)]
    pub dropped_connections: u64,
    /// Connections refused at the handshake because they did not present the plugin's token
    /// (absent from older engines: 0).
    #[serde(default)]
    pub refused: u64,
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hex (either case); `None` if it is not an even number of hex digits.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
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
}
