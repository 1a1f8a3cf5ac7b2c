//! The report of a run: `ee_report_t` over [`event_engine::RunReport`].

use std::ffi::{c_char, CString};

use event_engine::errors::EngineError;
use event_engine::{Outcome, PluginKind, RunReport};

use crate::error::{ee_status_t, guard, guard_value, Failure, Result};
use crate::info::ee_plugin_stats_t;
use crate::util::{c_string, free_handle, handle, into_handle, out, write_opt};

/// How a plugin's run ended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ee_outcome_t {
    /// It finished: its callback returned `EE_OK`, or its process sent `quit`.
    EE_OUTCOME_FINISHED = 0,
    /// It failed (its callback returned an error status); `details` says why.
    EE_OUTCOME_FAILED = 1,
    /// The engine stopped it (`ee_running_stop`, or another plugin's failure).
    EE_OUTCOME_STOPPED = 2,
    /// It never started (the app stopped before the start barrier).
    EE_OUTCOME_NOT_STARTED = 3,
}

/// Whether a plugin was internal (a callback in the application) or external (a process).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ee_plugin_kind_t {
    /// A callback registered with `ee_app_add_plugin`.
    EE_PLUGIN_INTERNAL = 0,
    /// A process registered with `ee_app_add_external_plugin`.
    EE_PLUGIN_EXTERNAL = 1,
}

/// One plugin of a report, filled by `ee_report_plugin`. Its strings belong to the report.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ee_plugin_report_t {
    /// The plugin's name.
    pub name: *const c_char,
    /// The plugin's id (a UUID).
    pub id: *const c_char,
    /// Internal or external.
    pub kind: ee_plugin_kind_t,
    /// How its run ended.
    pub outcome: ee_outcome_t,
    /// Why it failed or how it stopped; `""` when it finished.
    pub details: *const c_char,
    /// Whether `stats` is filled (external plugins only).
    pub has_stats: bool,
    /// An external plugin's protocol counters.
    pub stats: ee_plugin_stats_t,
}

/// The whole run, filled by `ee_report_summary`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ee_report_summary_t {
    /// How many plugins the report lists (internal plugins first, in registration order).
    pub plugin_count: usize,
    /// How many of them failed.
    pub failed_count: usize,
    /// Events the bus forwarded.
    pub events_forwarded: u64,
    /// Events not sent to slow TCP subscribers (registered plugins never lose events).
    pub tcp_dropped: u64,
    /// Whether `ee_running_stop` ended the run.
    pub stop_requested: bool,
    /// From the start of the run to the end of shutdown, in milliseconds.
    pub duration_ms: u64,
}

struct PluginStrings {
    name: CString,
    id: CString,
    details: CString,
}

/// What happened in a run. Made by `ee_app_run` or `ee_running_wait`, released by
/// `ee_report_free`.
pub struct ee_report_t {
    report: RunReport,
    strings: Vec<PluginStrings>,
    text: CString,
}

impl ee_report_t {
    fn new(report: RunReport) -> Self {
        let strings = report
            .plugins
            .iter()
            .map(|p| PluginStrings {
                name: c_string(&p.name),
                id: c_string(&p.id.to_string()),
                details: c_string(match &p.outcome {
                    Outcome::Failed(f) => &f.details,
                    Outcome::Stopped(why) => why,
                    Outcome::Finished | Outcome::NotStarted => "",
                }),
            })
            .collect();
        let text = c_string(&report.to_string());
        ee_report_t {
            report,
            strings,
            text,
        }
    }
}

/// Turns the end of a run into the C result: the report (when the engine ran) into
/// `*report_out` if the caller wants it, and `EE_PLUGINS_FAILED` when a plugin failed.
pub(crate) fn finish(
    result: std::result::Result<RunReport, EngineError>,
    report_out: *mut *mut ee_report_t,
) -> Result<()> {
    let report = result?;
    let outcome = report.result();
    if !report_out.is_null() {
        write_opt(report_out, into_handle(ee_report_t::new(report)));
    }
    outcome.map_err(Failure::from)
}

/// Fills `*summary` with the run's totals.
#[no_mangle]
pub extern "C" fn ee_report_summary(
    report: *const ee_report_t,
    summary: *mut ee_report_summary_t,
) -> ee_status_t {
    guard(|| {
        let r = &handle(report, "report")?.report;
        *out(summary, "summary")? = ee_report_summary_t {
            plugin_count: r.plugins.len(),
            failed_count: r.failures().len(),
            events_forwarded: r.events_forwarded,
            tcp_dropped: r.tcp_dropped,
            stop_requested: r.stop_requested,
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
        };
        Ok(())
    })
}

/// Fills `*plugin` with the plugin at `index` (from 0; internal plugins first, then external
/// ones, each in registration order). An index past the end gives `EE_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ee_report_plugin(
    report: *const ee_report_t,
    index: usize,
    plugin: *mut ee_plugin_report_t,
) -> ee_status_t {
    guard(|| {
        let r = handle(report, "report")?;
        let slot = out(plugin, "plugin")?;
        let (p, s) = r
            .report
            .plugins
            .get(index)
            .zip(r.strings.get(index))
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "index {index} is past the end of {} plugin(s)",
                    r.report.plugins.len()
                ))
            })?;
        *slot = ee_plugin_report_t {
            name: s.name.as_ptr(),
            id: s.id.as_ptr(),
            kind: match p.kind {
                PluginKind::Internal => ee_plugin_kind_t::EE_PLUGIN_INTERNAL,
                PluginKind::External => ee_plugin_kind_t::EE_PLUGIN_EXTERNAL,
            },
            outcome: match p.outcome {
                Outcome::Finished => ee_outcome_t::EE_OUTCOME_FINISHED,
                Outcome::Failed(_) => ee_outcome_t::EE_OUTCOME_FAILED,
                Outcome::Stopped(_) => ee_outcome_t::EE_OUTCOME_STOPPED,
                Outcome::NotStarted => ee_outcome_t::EE_OUTCOME_NOT_STARTED,
            },
            details: s.details.as_ptr(),
            has_stats: p.stats.is_some(),
            stats: p
                .stats
                .as_ref()
                .map(ee_plugin_stats_t::from)
                .unwrap_or_default(),
        };
        Ok(())
    })
}

/// The report as text for humans (one line per plugin). The string belongs to the report.
#[no_mangle]
pub extern "C" fn ee_report_text(
    report: *const ee_report_t,
    text: *mut *const c_char,
) -> ee_status_t {
    guard(|| {
        let r = handle(report, "report")?;
        *out(text, "text")? = r.text.as_ptr();
        Ok(())
    })
}

/// Releases a report. NULL is ignored.
#[no_mangle]
pub extern "C" fn ee_report_free(report: *mut ee_report_t) {
    guard_value((), || free_handle(report))
}
