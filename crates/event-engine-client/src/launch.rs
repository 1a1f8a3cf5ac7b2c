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
//! | `EE_PLUGIN_TOKEN` | the token the plugin's port admits ([`crate::Token`]) |
//! | `EE_PLUGIN_TOKEN_FILE` | a file holding it, for plugins the CLI does not launch |
//! | `EE_ENGINE_PUBLIC_KEY` | the engine's CURVE public key (Z85), for a CURVE port ([`crate::Curve`]) |
//! | `EE_PLUGIN_SECRET_KEY` | the plugin's CURVE secret key (Z85); its public key is derived from it |
//! | `EE_PLUGIN_SECRET_KEY_FILE` | a file holding it (`event-engine keygen`'s `.key` file) |
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
/// `EE_PLUGIN_TOKEN`: the token the plugin presents to its port.
pub const PLUGIN_TOKEN: &str = "EE_PLUGIN_TOKEN";
/// `EE_PLUGIN_TOKEN_FILE`: a file whose first line is that token.
pub const PLUGIN_TOKEN_FILE: &str = "EE_PLUGIN_TOKEN_FILE";

/// `EE_ENGINE_PUBLIC_KEY`: the engine's CURVE public key (Z85).
pub const ENGINE_PUBLIC_KEY: &str = "EE_ENGINE_PUBLIC_KEY";
/// `EE_PLUGIN_SECRET_KEY`: the plugin's CURVE secret key (Z85).
pub const PLUGIN_SECRET_KEY: &str = "EE_PLUGIN_SECRET_KEY";
/// `EE_PLUGIN_SECRET_KEY_FILE`: a file whose first line is that secret key.
pub const PLUGIN_SECRET_KEY_FILE: &str = "EE_PLUGIN_SECRET_KEY_FILE";

/// Every variable of the launch environment, in the order [`LaunchEnv::vars`] gives them.
pub const NAMES: [&str; 10] = [
    PLUGIN_NAME,
    PLUGIN_PORT,
    PLUGIN_ENDPOINT,
    PUBLISH_ENDPOINT,
    SUBSCRIBE_ENDPOINT,
    PLUGIN_TOKEN,
    PLUGIN_TOKEN_FILE,
    ENGINE_PUBLIC_KEY,
    PLUGIN_SECRET_KEY,
    PLUGIN_SECRET_KEY_FILE,
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
#[derive(Clone, Default, PartialEq, Eq)]
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
    /// `EE_PLUGIN_TOKEN` (never shown by `Debug`).
    pub token: Option<String>,
    /// `EE_PLUGIN_TOKEN_FILE`.
    pub token_file: Option<String>,
    /// `EE_ENGINE_PUBLIC_KEY`.
    pub engine_public_key: Option<String>,
    /// `EE_PLUGIN_SECRET_KEY` (never shown by `Debug`).
    pub secret_key: Option<String>,
    /// `EE_PLUGIN_SECRET_KEY_FILE`.
    pub secret_key_file: Option<String>,
}

impl std::fmt::Debug for LaunchEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchEnv")
            .field("name", &self.name)
            .field("port", &self.port)
            .field("endpoint", &self.endpoint)
            .field("publish_endpoint", &self.publish_endpoint)
            .field("subscribe_endpoint", &self.subscribe_endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("engine_public_key", &self.engine_public_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("secret_key_file", &self.secret_key_file)
            .finish()
    }
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
            token: get(PLUGIN_TOKEN),
            token_file: get(PLUGIN_TOKEN_FILE),
            engine_public_key: get(ENGINE_PUBLIC_KEY),
            secret_key: get(PLUGIN_SECRET_KEY),
            secret_key_file: get(PLUGIN_SECRET_KEY_FILE),
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
            (PLUGIN_TOKEN, &self.token),
            (PLUGIN_TOKEN_FILE, &self.token_file),
            (ENGINE_PUBLIC_KEY, &self.engine_public_key),
            (PLUGIN_SECRET_KEY, &self.secret_key),
            (PLUGIN_SECRET_KEY_FILE, &self.secret_key_file),
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
