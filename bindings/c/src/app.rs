//! Hosting the engine: `ee_app_t` over [`event_engine::App`].

use std::ffi::{c_char, c_void};
use std::time::Duration;

use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::uuid::Uuid;
use event_engine::App;

use crate::error::{ee_status_t, guard, guard_value, Failure, Result};
use crate::event::ee_bytes_t;
use crate::plugin::{ee_plugin_fn_t, run_callback};
use crate::report::{ee_report_t, finish};
use crate::running::ee_running_t;
use crate::util::{array_arg, free_handle, handle_mut, into_handle, out_handle, str_arg};

/// An application being declared: bus settings and plugins. Made by `ee_app_new`, run by
/// `ee_app_run` or `ee_app_start` (after which it can only be freed), released by
/// `ee_app_free`.
pub struct ee_app_t {
    app: Option<App>,
}

impl ee_app_t {
    fn app(&mut self) -> Result<&mut App> {
        self.app.as_mut().ok_or_else(|| {
            Failure::new(
                ee_status_t::EE_BAD_STATE,
                "this app was already run or started; make a new one",
            )
        })
    }

    fn take(&mut self) -> Result<App> {
        self.app()?;
        self.app.take().ok_or_else(|| Failure::invalid("no app"))
    }

    fn update(&mut self, f: impl FnOnce(App) -> App) -> Result<()> {
        let app = self.take()?;
        self.app = Some(f(app));
        Ok(())
    }
}

fn filters(subscriptions: *const ee_bytes_t, count: usize) -> Result<Vec<Filter>> {
    array_arg(subscriptions, count, "subscriptions")?
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let bytes = b.as_slice(&format!("subscriptions[{i}].data"))?;
            let name = String::from_utf8_lossy(bytes).into_owned();
            Ok(Filter::bytes(name, bytes.to_vec()))
        })
        .collect()
}

fn plugin_name(name: *const c_char) -> Result<&'static str> {
    let name = str_arg(name, "name")?;
    if name.is_empty() {
        return Err(Failure::invalid("a plugin name must not be empty"));
    }
    Ok(name)
}

/// Sets `*app` to a new application whose bus listens on `publish_port` (where unregistered
/// processes publish) and `subscribe_port` (where they subscribe) on 127.0.0.1; 0 picks free
/// ports (read them back with `ee_running_ports`). Ports are checked when the app starts.
#[no_mangle]
pub extern "C" fn ee_app_new(
    publish_port: i32,
    subscribe_port: i32,
    app: *mut *mut ee_app_t,
) -> ee_status_t {
    guard(|| {
        let slot = out_handle(app, "app")?;
        // C hosts are new applications, not 0.2 ones: the first failure stops the others (the
        // Rust API's App::new keeps 0.2's default). A stop waits at most 2 s for plugins.
        *slot = into_handle(ee_app_t {
            app: Some(App::new(publish_port, subscribe_port).stop_on_failure(true)),
        });
        Ok(())
    })
}

/// Listens on `address` instead of 127.0.0.1 (`"0.0.0.0"` for every interface); checked when
/// the app starts (`EE_CONFIG`).
#[no_mangle]
pub extern "C" fn ee_app_set_bind_address(
    app: *mut ee_app_t,
    address: *const c_char,
) -> ee_status_t {
    guard(|| {
        let a = handle_mut(app, "app")?;
        let address = str_arg(address, "address")?.to_string();
        a.update(|app| app.bind_address(address))
    })
}

/// Sets the high-water mark, in events, of every queue on the bus (default 1000; at least 1,
/// checked when the app starts). A full queue makes its publisher wait.
#[no_mangle]
pub extern "C" fn ee_app_set_high_water_mark(app: *mut ee_app_t, events: i32) -> ee_status_t {
    guard(|| handle_mut(app, "app")?.update(|app| app.high_water_mark(events)))
}

/// Holds every plugin until a process has connected to each external plugin's port, for at most
/// `timeout_ms` milliseconds (then the run fails with `EE_NOT_CONNECTED`); negative: do not wait
/// (the default).
#[no_mangle]
pub extern "C" fn ee_app_set_wait_for_external(app: *mut ee_app_t, timeout_ms: i64) -> ee_status_t {
    guard(|| {
        let a = handle_mut(app, "app")?;
        let wait = crate::util::timeout_arg(timeout_ms);
        a.app()?.config_mut().wait_for_external = wait;
        Ok(())
    })
}

/// Sets the longest wait, in milliseconds, for every plugin's subscriptions to reach the bus
/// before plugins start (default 10000; at least 1, checked when the app starts).
#[no_mangle]
pub extern "C" fn ee_app_set_setup_timeout(app: *mut ee_app_t, timeout_ms: u64) -> ee_status_t {
    guard(|| {
        handle_mut(app, "app")?.update(|app| app.setup_timeout(Duration::from_millis(timeout_ms)))
    })
}

