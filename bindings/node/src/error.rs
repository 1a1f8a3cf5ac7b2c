//! Client errors as JavaScript `Error` objects.
//!
//! A failed call rejects with an `Error` whose message is the client's, plus these properties
//! (the JavaScript wrapper turns it into the matching `EventEngineError` subclass):
//!
//! | property | value |
//! |---|---|
//! | `code` | `EE_` and the kind in upper case, e.g. `EE_DISCONNECTED` |
//! | `codeNumber` | the kind's stable number (1 to 7, [`ErrorKind::number`]) |
//! | `kind` | the stable snake_case name, e.g. `disconnected` |
//! | `wireCode`, `wireCodeNumber` | for protocol errors, the engine's error code (`bad_sequence`, 7) |
//! | `endpoint`, `waitedMs`, `attempts` | for `disconnected` errors |

use event_engine_client::{Error as ClientError, ErrorKind};
use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};

/// The stable string code of a kind (the SDK core's: `EE_` and its name in upper case).
pub fn code_of(kind: ErrorKind) -> String {
    kind.code()
}

/// A JavaScript error for a client error; its properties are listed in the module's docs.
pub fn to_js_error(env: &Env, e: &ClientError) -> napi::Error {
    match build(env, e) {
        Ok(err) => err,
        // Creating the object failed (out of memory?): keep the message and the code.
        Err(_) => napi::Error::new(
            Status::GenericFailure,
            format!("{}: {e}", code_of(e.kind())),
        ),
    }
}

fn build(env: &Env, e: &ClientError) -> napi::Result<napi::Error> {
    let kind = e.kind();
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
    obj.set_named_property("code", code_of(kind))?;
    obj.set_named_property("codeNumber", e.code())?;
    obj.set_named_property("kind", kind.name())?;
    if let Some(w) = e.wire_code() {
        obj.set_named_property("wireCode", w.as_str())?;
        obj.set_named_property("wireCodeNumber", w as u32)?;
    }
    if let ClientError::Disconnected {
        endpoint,
        waited_ms,
        attempts,
        ..
    } = e
    {
        obj.set_named_property("endpoint", endpoint.as_str())?;
        obj.set_named_property("waitedMs", *waited_ms as f64)?;
        obj.set_named_property("attempts", *attempts)?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_kind_names() {
        assert_eq!(code_of(ErrorKind::Disconnected), "EE_DISCONNECTED");
        assert_eq!(code_of(ErrorKind::UnexpectedReply), "EE_UNEXPECTED_REPLY");
        assert_eq!(code_of(ErrorKind::InvalidArgument), "EE_INVALID_ARGUMENT");
    }
}
