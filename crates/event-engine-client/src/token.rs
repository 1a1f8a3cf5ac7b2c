//! The credential a client presents to a plugin's port: a [`Token`] (ZAP PLAIN, see the engine's
//! `docs/security.md`). A port started with a token admits only a process that presents it;
//! `event-engine run` makes one for each plugin it launches and passes it in the launch
//! environment, where every client finds it ([`Client::connect_with`](crate::Client::connect_with),
//! and so every SDK):
//!
//! 1. [`ClientOptions::token`](crate::ClientOptions::token), if set;
//! 2. else `EE_PLUGIN_TOKEN`;
//! 3. else the first line of the file named by `EE_PLUGIN_TOKEN_FILE` (a container's secret);
//! 4. else none: the client connects as in 0.2, which a port with a token refuses.

use std::path::Path;

use crate::error::{Error, Result};
use crate::launch::LaunchEnv;
use crate::wire::token;

/// A plugin token: 16 to 255 bytes of printable ASCII. Its `Debug` output never shows it.
///
/// ```
/// use event_engine_client::Token;
///
/// let token = Token::new("7f3a9c0e2b5d4f61a8c7e9d0b1f2a3c4")?;
/// assert_eq!(format!("{token:?}"), "Token(<redacted>)");
/// assert!(Token::new("short").is_err());
/// # Ok::<(), event_engine_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token, checked.
    pub fn new(token: impl Into<String>) -> Result<Token> {
        let token = token.into();
        token::check(&token).map_err(Error::InvalidArgument)?;
        Ok(Token(token))
    }

    /// The token in the file at `path`: its first line, without surrounding white space.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Token> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::InvalidArgument(format!(
                "could not read the plugin token file {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or_default().trim();
        token::check(line).map_err(|e| {
            Error::InvalidArgument(format!("the plugin token file {}: {e}", path.display()))
        })?;
        Ok(Token(line.to_string()))
    }

    /// The token a launched plugin was given: `EE_PLUGIN_TOKEN`, else the file named by
    /// `EE_PLUGIN_TOKEN_FILE`, else none.
    pub fn from_launch_env(env: &LaunchEnv) -> Result<Option<Token>> {
        if let Some(t) = &env.token {
            token::check(t).map_err(|e| Error::InvalidArgument(format!("EE_PLUGIN_TOKEN: {e}")))?;
            return Ok(Some(Token(t.clone())));
        }
        env.token_file.as_deref().map(Token::from_file).transpose()
    }

    /// The token an SDK was given as options: `token` (its text) or `token_file` (a path), not
    /// both; `None` when neither is (the client then takes the launch environment's). Every
    /// binding's `token` / `token_file` option goes through here.
    ///
    /// ```
    /// use event_engine_client::Token;
    ///
    /// assert!(Token::from_options(None, None)?.is_none());
    /// assert!(Token::from_options(Some("0123456789abcdef0123"), None)?.is_some());
    /// let file = std::path::Path::new("uploader.token");
    /// assert!(Token::from_options(Some("0123456789abcdef0123"), Some(file)).is_err());
    /// # Ok::<(), event_engine_client::Error>(())
    /// ```
    pub fn from_options(token: Option<&str>, token_file: Option<&Path>) -> Result<Option<Token>> {
        match (token, token_file) {
            (Some(_), Some(_)) => Err(Error::InvalidArgument(
                "give token or token_file, not both".into(),
            )),
            (Some(t), None) => {
                token::check(t).map_err(|e| Error::InvalidArgument(format!("token: {e}")))?;
                Ok(Some(Token(t.to_string())))
            }
            (None, Some(f)) => Token::from_file(f).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_wins_over_the_file_and_a_file_is_trimmed() {
        let dir = std::env::temp_dir().join(format!("ee-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "  0123456789abcdef0123 \nignored\n").unwrap();
        let from_file = LaunchEnv {
            token_file: Some(file.display().to_string()),
            ..LaunchEnv::default()
        };
        assert_eq!(
            Token::from_launch_env(&from_file)
                .unwrap()
                .unwrap()
                .as_str(),
            "0123456789abcdef0123"
        );
        let both = LaunchEnv {
            token: Some("fedcba9876543210fedc".into()),
            ..from_file.clone()
        };
        assert_eq!(
            Token::from_launch_env(&both).unwrap().unwrap().as_str(),
            "fedcba9876543210fedc"
        );
        assert_eq!(Token::from_launch_env(&LaunchEnv::default()).unwrap(), None);
        let missing = LaunchEnv {
            token_file: Some(dir.join("absent").display().to_string()),
            ..LaunchEnv::default()
        };
        let e = Token::from_launch_env(&missing).unwrap_err().to_string();
        assert!(e.contains("could not read the plugin token file"), "{e}");
        std::fs::write(&file, "short\n").unwrap();
        let e = Token::from_launch_env(&from_file).unwrap_err().to_string();
        assert!(e.contains("16 to 255 bytes"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
