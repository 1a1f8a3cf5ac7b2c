//! Events handed to C (`ee_event_t`, `ee_batch_t`) and byte buffers handed in (`ee_bytes_t`).

use crate::error::{ee_status_t, guard, guard_value, Failure, Result};
use crate::util::{bytes_arg, free_handle, handle, out};

/// A byte buffer passed into the library: `len` bytes at `data` (which may be NULL only when
/// `len` is 0). The library copies what it keeps; the caller keeps ownership.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ee_bytes_t {
    /// The first byte.
    pub data: *const u8,
    /// How many bytes.
    pub len: usize,
}

impl ee_bytes_t {
    /// The bytes, checked.
    pub(crate) fn as_slice<'a>(&self, what: &str) -> Result<&'a [u8]> {
        bytes_arg(self.data, self.len, what)
    }
}

/// One event received from the engine: its bytes (filter first), its sequence number and whether
/// it was delivered before. Made by `ee_client_next` or `ee_plugin_ctx_recv`, released by
/// `ee_event_free`; the events of an `ee_batch_t` belong to the batch.
#[derive(Debug)]
pub struct ee_event_t {
    pub(crate) seq: u64,
    pub(crate) data: EventData,
    pub(crate) redelivered: bool,
}

/// Where an event's bytes are: in a buffer of their own, or still in the ZeroMQ message they
/// arrived in (events from the engine: handed to C without a copy).
#[derive(Debug)]
pub(crate) enum EventData {
    Bytes(Vec<u8>),
    Received(event_engine_client::OwnedEvent),
}

impl EventData {
    fn bytes(&self) -> &[u8] {
        match self {
            EventData::Bytes(b) => b,
            EventData::Received(e) => e.data(),
        }
    }
}

impl From<event_engine_client::OwnedEvent> for ee_event_t {
    fn from(e: event_engine_client::OwnedEvent) -> Self {
        ee_event_t {
            seq: e.seq,
            redelivered: e.redelivered,
            data: EventData::Received(e),
        }
    }
}

/// The events of one `ee_client_next_batch` call, in order. Released by `ee_batch_free`, which
/// also releases its events.
#[derive(Debug, Default)]
pub struct ee_batch_t {
    pub(crate) events: Vec<ee_event_t>,
}

/// The event's bytes (its filter first): `*data` points at `*len` bytes that belong to the
/// event and stay valid until it is freed. Not NUL-terminated; may contain NUL bytes.
#[no_mangle]
pub extern "C" fn ee_event_data(
    event: *const ee_event_t,
    data: *mut *const u8,
    len: *mut usize,
) -> ee_status_t {
    guard(|| {
        let e = handle(event, "event")?;
        let (data, len) = (out(data, "data")?, out(len, "len")?);
        let bytes = e.data.bytes();
        *data = bytes.as_ptr();
        *len = bytes.len();
        Ok(())
    })
}

/// The event's sequence number for this plugin (1, 2, ...): the same on every redelivery. For an
/// internal plugin's events, how many events the plugin has received so far.
#[no_mangle]
pub extern "C" fn ee_event_seq(event: *const ee_event_t, seq: *mut u64) -> ee_status_t {
    guard(|| {
        let e = handle(event, "event")?;
        *out(seq, "seq")? = e.seq;
        Ok(())
    })
}

/// Whether the engine had delivered this event before (to a client that crashed or lost the
/// reply): processing must then be idempotent.
#[no_mangle]
pub extern "C" fn ee_event_redelivered(
    event: *const ee_event_t,
    redelivered: *mut bool,
) -> ee_status_t {
    guard(|| {
        let e = handle(event, "event")?;
        *out(redelivered, "redelivered")? = e.redelivered;
        Ok(())
    })
}

/// Releases an event made by `ee_client_next` or `ee_plugin_ctx_recv`. NULL is ignored. Never
/// pass an event that belongs to a batch.
#[no_mangle]
pub extern "C" fn ee_event_free(event: *mut ee_event_t) {
    guard_value((), || free_handle(event))
}

/// How many events the batch holds (0 when none came in time).
#[no_mangle]
pub extern "C" fn ee_batch_len(batch: *const ee_batch_t, len: *mut usize) -> ee_status_t {
    guard(|| {
        let b = handle(batch, "batch")?;
        *out(len, "len")? = b.events.len();
        Ok(())
    })
}

/// The event at `index` (from 0) of the batch: it belongs to the batch (never free it) and stays
/// valid until the batch is freed. An index past the end gives `EE_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ee_batch_get(
    batch: *const ee_batch_t,
    index: usize,
    event: *mut *const ee_event_t,
) -> ee_status_t {
    guard(|| {
        let b = handle(batch, "batch")?;
        let slot = out(event, "event")?;
        *slot = std::ptr::null();
        let e = b.events.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is past the end of a batch of {} event(s)",
                b.events.len()
            ))
        })?;
        *slot = e;
        Ok(())
    })
}

/// Releases a batch and its events. NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_batch_free(batch: *mut ee_batch_t) {
    guard_value((), || free_handle(batch))
}
