//! A started application: `ee_running_t` over [`event_engine::RunningApp`].

use std::ffi::c_char;
use std::sync::Mutex;

use event_engine::{RunningApp, StopHandle};

use crate::error::{ee_status_t, guard, guard_value, Failure, Result};
use crate::info::ee_plugin_stats_t;
use crate::report::{ee_report_t, finish};
use crate::util::{free_handle, handle, out, str_arg, write_opt};

/// A started application: its bound ports, a stop switch, and the wait for its end. Made by
/// `ee_app_start`, released by `ee_running_free` (which stops the run and waits for it if
/// `ee_running_wait` was not called). `ee_running_stop` may be called from any thread, also
/// while another thread waits.
pub struct ee_running_t {
    stop: StopHandle,
    publish_port: u16,
    subscribe_port: u16,
    externals: Vec<(String, u16)>,
    app: Mutex<Option<RunningApp>>,
}

impl ee_running_t {
    pub(crate) fn new(app: RunningApp) -> Self {
        ee_running_t {
            stop: app.stop_handle(),
            publish_port: app.publish_port(),
            subscribe_port: app.subscribe_port(),
            externals: app
                .external_plugins()
                .iter()
                .map(|e| (e.name.clone(), e.port))
                .collect(),
            app: Mutex::new(Some(app)),
        }
    }

    fn take(&self) -> Result<RunningApp> {
        self.app
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(waited)
    }
}

fn waited() -> Failure {
    Failure::new(ee_status_t::EE_BAD_STATE, "this run was already waited for")
}

/// The bound TCP ports of the bus: where unregistered processes publish and subscribe (the real
/// ones when the app asked for 0). Either pointer may be NULL.
#[no_mangle]
pub extern "C" fn ee_running_ports(
    running: *const ee_running_t,
    publish_port: *mut u16,
    subscribe_port: *mut u16,
) -> ee_status_t {
    guard(|| {
        let r = handle(running, "running")?;
        write_opt(publish_port, r.publish_port);
        write_opt(subscribe_port, r.subscribe_port);
        Ok(())
    })
}

/// The bound TCP port of the (first) external plugin called `name`: what its process connects
/// to. `EE_NOT_FOUND` when no external plugin has that name.
#[no_mangle]
pub extern "C" fn ee_running_external_port(
    running: *const ee_running_t,
    name: *const c_char,
    port: *mut u16,
) -> ee_status_t {
    guard(|| {
        let r = handle(running, "running")?;
        let name = str_arg(name, "name")?;
        let slot = out(port, "port")?;
        let (_, p) = r.externals.iter().find(|(n, _)| n == name).ok_or_else(|| {
            Failure::new(
                ee_status_t::EE_NOT_FOUND,
                format!("no external plugin is called '{name}'"),
            )
        })?;
        *slot = *p;
        Ok(())
    })
}

/// The live protocol counters of the external plugin called `name` (`EE_NOT_FOUND` when none
/// is; `EE_BAD_STATE` once the run is being waited for: the report has the final counters).
/// `*events_forwarded` (may be NULL) gets how many events the bus has forwarded so far.
#[no_mangle]
pub extern "C" fn ee_running_plugin_stats(
    running: *const ee_running_t,
    name: *const c_char,
    stats: *mut ee_plugin_stats_t,
    events_forwarded: *mut u64,
) -> ee_status_t {
    guard(|| {
        let r = handle(running, "running")?;
        let name = str_arg(name, "name")?;
        let slot = out(stats, "stats")?;
        let guard = r.app.lock().unwrap_or_else(|p| p.into_inner());
        let app = guard.as_ref().ok_or_else(waited)?;
        let now = app.stats();
        let s = now
            .external_plugins
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                Failure::new(
                    ee_status_t::EE_NOT_FOUND,
                    format!("no external plugin is called '{name}'"),
                )
            })?;
        *slot = ee_plugin_stats_t::from(s);
        write_opt(events_forwarded, now.events_forwarded);
        Ok(())
    })
}

/// Asks the application to stop: internal plugins' calls return `EE_STOPPED`, external
/// plugins' ports close, and `ee_running_wait` returns. Returns at once; idempotent; safe from
/// any thread.
#[no_mangle]
pub extern "C" fn ee_running_stop(running: *const ee_running_t) -> ee_status_t {
    guard(|| {
        handle(running, "running")?.stop.stop();
        Ok(())
    })
}

/// Waits until every plugin is done and the engine has shut down (its ports are free); the
/// result is as for `ee_app_run`, `*report` included. A second wait gives `EE_BAD_STATE`.
#[no_mangle]
pub extern "C" fn ee_running_wait(
    running: *const ee_running_t,
    report: *mut *mut ee_report_t,
) -> ee_status_t {
    guard(|| {
        write_opt(report, std::ptr::null_mut());
        let r = handle(running, "running")?;
        let app = r.take()?;
        finish(app.wait(), report)
    })
}

/// Releases a running application; if it was not waited for, stops it and waits for it first.
/// NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_running_free(running: *mut ee_running_t) {
    guard_value((), || free_handle(running))
}
