//! The plugin client: `ee_client_t` over [`event_engine_client::Client`], and `ee_cancel_t`.

use std::ffi::{c_char, CString};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use event_engine_client::options::Spelling;
use event_engine_client::{CancelToken, Client, ClientOptions, Target};

use crate::error::{ee_status_t, guard, guard_value, Failure, Result};
use crate::event::{ee_batch_t, ee_bytes_t, ee_event_t};
use crate::info::{ee_info_t, ee_plugin_stats_t};
use crate::util::{
    array_arg, bytes_arg, c_string, free_handle, handle, into_handle, out, out_handle, str_arg,
    timeout_arg, write_opt,
};

/// Settings of a client. Fill one with `ee_client_options_default`, change what you need, and
/// pass it to `ee_client_connect`; NULL options mean the defaults. Times are in milliseconds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ee_client_options_t {
    /// How long to wait for a reply beyond the time the engine was asked to wait, before the
    /// engine is considered unreachable and the client reconnects (default 5000).
    pub reply_timeout_ms: u64,
    /// How many times a request that is safe to repeat is sent again on a fresh connection
    /// (default 3). Publishing is never repeated.
    pub retries: u32,
    /// First pause before reconnecting; doubles up to `max_backoff_ms` (default 100).
    pub reconnect_backoff_ms: u64,
    /// Longest pause between reconnects (default 2000).
    pub max_backoff_ms: u64,
    /// How long a publish may wait for its reply while the bus is full (backpressure); negative
    /// waits as long as it takes (default 30000).
    pub publish_timeout_ms: i64,
    /// How often a blocking call checks for cancellation (default 100; must be at least 1).
    pub poll_slice_ms: u64,
    /// Longest time the engine is asked to hold one receive request (default 1000; at least 1).
    pub long_poll_ms: u64,
    /// Most bytes of event data one receive asks for (default 67108864, 64 MiB; 1 to 2^40): a
    /// batch stops at `max` events or this many bytes; a single larger event comes alone.
    pub max_batch_bytes: u64,
    /// The credential the plugin's port admits (`docs/security.md`), as text, or NULL (default):
    /// the one `event-engine run` passes (`EE_PLUGIN_TOKEN`, `EE_PLUGIN_TOKEN_FILE`), if any.
    /// Read during the call it is given to; not kept.
    pub token: *const c_char,
    /// A file whose first line is that token, or NULL (default); not with `token`.
    pub token_file: *const c_char,
    /// CURVE instead of a token (a CURVE port, `docs/security.md`): the engine's public key, 40
    /// characters of Z85, or NULL (default: the launch environment's, `EE_ENGINE_PUBLIC_KEY`, if
    /// any). Given with `curve_secret_key` or `curve_secret_key_file`, and not with a token.
    /// Needs a build whose libzmq has CURVE (else `EE_INVALID_ARGUMENT`). Read during the call
    /// it is given to; not kept.
    pub curve_server_key: *const c_char,
    /// The plugin's CURVE secret key (Z85), or NULL (default: `EE_PLUGIN_SECRET_KEY`).
    pub curve_secret_key: *const c_char,
    /// A file whose first line is that secret key (`event-engine keygen`'s `.key` file), or NULL
    /// (default: `EE_PLUGIN_SECRET_KEY_FILE`); not with `curve_secret_key`.
    pub curve_secret_key_file: *const c_char,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&ClientOptions> for ee_client_options_t {
    fn from(o: &ClientOptions) -> Self {
        ee_client_options_t {
            reply_timeout_ms: ms(o.reply_timeout),
            retries: o.retries,
            reconnect_backoff_ms: ms(o.reconnect_backoff),
            max_backoff_ms: ms(o.max_backoff),
            publish_timeout_ms: o
                .publish_timeout
                .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            poll_slice_ms: ms(o.poll_slice),
            long_poll_ms: ms(o.long_poll),
            max_batch_bytes: o.max_batch_bytes,
            token: std::ptr::null(),
            token_file: std::ptr::null(),
            curve_server_key: std::ptr::null(),
            curve_secret_key: std::ptr::null(),
            curve_secret_key_file: std::ptr::null(),
        }
    }
}

impl From<&ee_client_options_t> for ClientOptions {
    fn from(o: &ee_client_options_t) -> Self {
        ClientOptions {
            reply_timeout: Duration::from_millis(o.reply_timeout_ms),
            retries: o.retries,
            reconnect_backoff: Duration::from_millis(o.reconnect_backoff_ms),
            max_backoff: Duration::from_millis(o.max_backoff_ms),
            publish_timeout: timeout_arg(o.publish_timeout_ms),
            poll_slice: Duration::from_millis(o.poll_slice_ms),
            long_poll: Duration::from_millis(o.long_poll_ms),
            max_batch_bytes: o.max_batch_bytes,
            ..ClientOptions::default()
        }
    }
}

