//! Generates `event_engine.h` with cbindgen and checks it against the committed
//! `include/event_engine.h`: the build fails when they differ, so the header in the repository is
//! always the one the library was built from. `EE_UPDATE_HEADER=1` (what `make header` sets)
//! writes the fresh header instead.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let committed = dir.join("include").join("event_engine.h");

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/event_engine.h");
    println!("cargo:rerun-if-env-changed=EE_UPDATE_HEADER");
    // The shared library's soname, whatever cargo calls the file (libevent_engine_c.so).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libevent_engine.so.0");

    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate the header: {e}"));
    let fresh_path = out.join("event_engine.h");
    bindings.write_to_file(&fresh_path);
    let fresh = std::fs::read_to_string(&fresh_path).expect("read the fresh header");

    if std::env::var("EE_UPDATE_HEADER").is_ok_and(|v| v == "1") {
        std::fs::write(&committed, &fresh).expect("write include/event_engine.h");
        return;
    }
    let current = std::fs::read_to_string(&committed).unwrap_or_default();
    if current != fresh {
        panic!(
            "bindings/c/include/event_engine.h is out of date with the Rust sources \
             (fresh header: {}). Run `make header` and commit the result.",
            fresh_path.display()
        );
    }
}
