//! Where a plugin connects: the one rule every SDK follows to turn what it was given (a port, a
//! host, an endpoint, or nothing) and the launch environment into an endpoint.
//!
//! 1. An `endpoint` is used as it is; giving a `port` or a `host` with it is an error.
//! 2. Else a `port` (1 to 65535) is on `host`, or on 127.0.0.1.
//! 3. Else with a `host`, the port is `EE_PLUGIN_PORT` (a host says where to connect, so
//!    `EE_PLUGIN_ENDPOINT`, which names a host too, is not used).
//! 4. Else `EE_PLUGIN_ENDPOINT`, if set.
//! 5. Else `EE_PLUGIN_PORT` on 127.0.0.1.
//! 6. Else an error that says what to pass.
//!
//! An IPv6 host may be given with or without brackets (`::1`, `[::1]`).
//!
//! ```
//! use event_engine_client::{LaunchEnv, Target};
//!
//! let launched = LaunchEnv { port: Some("6000".into()), ..LaunchEnv::default() };
//! assert_eq!(Target::default().resolve(&launched).unwrap(), "tcp://127.0.0.1:6000");
//! let on_host = Target { host: Some("::1".into()), ..Target::default() };
//! assert_eq!(on_host.resolve(&launched).unwrap(), "tcp://[::1]:6000");
//! let both = Target { port: Some(6000), endpoint: Some("tcp://h:1".into()), ..Target::default() };
//! assert!(both.resolve(&launched).is_err());
//! ```

use crate::client::{Client, ClientOptions};
use crate::error::{Error, Result};
use crate::launch::{self, LaunchEnv};
use crate::wire::endpoint;

/// What a plugin was told about where to connect; [`Target::resolve`] turns it into an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// A full endpoint, e.g. `tcp://10.0.0.5:6000`.
    pub endpoint: Option<String>,
    /// The engine's host (a name, an IPv4 or IPv6 address).
    pub host: Option<String>,
    /// The plugin's TCP port on the engine (checked: 1 to 65535).
    pub port: Option<i64>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

fn check_port(port: i64) -> Result<u16> {
    u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(|| {
        invalid(format!(
            "port must be a whole number from 1 to 65535 (got {port})"
        ))
    })
}

impl Target {
    /// The plugin's TCP `port` on `host`.
    pub fn port(host: impl Into<String>, port: u16) -> Target {
        Target {
            host: Some(host.into()),
            port: Some(i64::from(port)),
            endpoint: None,
        }
    }

    /// The endpoint, by the rule of the [module](self), with `env` as the launch environment.
    pub fn resolve(&self, env: &LaunchEnv) -> Result<String> {
        if let Some(e) = &self.endpoint {
            if self.port.is_some() {
                return Err(invalid("give either port or endpoint, not both"));
            }
            if self.host.is_some() {
                return Err(invalid("give either host or endpoint, not both"));
            }
            return Ok(e.clone());
        }
        let host = match &self.host {
            Some(h) if h.is_empty() => return Err(invalid("host must not be empty")),
            Some(h) => Some(h.as_str()),
            None => None,
        };
        let port = match self.port {
            Some(p) => check_port(p)?,
            None => {
                if host.is_none() {
                    if let Some(e) = &env.endpoint {
                        return Ok(e.clone());
                    }
                }
                match &env.port {
                    Some(text) => text
                        .trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| {
                            invalid(format!(
                                "{}={text:?} is not a port number (1 to 65535)",
                                launch::PLUGIN_PORT
                            ))
                        })?,
                    None => {
                        return Err(invalid(format!(
                            "no port: pass the plugin's port (or its endpoint), or set {} \
                             (event-engine run sets it for the plugins it launches)",
                            launch::PLUGIN_PORT
                        )))
                    }
                }
            }
        };
        Ok(endpoint::tcp(host.unwrap_or(endpoint::DEFAULT_HOST), port))
    }
}

impl Client {
    /// Connects as every SDK does: to `target` resolved against this process's launch
    /// environment ([`LaunchEnv::from_env`]), with `options` (checked; the token as
    /// [`Client::connect_with`] finds it). What a plugin launched by `event-engine run` is told
    /// comes from there, so it needs no arguments:
    ///
    /// ```no_run
    /// use event_engine_client::{Client, ClientOptions, Target};
    ///
    /// let mut plugin = Client::open(&Target::default(), ClientOptions::default())?;
    /// # Ok::<(), event_engine_client::Error>(())
    /// ```
    pub fn open(target: &Target, options: ClientOptions) -> Result<Client> {
        let endpoint = target.resolve(&LaunchEnv::from_env())?;
        Client::connect_with(&endpoint, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(endpoint: Option<&str>, port: Option<&str>) -> LaunchEnv {
        LaunchEnv {
            endpoint: endpoint.map(str::to_string),
            port: port.map(str::to_string),
            ..LaunchEnv::default()
        }
    }

    #[test]
    fn a_port_or_an_endpoint() {
        let none = env(None, None);
        assert_eq!(
            Target::port("127.0.0.1", 6000).resolve(&none).unwrap(),
            "tcp://127.0.0.1:6000"
        );
        assert_eq!(
            Target::port("[::1]", 6000).resolve(&none).unwrap(),
            "tcp://[::1]:6000"
        );
        let t = Target {
            port: Some(70_000),
            ..Target::default()
        };
        assert!(t.resolve(&none).is_err());
        let t = Target {
            host: Some("h".into()),
            endpoint: Some("tcp://h:1".into()),
            ..Target::default()
        };
        assert!(t
            .resolve(&none)
            .unwrap_err()
            .to_string()
            .contains("not both"));
        let e = Target::default().resolve(&none).unwrap_err();
        assert!(e.to_string().contains("EE_PLUGIN_PORT"), "{e}");
    }

    #[test]
    fn the_launch_environment() {
        let launched = env(Some("tcp://10.1.2.3:7000"), Some("6123"));
        assert_eq!(
            Target::default().resolve(&launched).unwrap(),
            "tcp://10.1.2.3:7000"
        );
        let on_host = Target {
            host: Some("engine".into()),
            ..Target::default()
        };
        assert_eq!(on_host.resolve(&launched).unwrap(), "tcp://engine:6123");
        let bad = env(None, Some("not a port"));
        assert!(Target::default()
            .resolve(&bad)
            .unwrap_err()
            .to_string()
            .contains("EE_PLUGIN_PORT=\"not a port\""));
        // The endpoint wins over a bad port.
        let both = env(Some("tcp://h:1"), Some("not a port"));
        assert_eq!(Target::default().resolve(&both).unwrap(), "tcp://h:1");
    }
}
