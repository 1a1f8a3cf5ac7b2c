//! The launch environment: the variables `event-engine run` sets for each plugin process it
//! launches, defined here once. The CLI sets them with [`LaunchEnv::vars`]; every SDK reads them
//! with [`LaunchEnv::from_env`] when it resolves where to connect ([`Target::resolve`]), so a
//! launched plugin needs no arguments.
//!
//! | variable | value |
//! |---|---|
//! | `EE_PLUGIN_NAME` | the plugin's name in `app.toml` |
//! | `EE_PLUGIN_PORT` | its TCP port on the engine |
//! | `EE_PLUGIN_ENDPOINT` | its endpoint, e.g. `tcp://127.0.0.1:6000` |
//! | `EE_PUBLISH_ENDPOINT` | the bus's incoming endpoint (raw ZeroMQ PUB sockets connect there) |
//! | `EE_SUBSCRIBE_ENDPOINT` | the bus's outgoing endpoint (raw ZeroMQ SUB sockets connect there) |
//!
//! An empty variable counts as unset.
//!
//! [`Target::resolve`]: crate::Target::resolve

/// `EE_PLUGIN_NAME`: the plugin's name.
pub const PLUGIN_NAME: &str = "EE_PLUGIN_NAME";
/// `EE_PLUGIN_PORT`: the plugin's TCP port on the engine.
pub const PLUGIN_PORT: &str = "EE_PLUGIN_PORT";
/// `EE_PLUGIN_ENDPOINT`: the plugin's endpoint on the engine.
pub const PLUGIN_ENDPOINT: &str = "EE_PLUGIN_ENDPOINT";
/// `EE_PUBLISH_ENDPOINT`: the bus's incoming endpoint.
pub const PUBLISH_ENDPOINT: &str = "EE_PUBLISH_ENDPOINT";
/// `EE_SUBSCRIBE_ENDPOINT`: the bus's outgoing endpoint.
pub const SUBSCRIBE_ENDPOINT: &str = "EE_SUBSCRIBE_ENDPOINT";

/// Every variable of the launch environment, in the order [`LaunchEnv::vars`] gives them.
pub const NAMES: [&str; 5] = [
    PLUGIN_NAME,
    PLUGIN_PORT,
    PLUGIN_ENDPOINT,
    PUBLISH_ENDPOINT,
    SUBSCRIBE_ENDPOINT,
];

/// The launch environment of one plugin process. Fields hold the variables' text as set;
/// [`Target::resolve`](crate::Target::resolve) checks them when it needs them.
///
/// ```
/// use event_engine_client::LaunchEnv;
///
/// let env = LaunchEnv {
///     name: Some("scorer".into()),
///     port: Some("6000".into()),
///     endpoint: Some("tcp://127.0.0.1:6000".into()),
///     ..LaunchEnv::default()
/// };
/// let vars = env.vars();
/// assert_eq!(vars[1], ("EE_PLUGIN_PORT", "6000".to_string()));
/// let read = LaunchEnv::from_lookup(|name| {
///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
/// });
/// assert_eq!(read, env);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchEnv {
    /// `EE_PLUGIN_NAME`.
    pub name: Option<String>,
    /// `EE_PLUGIN_PORT`, as text.
    pub port: Option<String>,
    /// `EE_PLUGIN_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `EE_PUBLISH_ENDPOINT`.
    pub publish_endpoint: Option<String>,
    /// `EE_SUBSCRIBE_ENDPOINT`.
    pub subscribe_endpoint: Option<String>,
}

impl LaunchEnv {
    /// The launch environment of this process.
    pub fn from_env() -> LaunchEnv {
        LaunchEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// The launch environment as `lookup` gives each variable (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> LaunchEnv {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        LaunchEnv {
            name: get(PLUGIN_NAME),
            port: get(PLUGIN_PORT),
            endpoint: get(PLUGIN_ENDPOINT),
            publish_endpoint: get(PUBLISH_ENDPOINT),
            subscribe_endpoint: get(SUBSCRIBE_ENDPOINT),
        }
    }

    /// The variables to set for a process, in the order of [`NAMES`] (unset ones left out).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        [
            (PLUGIN_NAME, &self.name),
            (PLUGIN_PORT, &self.port),
            (PLUGIN_ENDPOINT, &self.endpoint),
            (PUBLISH_ENDPOINT, &self.publish_endpoint),
            (SUBSCRIBE_ENDPOINT, &self.subscribe_endpoint),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_variables_are_unset() {
        let env = LaunchEnv::from_lookup(|name| {
            Some(if name == PLUGIN_PORT { "7" } else { "" }.to_string())
        });
        assert_eq!(
            env,
            LaunchEnv {
                port: Some("7".into()),
                ..LaunchEnv::default()
            }
        );
        assert_eq!(env.vars(), vec![(PLUGIN_PORT, "7".to_string())]);
        assert!(NAMES.iter().all(|n| n.starts_with("EE_")));
    }
}
