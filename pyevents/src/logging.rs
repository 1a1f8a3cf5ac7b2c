//! What the Rust side logs (the `log` facade: `event-engine-client`) goes to Python's `logging`,
//! under the logger `pyevents` and its children (`pyevents.client` for the client crate).
//!
//! The bridge is `pyo3-log`, caching the Python loggers but not their levels: a level set at
//! any time (`logging.getLogger("pyevents").setLevel(logging.DEBUG)`) takes effect at once. The
//! client logs rarely (a reconnection, an engine that restarted), so asking Python for the level
//! of each record that passes the Rust filter (debug and above) costs nothing that matters.
//! Nothing is configured on the Python side: at Python's default level (WARNING), debug records
//! are dropped and warnings reach the last-resort handler (stderr) as any library's do.

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

/// The Python logger every record goes under.
pub const ROOT: &str = "pyevents";

/// The Python logger name (with `::` separators, as `pyo3-log` takes it) of a Rust log target:
/// `event_engine_client::client` becomes `pyevents::client`, anything else
/// `pyevents::<target>`.
pub fn python_target(target: &str) -> String {
    let rest = target
        .strip_prefix("event_engine_client")
        .and_then(|r| {
            if r.is_empty() {
                Some("client")
            } else {
                r.strip_prefix("::")
            }
        })
        .map(|r| {
            if r == "client" || r.starts_with("client::") {
                r.to_string()
            } else {
                format!("client::{r}")
            }
        })
        .unwrap_or_else(|| target.to_string());
    format!("{ROOT}::{rest}")
}

/// `pyo3_log::Logger` under the names of [`python_target`], never attaching to an interpreter
/// that is shutting down, and never leaving a Python exception behind (a failing handler's
/// error is reported as unraisable, as Python does for errors it cannot raise).
struct Bridge(pyo3_log::Logger);

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let target = python_target(metadata.target());
        let renamed = Metadata::builder()
            .level(metadata.level())
            .target(&target)
            .build();
        self.0.enabled(&renamed)
    }

    fn log(&self, record: &Record<'_>) {
        let target = python_target(record.target());
        // `None`: the interpreter is finalizing; the record is dropped.
        let _ = Python::try_attach(|py| {
            let earlier = PyErr::take(py);
            self.0.log(
                &Record::builder()
                    .args(*record.args())
                    .level(record.level())
                    .target(&target)
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .build(),
            );
            if let Some(e) = PyErr::take(py) {
                e.write_unraisable(py, None);
            }
            if let Some(e) = earlier {
                e.restore(py);
            }
        });
    }

    fn flush(&self) {}
}

/// Installs the bridge as the process's `log` logger (once; a logger installed before, by
/// another extension module of the process, is kept).
pub fn install(py: Python<'_>) -> PyResult<()> {
    let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?.filter(LevelFilter::Debug);
    if log::set_boxed_logger(Box::new(Bridge(logger))).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::python_target;

    #[test]
    fn targets_go_under_pyevents() {
        assert_eq!(
            python_target("event_engine_client::client"),
            "pyevents::client"
        );
        assert_eq!(python_target("event_engine_client"), "pyevents::client");
        assert_eq!(
            python_target("event_engine_client::batch"),
            "pyevents::client::batch"
        );
        assert_eq!(
            python_target("event_engine_client::client::x"),
            "pyevents::client::x"
        );
        assert_eq!(python_target("zmq"), "pyevents::zmq");
        assert_eq!(
            python_target("event_engine_clientele"),
            "pyevents::event_engine_clientele"
        );
    }
}
