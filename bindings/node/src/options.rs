//! Connection options and time-outs given in milliseconds from JavaScript.

use std::time::Duration;

use event_engine_client::options::{self, Spelling, Unit};
use event_engine_client::{ClientOptions, Result as ClientResult, Target};
use napi_derive::napi;

/// Where to connect; every field is optional, and the SDK core's rule decides
/// ([`Target::resolve`]: an endpoint, else a port on a host, else the launch environment).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeTarget {
    /// The plugin's TCP port on the engine (1 to 65535). Default: `$EE_PLUGIN_ENDPOINT`, else
    /// `$EE_PLUGIN_PORT` (what `event-engine run` sets for the plugins it launches).
    pub port: Option<f64>,
    /// The engine's host (default `127.0.0.1`); IPv6 addresses may be given bare. With a host
    /// and no port, the port is `$EE_PLUGIN_PORT`.
    pub host: Option<String>,
    /// A full endpoint instead of `host` and `port`, e.g. `tcp://10.0.0.5:6000`.
    pub endpoint: Option<String>,
}

impl NativeTarget {
    /// The SDK core's target.
    pub fn to_target(&self) -> ClientResult<Target> {
        Ok(Target {
            port: self
                .port
                .map(|p| options::port(p).map(i64::from))
                .transpose()?,
            host: self.host.clone(),
            endpoint: self.endpoint.clone(),
        })
    }
}

/// Settings of a connection; every field is optional (the client's defaults apply).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeOptions {
    /// How long to wait for a reply beyond what the engine was asked to wait (default 5000).
    pub reply_timeout_ms: Option<f64>,
    /// How many times a request safe to repeat is sent again on a fresh connection (default 3).
    pub retries: Option<f64>,
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
    /// Most bytes of event data one receive takes, 1 to 2^40 (default 67108864, 64 MiB): a batch
    /// stops at `max` events or this many bytes; a single larger event comes alone.
    pub max_batch_bytes: Option<f64>,
    /// The credential the plugin's port admits (`docs/security.md`), as text; by default the one
    /// `event-engine run` passes (`EE_PLUGIN_TOKEN`, `EE_PLUGIN_TOKEN_FILE`), if any.
    pub token: Option<String>,
    /// A file whose first line is that token (not with `token`).
    pub token_file: Option<String>,
    /// CURVE instead of a token (a CURVE port, `docs/security.md`): the engine's public key,
    /// 40 characters of Z85, with `curveSecretKey` or `curveSecretKeyFile`. Needs a build whose
    /// libzmq has CURVE; by default the launch environment's (`EE_ENGINE_PUBLIC_KEY`), if any.
    pub curve_server_key: Option<String>,
    /// The plugin's CURVE secret key (Z85), with `curveServerKey`; by default
    /// `EE_PLUGIN_SECRET_KEY`.
    pub curve_secret_key: Option<String>,
    /// A file whose first line is that secret key (`event-engine keygen`'s `.key` file), not
    /// with `curveSecretKey`; by default `EE_PLUGIN_SECRET_KEY_FILE`.
    pub curve_secret_key_file: Option<String>,
}

/// A setting in milliseconds, by the SDK core's rule, named as Node.js spells it.
fn setting(name: &str, ms: f64) -> ClientResult<Duration> {
    options::duration(&Spelling::CamelMs.spell(name, true), ms, Unit::Millis)
}

impl NativeOptions {
    /// The client's options: its defaults, with what is set here, checked by the SDK core.
    pub fn to_client(&self) -> ClientResult<ClientOptions> {
        let mut o = ClientOptions::default();
        if let Some(ms) = self.reply_timeout_ms {
            o.reply_timeout = setting("reply_timeout", ms)?;
        }
        if let Some(n) = self.retries {
            o.retries = options::whole("retries", n, 0, u64::from(u32::MAX))? as u32;
        }
        if let Some(ms) = self.reconnect_backoff_ms {
            o.reconnect_backoff = setting("reconnect_backoff", ms)?;
        }
        if let Some(ms) = self.max_backoff_ms {
            o.max_backoff = setting("max_backoff", ms)?;
        }
        if let Some(publish) = self.publish_timeout_ms {
            o.publish_timeout = publish
                .map(|ms| setting("publish_timeout", ms))
                .transpose()?;
        }
        if let Some(ms) = self.poll_slice_ms {
            o.poll_slice = setting("poll_slice", ms)?;
        }
        if let Some(ms) = self.long_poll_ms {
            o.long_poll = setting("long_poll", ms)?;
        }
        if let Some(n) = self.max_batch_bytes {
            let name = Spelling::CamelMs.spell("max_batch_bytes", false);
            o.max_batch_bytes = options::byte_budget(&name, n)?;
        }
        o.token = event_engine_client::Token::from_options(
            self.token.as_deref(),
            self.token_file.as_deref().map(std::path::Path::new),
        )?;
        o.curve = event_engine_client::Curve::from_options(
            self.curve_server_key.as_deref(),
            self.curve_secret_key.as_deref(),
            self.curve_secret_key_file
                .as_deref()
                .map(std::path::Path::new),
        )?;
        o.validate_spelled(Spelling::CamelMs)?;
        Ok(o)
    }
}

/// A receive time-out in milliseconds, by the SDK core's rule: `None` (JavaScript
/// `undefined`/`null`), `Infinity` or anything from 10^12 up waits with no limit.
pub fn timeout(ms: Option<f64>) -> ClientResult<Option<Duration>> {
    options::timeout("timeoutMs", ms, Unit::Millis)
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
            retries: Some(0.0),
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
        let budget = NativeOptions {
            max_batch_bytes: Some(250_000.0),
            ..Default::default()
        }
        .to_client()
        .map(|o| o.max_batch_bytes);
        assert_eq!(budget.ok(), Some(250_000));
        let e = NativeOptions {
            max_batch_bytes: Some(0.0),
            ..Default::default()
        }
        .to_client()
        .err()
        .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("maxBatchBytes must be a whole number from 1 to")),
            "{e:?}"
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
            NativeOptions {
                retries: Some(1.5),
                ..Default::default()
            },
            NativeOptions {
                max_batch_bytes: Some(0.0),
                ..Default::default()
            },
            NativeOptions {
                max_batch_bytes: Some(1.5),
                ..Default::default()
            },
            NativeOptions {
                max_batch_bytes: Some(f64::INFINITY),
                ..Default::default()
            },
        ] {
            let kind = bad.to_client().err().map(|e| e.kind());
            assert_eq!(kind, Some(ErrorKind::InvalidArgument), "{bad:?}");
        }
    }
}
