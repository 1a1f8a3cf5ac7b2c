//! `kinds.js`, the table of error kinds of the JavaScript package, generated from the SDK core's
//! [`ErrorKind`] table. `errors.js` gives each kind its class; `tsc --strict` (the package's
//! tests) fails when a kind of this table has none.
//!
//! The committed `kinds.js` is compared with a fresh rendering by this crate's tests:
//! `cargo test -p event-engine-node` fails when it is stale, and
//! `EE_UPDATE_GENERATED=1 cargo test -p event-engine-node` writes it anew.

use std::fmt::Write;

use event_engine_client::ErrorKind;

/// The text of `kinds.js`.
pub fn render() -> String {
    let mut js = String::from(
        "'use strict';\n\
         // Generated from the Rust client's table of error kinds (event_engine_client::ErrorKind)\n\
         // by bindings/node/src/kinds.rs: do not edit. `cargo test -p event-engine-node` fails when\n\
         // it is stale; `EE_UPDATE_GENERATED=1 cargo test -p event-engine-node` writes it anew.\n\n\
         /** Every error kind of the SDK, by name: its stable number and string code, the same in every SDK. */\n\
         const KINDS = Object.freeze(\n  /** @type {const} */ ({\n",
    );
    for k in ErrorKind::ALL {
        let _ = writeln!(
            js,
            "    /** {} */\n    {}: {{ number: {}, code: '{}' }},",
            k.summary(),
            k.name(),
            k.number(),
            k.code()
        );
    }
    js.push_str(
        "  }),\n);\n\n\
         /** Stable string codes of the errors, by kind. */\n\
         const ErrorCodes = Object.freeze(\n  /** @type {const} */ ({\n",
    );
    for k in ErrorKind::ALL {
        let _ = writeln!(js, "    {}: '{}',", k.name().to_ascii_uppercase(), k.code());
    }
    js.push_str("  }),\n);\n\nmodule.exports = { KINDS, ErrorCodes };\n");
    js
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_js_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kinds.js");
        let fresh = render();
        if std::env::var("EE_UPDATE_GENERATED").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "bindings/node/kinds.js is out of date with event_engine_client::ErrorKind: run \
             `EE_UPDATE_GENERATED=1 cargo test -p event-engine-node` and commit the result"
        );
    }
}