/// A connection to one external plugin's port on an engine. Made by `ee_client_connect` or
/// `ee_client_connect_port`, released by `ee_client_free`. Calls on one client are serialised
/// (a second thread waits for the first); use `ee_cancel_t` to interrupt a blocking call.
#[derive(Debug)]
pub struct ee_client_t {
    inner: Mutex<Client>,
    endpoint: CString,
}

impl ee_client_t {
    fn new(client: Client) -> Self {
        ee_client_t {
            endpoint: c_string(client.endpoint()),
            inner: Mutex::new(client),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        // A panic while the lock was held (caught at the boundary) leaves a client that is
        // still memory-safe to use; its next call reports what the engine says.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A token that interrupts a client's blocking calls from another thread (or a signal
/// handler's thread): they return `EE_INTERRUPTED` at once (the waiting call is woken; at the
/// latest after one `poll_slice_ms`). Made by
/// `ee_client_cancel_token`, released by `ee_cancel_free`; it may outlive its client.
#[derive(Debug)]
pub struct ee_cancel_t {
    token: CancelToken,
}

/// The options (NULL: the defaults), checked by the SDK core's rules with C's names.
fn options_arg(options: *const ee_client_options_t) -> Result<ClientOptions> {
    // SAFETY: NULL or a pointer to an initialised struct (documented).
    let o = match unsafe { options.as_ref() } {
        Some(o) => {
            let token = opt_str_arg(o.token, "token")?;
            let file = opt_str_arg(o.token_file, "token_file")?;
            let server = opt_str_arg(o.curve_server_key, "curve_server_key")?;
            let secret = opt_str_arg(o.curve_secret_key, "curve_secret_key")?;
            let secret_file = opt_str_arg(o.curve_secret_key_file, "curve_secret_key_file")?;
            ClientOptions {
                token: event_engine_client::Token::from_options(
                    token.as_deref(),
                    file.as_deref().map(std::path::Path::new),
                )?,
                curve: event_engine_client::Curve::from_options(
                    server.as_deref(),
                    secret.as_deref(),
                    secret_file.as_deref().map(std::path::Path::new),
                )?,
                ..ClientOptions::from(o)
            }
        }
        None => ClientOptions::default(),
    };
    o.validate_spelled(Spelling::SnakeMs)?;
    Ok(o)
}

/// An optional string argument: NULL is "not given".
fn opt_str_arg(p: *const c_char, what: &str) -> Result<Option<String>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, what).map(|s| Some(s.to_string()))
    }
}

/// `port` of `ee_client_open` when it is not given.
pub const EE_NO_PORT: i32 = -1;

/// Fills `options` with the defaults.
#[no_mangle]
pub extern "C" fn ee_client_options_default(options: *mut ee_client_options_t) -> ee_status_t {
    guard(|| {
        *out(options, "options")? = ee_client_options_t::from(&ClientOptions::default());
        Ok(())
    })
}

/// Connects to an engine endpoint such as `"tcp://127.0.0.1:6000"` with `options` (NULL: the
/// defaults) and sets `*client` to the new client (NULL on failure). Connecting is lazy: an
/// engine that is not there yet is found when it starts, so a wrong port shows later as
/// `EE_DISCONNECTED`.
#[no_mangle]
pub extern "C" fn ee_client_connect(
    endpoint: *const c_char,
    options: *const ee_client_options_t,
    client: *mut *mut ee_client_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(client, "client")?;
        let endpoint = str_arg(endpoint, "endpoint")?;
        let c = Client::connect_with(endpoint, options_arg(options)?)?;
        *slot = into_handle(ee_client_t::new(c));
        Ok(())
    })
}

/// Connects to TCP `port` on `host` (e.g. `"127.0.0.1"`, or an IPv6 address without brackets)
/// with `options` (NULL: the defaults); see `ee_client_connect`.
#[no_mangle]
pub extern "C" fn ee_client_connect_port(
    host: *const c_char,
    port: u16,
    options: *const ee_client_options_t,
    client: *mut *mut ee_client_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(client, "client")?;
        let host = str_arg(host, "host")?;
        if host.is_empty() {
            return Err(Failure::invalid("host must not be empty"));
        }
        let c = Client::connect_port_with(host, port, options_arg(options)?)?;
        *slot = into_handle(ee_client_t::new(c));
        Ok(())
    })
}

