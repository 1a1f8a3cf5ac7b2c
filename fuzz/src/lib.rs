//! The bodies of the fuzz targets, shared with the stable smoke test
//! (`crates/event-engine/tests/fuzz_smoke.rs` compiles `harness.rs` too).

pub mod harness;
