//! The tokens of an application's plugins (`docs/security.md`): a fresh one per run for each
//! plugin `event-engine run` launches, passed in its launch environment (`EE_PLUGIN_TOKEN`); the
//! one in `token_file` for a plugin started elsewhere (another container or host), made on the
//! first run if the file does not exist. Tokens are never printed.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use event_engine_client::Token;

use crate::config::{Auth, Plugin};

type Error = Box<dyn std::error::Error>;

/// The token `plugin`'s port admits this run, or `None` (its port admits anyone).
pub fn for_plugin(plugin: &Plugin) -> Result<Option<String>, Error> {
    match &plugin.auth {
        Auth::Launched => Ok(Some(event_engine::auth::new_token()?)),
        Auth::TokenFile(path) => read_or_create(path).map(Some),
        Auth::Curve(_) | Auth::None | Auth::Unset => Ok(None),
    }
}

/// The token in `path` (its first line, trimmed), checked as every client reads one
/// ([`Token::from_file`]); warns if other users may read it.
pub fn read(path: &Path) -> Result<String, Error> {
    let token = Token::from_file(path)?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            log::warn!(
                "plugin token file {} may be read by other users (mode {:o}): chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
    Ok(token.as_str().to_string())
}

/// The token in `path`, or a new one written there (mode 0600) if the file does not exist. The
/// new file appears whole (written aside, then linked into place), so a plugin that waits for it
/// never reads half a token.
fn read_or_create(path: &Path) -> Result<String, Error> {
    if path.exists() {
        return read(path);
    }
    let fresh = event_engine::auth::new_token()?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let aside = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&aside)
        .and_then(|mut f| f.write_all(format!("{fresh}\n").as_bytes()))
        .and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    match made {
        Ok(()) => {
            log::info!("made plugin token file {}", path.display());
            Ok(fresh)
        }
        // Made meanwhile by someone else: theirs counts.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(format!("plugin token file {}: {e}", path.display()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_made_private_once_and_read_after() {
        let dir = std::env::temp_dir().join(format!("ee-cli-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scorer.token");
        let _ = std::fs::remove_file(&path);
        let first = read_or_create(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_or_create(&path).unwrap(), first);
        std::fs::write(&path, "too short\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("16 to 255") && !e.contains("too short"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
