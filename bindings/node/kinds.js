'use strict';
// Generated from the Rust client's table of error kinds (event_engine_client::ErrorKind)
// by bindings/node/src/kinds.rs: do not edit. `cargo test -p event-engine-node` fails when
// it is stale; `EE_UPDATE_GENERATED=1 cargo test -p event-engine-node` writes it anew.

/** Every error kind of the SDK, by name: its stable number and string code, the same in every SDK. */
const KINDS = Object.freeze(
  /** @type {const} */ ({
    /** An argument was invalid. */
    invalid_argument: { number: 1, code: 'EE_INVALID_ARGUMENT' },
    /** The engine did not answer in time, even after reconnecting. */
    disconnected: { number: 2, code: 'EE_DISCONNECTED' },
    /** The engine refused the request. */
    protocol: { number: 3, code: 'EE_PROTOCOL' },
    /** The call was interrupted. */
    interrupted: { number: 4, code: 'EE_INTERRUPTED' },
    /** The plugin has quit. */
    closed: { number: 5, code: 'EE_CLOSED' },
    /** The engine's reply did not follow the protocol. */
    unexpected_reply: { number: 6, code: 'EE_UNEXPECTED_REPLY' },
    /** A ZeroMQ call failed. */
    zmq: { number: 7, code: 'EE_ZMQ' },
  }),
);

/** Stable string codes of the errors, by kind. */
const ErrorCodes = Object.freeze(
  /** @type {const} */ ({
    INVALID_ARGUMENT: 'EE_INVALID_ARGUMENT',
    DISCONNECTED: 'EE_DISCONNECTED',
    PROTOCOL: 'EE_PROTOCOL',
    INTERRUPTED: 'EE_INTERRUPTED',
    CLOSED: 'EE_CLOSED',
    UNEXPECTED_REPLY: 'EE_UNEXPECTED_REPLY',
    ZMQ: 'EE_ZMQ',
  }),
);

module.exports = { KINDS, ErrorCodes };
