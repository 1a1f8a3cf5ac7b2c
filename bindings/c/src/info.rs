//! What the engine says about a plugin: `ee_info_t` (the `hello` reply) and
//! `ee_plugin_stats_t` (its counters).

use std::ffi::{c_char, CString};

use event_engine_client::wire;

use crate::error::{ee_status_t, guard, guard_value, Failure};
use crate::util::{c_string, free_handle, handle, out};

/// Who this plugin is to the engine, and what the engine supports: the reply to `hello`. Made by
/// `ee_client_info`, released by `ee_info_free`; its strings and arrays belong to it.
#[derive(Debug)]
pub struct ee_info_t {
    protocol: u32,
    versions: Vec<u32>,
    engine: CString,
    name: CString,
    id: CString,
    subscriptions: Vec<Vec<u8>>,
    max_batch: u32,
    max_pending: u64,
}

impl From<wire::Hello> for ee_info_t {
    fn from(h: wire::Hello) -> Self {
        ee_info_t {
            protocol: h.protocol,
            versions: h.versions,
            engine: c_string(&h.engine),
            name: c_string(&h.name),
            id: c_string(&h.id),
            // The engine sends each filter in hex; one that does not decode is kept as its text.
            subscriptions: h
                .subscriptions
                .into_iter()
                .map(|f| wire::from_hex(&f.hex).unwrap_or_else(|| f.hex.into_bytes()))
                .collect(),
            max_batch: h.max_batch,
            max_pending: h.max_pending,
        }
    }
}

/// A plugin's counters on the engine (`ee_client_stats`, `ee_running_plugin_stats`,
/// `ee_report_plugin`). A plain struct the caller owns.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ee_plugin_stats_t {
    /// Events handed to clients for the first time.
    pub delivered: u64,
    /// Events handed to a client again (after a reconnect or a lost reply).
    pub redelivered: u64,
    /// Events acknowledged by clients.
    pub acked: u64,
    /// Events delivered and not yet acknowledged (held for redelivery).
    pub pending: u64,
    /// Events taken off the bus and not yet delivered.
    pub buffered: u64,
    /// Events published by the plugin.
    pub published: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// Client connections that took over the plugin's queue.
    pub sessions: u64,
}

impl From<&wire::Stats> for ee_plugin_stats_t {
    fn from(s: &wire::Stats) -> Self {
        ee_plugin_stats_t {
            delivered: s.delivered,
            redelivered: s.redelivered,
            acked: s.acked,
            pending: s.pending,
            buffered: s.buffered,
            published: s.published,
            errors: s.errors,
            sessions: s.sessions,
        }
    }
}

/// The plugin's registered name. The string belongs to `info`.
#[no_mangle]
pub extern "C" fn ee_info_name(info: *const ee_info_t, name: *mut *const c_char) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        *out(name, "name")? = i.name.as_ptr();
        Ok(())
    })
}

/// The plugin's registered id (a UUID). The string belongs to `info`.
#[no_mangle]
pub extern "C" fn ee_info_id(info: *const ee_info_t, id: *mut *const c_char) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        *out(id, "id")? = i.id.as_ptr();
        Ok(())
    })
}

/// The engine's name and version, e.g. `"event-engine 0.3.0"`. The string belongs to `info`.
#[no_mangle]
pub extern "C" fn ee_info_engine(
    info: *const ee_info_t,
    engine: *mut *const c_char,
) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        *out(engine, "engine")? = i.engine.as_ptr();
        Ok(())
    })
}

/// The highest protocol version the engine speaks, and every version it speaks (`*count`
/// numbers at `*versions`, which belong to `info`). `versions` and `count` may be NULL when not
/// wanted.
#[no_mangle]
pub extern "C" fn ee_info_protocol(
    info: *const ee_info_t,
    protocol: *mut u32,
    versions: *mut *const u32,
    count: *mut usize,
) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        *out(protocol, "protocol")? = i.protocol;
        crate::util::write_opt(versions, i.versions.as_ptr());
        crate::util::write_opt(count, i.versions.len());
        Ok(())
    })
}

/// The engine's limits: the largest batch `ee_client_next_batch` may ask for, and the most
/// events a plugin may hold delivered but unacknowledged. Either pointer may be NULL.
#[no_mangle]
pub extern "C" fn ee_info_limits(
    info: *const ee_info_t,
    max_batch: *mut u32,
    max_pending: *mut u64,
) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        crate::util::write_opt(max_batch, i.max_batch);
        crate::util::write_opt(max_pending, i.max_pending);
        Ok(())
    })
}

/// How many subscription filters the plugin has.
#[no_mangle]
pub extern "C" fn ee_info_subscription_count(
    info: *const ee_info_t,
    count: *mut usize,
) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        *out(count, "count")? = i.subscriptions.len();
        Ok(())
    })
}

/// The subscription filter at `index` (from 0): `*len` bytes at `*data`, which belong to
/// `info`. An index past the end gives `EE_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ee_info_subscription(
    info: *const ee_info_t,
    index: usize,
    data: *mut *const u8,
    len: *mut usize,
) -> ee_status_t {
    guard(|| {
        let i = handle(info, "info")?;
        let (data, len) = (out(data, "data")?, out(len, "len")?);
        let f = i.subscriptions.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is past the end of {} subscription(s)",
                i.subscriptions.len()
            ))
        })?;
        *data = f.as_ptr();
        *len = f.len();
        Ok(())
    })
}

/// Releases an `ee_info_t`. NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_info_free(info: *mut ee_info_t) {
    guard_value((), || free_handle(info))
}
