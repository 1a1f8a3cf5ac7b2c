//! Internal plugins written as C callbacks: `ee_plugin_fn_t` and the context it is given.

use std::ffi::{c_char, c_void, CString};

use event_engine::errors::EngineError;
use event_engine::zmq;

use crate::error::{ee_status_t, guard, Failure};
use crate::event::ee_event_t;
use crate::util::{bytes_arg, handle, handle_mut, into_handle, out, out_handle, str_arg};

/// The body of an internal plugin, called once on the plugin's own thread when every plugin's
/// subscriptions are in place. It receives with `ee_plugin_ctx_recv`, publishes with
/// `ee_plugin_ctx_publish`, and returns `EE_OK` when done (the plugin is reported as finished).
/// Any other status makes it fail, with the message given to `ee_plugin_ctx_set_error` (or the
/// thread's `ee_last_error()`); `EE_STOPPED` (what the context's calls return once the engine
/// stops) makes it stopped, not failed. It must not throw a C++ exception or `longjmp` out.
pub type ee_plugin_fn_t =
    Option<extern "C" fn(ctx: *mut ee_plugin_ctx_t, user_data: *mut c_void) -> i32>;

/// What an internal plugin's callback works with: its sockets on the bus. Valid only during the
/// callback, and only on its thread; never freed by the caller.
pub struct ee_plugin_ctx_t {
    pub_socket: zmq::Socket,
    sub_socket: zmq::Socket,
    name: CString,
    received: u64,
    /// The engine closed the sockets (a stop).
    stopped: bool,
    error: Option<String>,
}

impl ee_plugin_ctx_t {
    fn zmq_failure(&mut self, e: zmq::Error, what: &str) -> Failure {
        if e == zmq::Error::ETERM {
            self.stopped = true;
            Failure::new(
                ee_status_t::EE_STOPPED,
                format!("{what}: the engine is stopping"),
            )
        } else {
            Failure::new(ee_status_t::EE_ZMQ, format!("{what}: {e}"))
        }
    }
}

/// The user data pointer, handed back to the callback on the plugin's thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);
// SAFETY: the library never dereferences it; the C caller promises that its callback may use it
// from the plugin's thread (documented at `ee_app_add_plugin`).
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// Runs a C callback as an internal plugin's `start`.
pub(crate) fn run_callback(
    name: &str,
    id: &str,
    callback: extern "C" fn(*mut ee_plugin_ctx_t, *mut c_void) -> i32,
    user_data: *mut c_void,
) -> impl Fn(zmq::Socket, zmq::Socket) -> Result<(), EngineError> + Send + Sync + 'static {
    let user = UserData(user_data);
    let name = name.to_string();
    let id = id.to_string();
    move |pub_socket, sub_socket| {
        let mut ctx = ee_plugin_ctx_t {
            pub_socket,
            sub_socket,
            name: crate::util::c_string(&name),
            received: 0,
            stopped: false,
            error: None,
        };
        let user = user;
        let code = callback(&mut ctx, user.0);
        if code == ee_status_t::EE_OK as i32 {
            return Ok(());
        }
        if ctx.stopped || code == ee_status_t::EE_STOPPED as i32 {
            // The engine classifies ETERM as "stopped" when it is stopping, as a failure if not.
            return Err(EngineError::SubSocketCreateError(zmq::Error::ETERM));
        }
        let status = crate::error::ee_status_str(code);
        // SAFETY: ee_status_str returns a static NUL-terminated string.
        let status = unsafe { std::ffi::CStr::from_ptr(status) }.to_string_lossy();
        let message = ctx.error.take().unwrap_or_else(|| {
            // SAFETY: ee_last_error returns a NUL-terminated string valid until the next call.
            unsafe { std::ffi::CStr::from_ptr(crate::error::ee_last_error()) }
                .to_string_lossy()
                .into_owned()
        });
        Err(EngineError::PluginExecutionError(
            name.clone(),
            id.clone(),
            if message.is_empty() {
                format!("the callback returned {status}")
            } else {
                format!("the callback returned {status}: {message}")
            },
        ))
    }
}

/// Publishes one event onto the bus: `len` bytes at `data`, its filter first (an empty event is
/// `EE_INVALID_ARGUMENT`). Waits while the bus is full; `EE_STOPPED` once the engine stops.
#[no_mangle]
pub extern "C" fn ee_plugin_ctx_publish(
    ctx: *mut ee_plugin_ctx_t,
    data: *const u8,
    len: usize,
) -> ee_status_t {
    guard(|| {
        let ctx = handle_mut(ctx, "ctx")?;
        let bytes = bytes_arg(data, len, "data")?;
        if bytes.is_empty() {
            return Err(Failure::invalid("an event cannot be empty"));
        }
        ctx.pub_socket
            .send(bytes, 0)
            .map_err(|e| ctx.zmq_failure(e, "publish"))
    })
}

/// The next event the plugin subscribed to, waiting at most `timeout_ms` milliseconds
/// (negative: until one arrives). Sets `*event` to a new event to release with
/// `ee_event_free`, or to NULL when none came in time (`EE_OK`). `EE_STOPPED` once the engine
/// stops.
#[no_mangle]
pub extern "C" fn ee_plugin_ctx_recv(
    ctx: *mut ee_plugin_ctx_t,
    timeout_ms: i64,
    event: *mut *mut ee_event_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(event, "event")?;
        let ctx = handle_mut(ctx, "ctx")?;
        let wait = if timeout_ms < 0 { -1 } else { timeout_ms };
        let ready = ctx
            .sub_socket
            .poll(zmq::POLLIN, wait)
            .map_err(|e| ctx.zmq_failure(e, "recv"))?;
        if ready == 0 {
            return Ok(());
        }
        let data = ctx
            .sub_socket
            .recv_bytes(0)
            .map_err(|e| ctx.zmq_failure(e, "recv"))?;
        ctx.received += 1;
        *slot = into_handle(ee_event_t {
            seq: ctx.received,
            data: crate::event::EventData::Bytes(data),
            redelivered: false,
        });
        Ok(())
    })
}

/// The plugin's name. The string belongs to the context.
#[no_mangle]
pub extern "C" fn ee_plugin_ctx_name(
    ctx: *const ee_plugin_ctx_t,
    name: *mut *const c_char,
) -> ee_status_t {
    guard(|| {
        let ctx = handle(ctx, "ctx")?;
        *out(name, "name")? = ctx.name.as_ptr();
        Ok(())
    })
}

/// Sets the message the run report gives if the callback then returns a failing status.
#[no_mangle]
pub extern "C" fn ee_plugin_ctx_set_error(
    ctx: *mut ee_plugin_ctx_t,
    message: *const c_char,
) -> ee_status_t {
    guard(|| {
        let ctx = handle_mut(ctx, "ctx")?;
        let message = str_arg(message, "message")?;
        ctx.error = Some(message.to_string());
        Ok(())
    })
}
