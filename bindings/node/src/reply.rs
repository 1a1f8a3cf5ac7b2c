//! What a call resolves to, turned into JavaScript values on the event-loop thread.

use event_engine_client::{Hello, Stats};
use napi::bindgen_prelude::{
    Array, BufferSlice, JsValue, Null, ToNapiValue, TypeName, Undefined, ValueType,
};
use napi::{sys, Env};
use napi_derive::napi;

/// A subscription filter of the plugin.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct FilterInfo {
    /// The filter's bytes in lower-case hex.
    pub hex: String,
    /// The filter as text, when its bytes are printable UTF-8.
    pub text: Option<String>,
}

/// Who the plugin is and what the engine supports (the protocol's `hello`).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// Highest protocol version the engine speaks.
    pub protocol: u32,
    /// Every protocol version the engine speaks.
    pub versions: Vec<u32>,
    /// Engine name and version, e.g. `event-engine 0.3.0`.
    pub engine: String,
    /// The plugin's registered name.
    pub name: String,
    /// The plugin's registered id (a UUID).
    pub id: String,
    /// The plugin's subscription filters.
    pub subscriptions: Vec<FilterInfo>,
    /// Most events in one `nextBatch` or `publishMany`.
    pub max_batch: u32,
    /// Most events delivered and not yet acknowledged at once.
    pub max_pending: i64,
}

/// The plugin's counters on the engine (the protocol's `stats`).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PluginStats {
    /// The plugin's name.
    pub name: String,
    /// Events handed to a client for the first time.
    pub delivered: i64,
    /// Events handed to a client again (after a reconnect or a lost reply).
    pub redelivered: i64,
    /// Events acknowledged.
    pub acked: i64,
    /// Events delivered and not yet acknowledged.
    pub pending: i64,
    /// Events taken off the bus and not yet delivered.
    pub buffered: i64,
    /// Events published by the plugin.
    pub published: i64,
    /// Requests answered with an error.
    pub errors: i64,
    /// Client connections that took the plugin's queue over.
    pub sessions: i64,
    /// TCP connections open to the plugin's port now.
    pub connections: i64,
    /// Connections dropped because their unread replies filled their queue.
    pub dropped_connections: i64,
    /// Connections refused at the handshake: they did not present the plugin's token.
    pub refused: i64,
}

fn num(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<Hello> for PluginInfo {
    fn from(h: Hello) -> Self {
        PluginInfo {
            protocol: h.protocol,
            versions: h.versions,
            engine: h.engine,
            name: h.name,
            id: h.id,
            subscriptions: h
                .subscriptions
                .into_iter()
                .map(|f| FilterInfo {
                    hex: f.hex,
                    text: f.text,
                })
                .collect(),
            max_batch: h.max_batch,
            max_pending: num(h.max_pending),
        }
    }
}

impl From<Stats> for PluginStats {
    fn from(s: Stats) -> Self {
        PluginStats {
            name: s.name,
            delivered: num(s.delivered),
            redelivered: num(s.redelivered),
            acked: num(s.acked),
            pending: num(s.pending),
            buffered: num(s.buffered),
            published: num(s.published),
            errors: num(s.errors),
            sessions: num(s.sessions),
            connections: num(s.connections),
            dropped_connections: num(s.dropped_connections),
            refused: num(s.refused),
        }
    }
}

/// The result of a call, before it becomes a JavaScript value.
#[derive(Debug)]
pub enum Reply {
    /// `undefined`.
    Nothing,
    /// A number.
    Count(f64),
    /// One event as a `Buffer`, or `null`.
    Event(Option<Vec<u8>>),
    /// An array of `Buffer`s.
    Events(Vec<Vec<u8>>),
    /// The `hello` document.
    Info(PluginInfo),
    /// The `stats` document.
    Stats(PluginStats),
}

impl TypeName for Reply {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// Copies an event into a new `Buffer`. Copying beats an external buffer for the small events
/// of a bus: no finalizer for the garbage collector to run per event.
fn buffer(env: &Env, data: &[u8]) -> napi::Result<sys::napi_value> {
    Ok(BufferSlice::copy_from(env, data)?.raw())
}

impl ToNapiValue for Reply {
    unsafe fn to_napi_value(raw: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw);
        match val {
            Reply::Nothing => Undefined::to_napi_value(raw, ()),
            Reply::Count(n) => f64::to_napi_value(raw, n),
            Reply::Event(None) => Null::to_napi_value(raw, Null),
            Reply::Event(Some(data)) => buffer(&env, &data),
            Reply::Events(events) => {
                let len = u32::try_from(events.len()).unwrap_or(u32::MAX);
                let mut array: Array<'_> = env.create_array(len)?;
                for (i, data) in (0..len).zip(events.iter()) {
                    array.set(i, BufferSlice::copy_from(&env, data)?)?;
                }
                Ok(array.raw())
            }
            Reply::Info(info) => PluginInfo::to_napi_value(raw, info),
            Reply::Stats(stats) => PluginStats::to_napi_value(raw, stats),
        }
    }
}
