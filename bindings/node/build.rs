//! Sets up the link arguments of a Node.js addon (napi-rs).

fn main() {
    napi_build::setup();
}
