//! Connection options and time-outs given in milliseconds from JavaScript.

use std::time::Duration;

use event_engine_client::{ClientOptions, Error as ClientError, Result as ClientResult};
use napi_derive::napi;

use crate::error::invalid;

/// Time-outs at or above this many milliseconds (about 31 years) mean "no limit": the client
/// adds them to `Instant::now()`, which must not overflow.
pub const FOREVER_MS: f64 = 1e12;

/// Longest setting accepted by [`NativeOptions`]: 2^31 - 1 ms (about 24.8 days), as Node's timers.
pub const MAX_OPTION_MS: f64 = 2_147_483_647.0;

/// Settings of a connection; every field is optional (the client's defaults apply).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeOptions {
    /// How long to wait for a reply beyond what the engine was asked to wait (default 5000).
    pub reply_timeout_ms: Option<f64>,
    /// How many times a request safe to repeat is sent again on a fresh connection (default 3).
    pub retries: Option<u32>,
    /// First pause before reconnecting, doubled up to `maxBackoffMs` (default 100).
    pub reconnect_backoff_ms: Option<f64>,
    /// Longest pause between reconnects (default 2000).
    pub max_backoff_ms: Option<f64>,
    /// How long a publish may wait for the engine (backpressure); `null` waits as long as it
    /// takes (default 30000).
    pub publish_timeout_ms: Option<Option<f64>>,
    /// How often a blocking call looks for a cancellation (default 100).
    pub poll_slice_ms: Option<f64>,
    /// Longest wait the engine is asked for in one request (default 1000).
    pub long_poll_ms: Option<f64>,
}

/// A setting in milliseconds: finite, 0 to [`MAX_OPTION_MS`].
fn setting(name: &str, ms: f64) -> ClientResult<Duration> {
    if !ms.is_finite() || !(0.0..=MAX_OPTION_MS).contains(&ms) {
        return Err(invalid(format!(
            "{name} must be a number of milliseconds from 0 to {MAX_OPTION_MS} (got {ms})"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

impl NativeOptions {
    /// The client's options: its defaults, with what is set here.
    pub fn to_client(&self) -> ClientResult<ClientOptions> {
        let mut o = ClientOptions::default();
        if let Some(ms) = self.reply_timeout_ms {
            o.reply_timeout = setting("replyTimeoutMs", ms)?;
        }
        if let Some(n) = self.retries {
            o.retries = n;
        }
        if let Some(ms) = self.reconnect_backoff_ms {
            o.reconnect_backoff = setting("reconnectBackoffMs", ms)?;
        }
        if let Some(ms) = self.max_backoff_ms {
            o.max_backoff = setting("maxBackoffMs", ms)?;
        }
        if let Some(publish) = self.publish_timeout_ms {
            o.publish_timeout = publish
                .map(|ms| setting("publishTimeoutMs", ms))
                .transpose()?;
        }
        if let Some(ms) = self.poll_slice_ms {
            o.poll_slice = setting("pollSliceMs", ms)?;
        }
        if let Some(ms) = self.long_poll_ms {
            o.long_poll = setting("longPollMs", ms)?;
        }
        if o.poll_slice.is_zero() || o.long_poll.is_zero() {
            return Err(ClientError::InvalidArgument(
                "pollSliceMs and longPollMs must be longer than zero".into(),
            ));
        }
        Ok(o)
    }
}

/// A receive time-out: `None` (JavaScript `undefined`/`null`), `Infinity` or anything from
/// [`FOREVER_MS`] up waits with no limit; otherwise a finite number of milliseconds from 0.
pub fn timeout(ms: Option<f64>) -> ClientResult<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if ms.is_nan() || ms < 0.0 => Err(invalid(format!(
            "timeoutMs must be a number of milliseconds from 0 (got {ms})"
        ))),
        Some(ms) if ms >= FOREVER_MS => Ok(None),
        Some(ms) => Ok(Some(Duration::from_secs_f64(ms / 1000.0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_engine_client::ErrorKind;

    #[test]
    fn timeouts() {
        assert_eq!(timeout(None).ok(), Some(None));
        assert_eq!(timeout(Some(f64::INFINITY)).ok(), Some(None));
        assert_eq!(timeout(Some(1e300)).ok(), Some(None));
        assert_eq!(timeout(Some(0.0)).ok(), Some(Some(Duration::ZERO)));
        assert_eq!(
            timeout(Some(250.0)).ok(),
            Some(Some(Duration::from_millis(250)))
        );
        for bad in [-1.0, f64::NAN, f64::NEG_INFINITY] {
            let e = timeout(Some(bad)).err().map(|e| e.kind());
            assert_eq!(e, Some(ErrorKind::InvalidArgument), "{bad}");
        }
    }

    #[test]
    fn options() {
        let defaults = NativeOptions::default().to_client().ok();
        assert_eq!(defaults, Some(ClientOptions::default()));
        let o = NativeOptions {
            reply_timeout_ms: Some(200.0),
            retries: Some(0),
            publish_timeout_ms: Some(None),
            ..Default::default()
        }
        .to_client()
        .ok();
        assert_eq!(
            o.as_ref()
                .map(|o| (o.reply_timeout, o.retries, o.publish_timeout)),
            Some((Duration::from_millis(200), 0, None))
        );
        for bad in [
            NativeOptions {
                reply_timeout_ms: Some(-5.0),
                ..Default::default()
            },
            NativeOptions {
                poll_slice_ms: Some(0.0),
                ..Default::default()
            },
            NativeOptions {
                long_poll_ms: Some(f64::INFINITY),
                ..Default::default()
            },
        ] {
            let kind = bad.to_client().err().map(|e| e.kind());
            assert_eq!(kind, Some(ErrorKind::InvalidArgument), "{bad:?}");
        }
    }
}
