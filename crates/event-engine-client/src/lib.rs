//! The client of the event-engine external-plugin protocol.
pub mod wire;