/// Connects as every SDK does (the SDK core's rule, `docs/c.md`): to `endpoint` if it is not
/// NULL; else to `port` on `host` (NULL: `"127.0.0.1"`) if `port` is not `EE_NO_PORT`; else, with
/// a `host`, to `EE_PLUGIN_PORT` on it; else to `EE_PLUGIN_ENDPOINT` or `EE_PLUGIN_PORT` from the
/// environment, which `event-engine run` sets for the plugins it launches. Giving `endpoint` with
/// `host` or `port` is `EE_INVALID_ARGUMENT`, as is a port outside 1 to 65535. Sets `*client` to
/// the new client (NULL on failure); `options` NULL means the defaults.
///
/// A plugin launched by `event-engine run` needs no arguments:
/// `ee_client_open(NULL, NULL, EE_NO_PORT, NULL, &client)`.
#[no_mangle]
pub extern "C" fn ee_client_open(
    endpoint: *const c_char,
    host: *const c_char,
    port: i32,
    options: *const ee_client_options_t,
    client: *mut *mut ee_client_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(client, "client")?;
        let target = Target {
            endpoint: opt_str_arg(endpoint, "endpoint")?,
            host: opt_str_arg(host, "host")?,
            port: (port != EE_NO_PORT).then_some(i64::from(port)),
        };
        let c = Client::open(&target, options_arg(options)?)?;
        *slot = into_handle(ee_client_t::new(c));
        Ok(())
    })
}

/// The endpoint the client talks to. The string belongs to the client.
#[no_mangle]
pub extern "C" fn ee_client_endpoint(
    client: *const ee_client_t,
    endpoint: *mut *const c_char,
) -> ee_status_t {
    guard(|| {
        let c = handle(client, "client")?;
        *out(endpoint, "endpoint")? = c.endpoint.as_ptr();
        Ok(())
    })
}

/// Asks the engine who this plugin is and what it supports (protocol `hello`); sets `*info` to
/// a new `ee_info_t` to release with `ee_info_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn ee_client_info(
    client: *const ee_client_t,
    info: *mut *mut ee_info_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(info, "info")?;
        let c = handle(client, "client")?;
        let hello = c.lock().hello()?;
        *slot = into_handle(ee_info_t::from(hello));
        Ok(())
    })
}

/// This plugin's counters on the engine, written into the caller's `*stats`.
#[no_mangle]
pub extern "C" fn ee_client_stats(
    client: *const ee_client_t,
    stats: *mut ee_plugin_stats_t,
) -> ee_status_t {
    guard(|| {
        let slot = out(stats, "stats")?;
        let c = handle(client, "client")?;
        let s = c.lock().stats()?;
        *slot = ee_plugin_stats_t::from(&s);
        Ok(())
    })
}

/// The next event, waiting at most `timeout_ms` milliseconds (negative: until one arrives).
/// Sets `*event` to a new event to release with `ee_event_free`, or to NULL when none came in
/// time (which is `EE_OK`, not an error). Receiving acknowledges every event received before.
#[no_mangle]
pub extern "C" fn ee_client_next(
    client: *const ee_client_t,
    timeout_ms: i64,
    event: *mut *mut ee_event_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(event, "event")?;
        let c = handle(client, "client")?;
        if let Some(e) = c.lock().next_batch_owned(1, timeout_arg(timeout_ms))?.pop() {
            *slot = into_handle(ee_event_t::from(e));
        }
        Ok(())
    })
}

/// Up to `max` events (1 to the engine's `max_batch`, 65536), waiting at most `timeout_ms`
/// milliseconds for the first (negative: until one arrives) and taking what is available at once
/// after it. Sets `*batch` to a new batch to release with `ee_batch_free`; it is empty when none
/// came in time.
#[no_mangle]
pub extern "C" fn ee_client_next_batch(
    client: *const ee_client_t,
    max: usize,
    timeout_ms: i64,
    batch: *mut *mut ee_batch_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(batch, "batch")?;
        let c = handle(client, "client")?;
        // The events stay in the messages they arrived in: C reads them there (no copy).
        let events = c.lock().next_batch_owned(max, timeout_arg(timeout_ms))?;
        *slot = into_handle(ee_batch_t {
            events: events.into_iter().map(ee_event_t::from).collect(),
        });
        Ok(())
    })
}

/// Publishes one event: `len` bytes at `data`, its filter first (an empty event is
/// `EE_INVALID_ARGUMENT`). Waits while the bus is full, up to `publish_timeout_ms`.
#[no_mangle]
pub extern "C" fn ee_client_publish(
    client: *const ee_client_t,
    data: *const u8,
    len: usize,
) -> ee_status_t {
    guard(|| {
        let c = handle(client, "client")?;
        let bytes = bytes_arg(data, len, "data")?;
        c.lock().publish(bytes)?;
        Ok(())
    })
}

