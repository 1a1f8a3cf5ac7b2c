//! The workspace's `rust-version` is true: no package of the lock file needs a newer Rust.
//! (Clippy's `incompatible_msrv` lint checks our own code against it.)

use std::process::Command;

/// `1.89` and `1.89.0` alike, as (major, minor, patch).
fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v.split('.').map(|n| n.parse().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

#[test]
fn rust_version_is_what_the_lock_needs() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let ours = version(env!("CARGO_PKG_RUST_VERSION"));
    let packages = meta["packages"].as_array().expect("a package list");
    let (needed, by) = packages
        .iter()
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p["name"].as_str()?)))
        .max()
        .expect("some package declares a rust-version");
    assert!(
        ours >= needed,
        "rust-version is {} but {by} needs {needed:?}: raise [workspace.package] rust-version",
        env!("CARGO_PKG_RUST_VERSION")
    );
    assert_eq!(
        ours,
        needed,
        "rust-version {} is more than the lock needs ({needed:?}, {by}): lower it, or say why here",
        env!("CARGO_PKG_RUST_VERSION")
    );
}