/// Whether the first failing plugin stops the others (default true).
#[no_mangle]
pub extern "C" fn ee_app_set_stop_on_failure(app: *mut ee_app_t, stop: bool) -> ee_status_t {
    guard(|| handle_mut(app, "app")?.update(|app| app.stop_on_failure(stop)))
}

/// Sets the most events an external plugin may hold delivered but unacknowledged (default
/// 100000; at least 1, checked when the app starts).
#[no_mangle]
pub extern "C" fn ee_app_set_max_pending(app: *mut ee_app_t, events: usize) -> ee_status_t {
    guard(|| {
        handle_mut(app, "app")?.app()?.config_mut().max_pending = events;
        Ok(())
    })
}

/// Registers an external plugin: a process (in any language) that connects to TCP `port` (0:
/// any free port, read back with `ee_running_external_port`) and receives the events whose
/// first bytes are one of the `count` `subscriptions` (byte prefixes; an empty one matches every
/// event). The library copies the name and the filters.
#[no_mangle]
pub extern "C" fn ee_app_add_external_plugin(
    app: *mut ee_app_t,
    name: *const c_char,
    port: i32,
    subscriptions: *const ee_bytes_t,
    count: usize,
) -> ee_status_t {
    guard(|| {
        let a = handle_mut(app, "app")?;
        a.app()?;
        let name = plugin_name(name)?;
        let mut spec = ExternalPluginSpec::new(name, port);
        for f in filters(subscriptions, count)? {
            spec = spec.subscribe(f);
        }
        a.update(|app| app.with_external_plugin(spec))
    })
}

/// Registers an internal plugin written in C: `start` is called once, on the plugin's own
/// thread, with a context and `user_data` (which the library never reads; it must stay valid
/// until the run ends and be safe to use from that thread). The plugin receives the events whose
/// first bytes are one of the `count` `subscriptions`. See `ee_plugin_fn_t`.
#[no_mangle]
pub extern "C" fn ee_app_add_plugin(
    app: *mut ee_app_t,
    name: *const c_char,
    subscriptions: *const ee_bytes_t,
    count: usize,
    start: ee_plugin_fn_t,
    user_data: *mut c_void,
) -> ee_status_t {
    guard(|| {
        let a = handle_mut(app, "app")?;
        a.app()?;
        let name = plugin_name(name)?;
        let start = start.ok_or_else(|| Failure::null("start"))?;
        let id = Uuid::new_v4();
        let mut plugin =
            FnPlugin::new(name, run_callback(name, &id.to_string(), start, user_data)).with_id(id);
        for f in filters(subscriptions, count)? {
            plugin = plugin.subscribe(f);
        }
        a.update(|app| app.with_plugin(plugin))
    })
}

/// Runs the application and returns when every plugin is done and the engine has shut down
/// (its ports are free). Returns `EE_OK` when no plugin failed, `EE_PLUGINS_FAILED` naming the
/// failures in `ee_last_error()`, or the engine's error when it could not run (`EE_CONFIG`,
/// `EE_BIND`, `EE_NOT_CONNECTED`, ...). `*report` (when `report` is not NULL) gets the run's
/// report whenever the engine ran, to release with `ee_report_free`; NULL otherwise. The app
/// can only be freed afterwards.
#[no_mangle]
pub extern "C" fn ee_app_run(app: *mut ee_app_t, report: *mut *mut ee_report_t) -> ee_status_t {
    guard(|| {
        crate::util::write_opt(report, std::ptr::null_mut());
        let a = handle_mut(app, "app")?;
        let app = a.take()?;
        finish(app.run_with_report(), report)
    })
}

/// Binds every port and starts the application in the background; returns at once with
/// `*running` set to a handle (NULL on failure) that reads the bound ports, stops the run and
/// waits for it. Errors of the engine's set-up (`EE_CONFIG`, `EE_BIND`, ...) are returned here.
/// The app can only be freed afterwards.
#[no_mangle]
pub extern "C" fn ee_app_start(app: *mut ee_app_t, running: *mut *mut ee_running_t) -> ee_status_t {
    guard(|| {
        let slot = out_handle(running, "running")?;
        let a = handle_mut(app, "app")?;
        let started = a.take()?.start()?;
        *slot = into_handle(ee_running_t::new(started));
        Ok(())
    })
}

/// Releases an application (started or not; a started one runs on, owned by its
/// `ee_running_t`). NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_app_free(app: *mut ee_app_t) {
    guard_value((), || free_handle(app))
}