/// Publishes `count` events, in order, in as few round trips as the protocol allows (65536
/// events each, the SDK core's batches): each round trip publishes all of its events or none (an
/// empty event is `EE_INVALID_ARGUMENT`). `*published` (may be NULL) gets how many were
/// published, also when a later round trip failed. `count` 0 publishes nothing and succeeds.
#[no_mangle]
pub extern "C" fn ee_client_publish_batch(
    client: *const ee_client_t,
    events: *const ee_bytes_t,
    count: usize,
    published: *mut usize,
) -> ee_status_t {
    guard(|| {
        write_opt(published, 0);
        let c = handle(client, "client")?;
        let items = array_arg(events, count, "events")?;
        let slices = items
            .iter()
            .enumerate()
            .map(|(i, b)| b.as_slice(&format!("events[{i}].data")))
            .collect::<Result<Vec<&[u8]>>>()?;
        let n = c.lock().publish_many(&slices).map_err(|e| {
            write_opt(published, e.published);
            e.error
        })?;
        write_opt(published, n);
        Ok(())
    })
}

/// Tells the engine every event received so far is processed (receiving does this too; call it
/// before a long pause). `*pending` (may be NULL) gets how many events the engine still holds
/// for this plugin.
#[no_mangle]
pub extern "C" fn ee_client_ack(client: *const ee_client_t, pending: *mut u64) -> ee_status_t {
    guard(|| {
        let c = handle(client, "client")?;
        let n = c.lock().ack()?;
        write_opt(pending, n);
        Ok(())
    })
}

/// The sequence number of the last event received, 0 before the first.
#[no_mangle]
pub extern "C" fn ee_client_last_seq(client: *const ee_client_t, seq: *mut u64) -> ee_status_t {
    guard(|| {
        let slot = out(seq, "seq")?;
        let c = handle(client, "client")?;
        *slot = c.lock().last_seq().unwrap_or(0);
        Ok(())
    })
}

/// Tells the engine this plugin is done (acknowledging every event received): the plugin is
/// then reported as finished. Every later call but `ee_client_quit` (harmless) and
/// `ee_client_free` returns `EE_CLOSED`.
#[no_mangle]
pub extern "C" fn ee_client_quit(client: *const ee_client_t) -> ee_status_t {
    guard(|| {
        let c = handle(client, "client")?;
        c.lock().quit()?;
        Ok(())
    })
}

/// Releases a client; NULL is ignored. It does not quit: the engine keeps the events it
/// delivered and not acknowledged, and delivers them again to the next client.
#[no_mangle]
pub extern "C" fn ee_client_free(client: *mut ee_client_t) {
    guard_value((), || free_handle(client))
}

/// Sets `*token` to a new token that interrupts `client`'s blocking calls; release it with
/// `ee_cancel_free`.
#[no_mangle]
pub extern "C" fn ee_client_cancel_token(
    client: *const ee_client_t,
    token: *mut *mut ee_cancel_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(token, "token")?;
        let c = handle(client, "client")?;
        let t = c.lock().cancel_token();
        *slot = into_handle(ee_cancel_t { token: t });
        Ok(())
    })
}

/// Interrupts the client's current and future blocking calls (`EE_INTERRUPTED`) until
/// `ee_cancel_reset`. Safe from any thread, and async-signal-safe: it sets a flag and writes
/// one byte to a socket the waiting call polls.
#[no_mangle]
pub extern "C" fn ee_cancel_cancel(token: *const ee_cancel_t) -> ee_status_t {
    guard(|| {
        handle(token, "token")?.token.cancel();
        Ok(())
    })
}

/// Clears the cancellation: the client's calls block again.
#[no_mangle]
pub extern "C" fn ee_cancel_reset(token: *const ee_cancel_t) -> ee_status_t {
    guard(|| {
        handle(token, "token")?.token.reset();
        Ok(())
    })
}

/// Whether the token is cancelled.
#[no_mangle]
pub extern "C" fn ee_cancel_is_cancelled(
    token: *const ee_cancel_t,
    cancelled: *mut bool,
) -> ee_status_t {
    guard(|| {
        let t = handle(token, "token")?;
        *out(cancelled, "cancelled")? = t.token.is_cancelled();
        Ok(())
    })
}

/// Releases a token. NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_cancel_free(token: *mut ee_cancel_t) {
    guard_value((), || free_handle(token))
}
