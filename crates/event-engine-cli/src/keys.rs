//! CURVE keys of an application (`docs/security.md`): `event-engine keygen`, the engine's key
//! pair, and whether launched plugins get a key pair instead of a token.

use std::path::Path;
use std::process::ExitCode;

use event_engine::auth::{self, CurveKeys};

use crate::config::{AppConfig, Auth};

type Error = Box<dyn std::error::Error>;

/// `event-engine keygen PREFIX`: PREFIX.key (secret, mode 0600) and PREFIX.pub, never
/// overwritten.
pub fn keygen(prefix: &Path) -> Result<ExitCode, Error> {
    let keys = auth::write_key_files(prefix)?;
    println!(
        "wrote {p}.key (the secret key, mode 0600) and {p}.pub; public key: {}",
        keys.public_key(),
        p = prefix.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The CURVE keys of a run.
pub struct Plan {
    /// The engine's key pair, when any port uses CURVE.
    pub engine: Option<CurveKeys>,
    /// Launched plugins get a fresh key pair (in their environment) instead of a token: the
    /// engine listens beyond loopback or requires encryption, and the build has CURVE.
    pub launched: bool,
}

fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_loopback())
}

/// What `config` needs: the engine's key pair from `[bus] curve_secret_key_file`, or a fresh one
/// for this run when only launched plugins use CURVE.
pub fn plan(config: &AppConfig) -> Result<Plan, Error> {
    let named: Vec<&str> = config
        .plugins
        .iter()
        .filter(|p| matches!(p.auth, Auth::Curve(_)))
        .map(|p| p.name.as_str())
        .collect();
    let wanted = config.engine.require_encryption || !is_loopback(&config.engine.bind_address);
    let launched = auth::curve_available()
        && wanted
        && config.plugins.iter().any(|p| p.auth == Auth::Launched);
    let engine = match &config.curve_secret_key_file {
        Some(f) => {
            let secret = auth::read_key_file(f, true)?;
            Some(CurveKeys::from_secret(&secret)?)
        }
        None if !named.is_empty() => {
            return Err(format!(
                "plugin(s) {} name a CURVE public key: the engine needs a key pair its plugins \
                 know, [bus] curve_secret_key_file (made by `event-engine keygen PREFIX`)",
                named.join(", ")
            )
            .into())
        }
        None if launched => Some(CurveKeys::generate()?),
        None => None,
    };
    if !is_loopback(&config.engine.bind_address) && !auth::curve_available() {
        log::warn!(
            "this event-engine has no CURVE (the default build): launched plugins get tokens, \
             which cross the network in clear (docs/security.md: the CURVE build)"
        );
    }
    Ok(Plan { engine, launched })
}
