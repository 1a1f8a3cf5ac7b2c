'use strict';
// The errors of the event-engine Node.js SDK: one base class, one subclass per kind of the shared
// Rust client. The kinds, their numbers and codes come from kinds.js (generated from the Rust
// table); this file only gives each its class, and `tsc --strict` fails when one has none.

const { KINDS, ErrorCodes } = require('./kinds.js');

/** @typedef {keyof typeof KINDS} Kind */
/** @typedef {(typeof ErrorCodes)[keyof typeof ErrorCodes]} ErrorCode */

/** Base class of every error the SDK raises. */
class EventEngineError extends Error {
  /** Stable string code of the class's kind, e.g. `EE_DISCONNECTED`. */
  static code = 'EE_ERROR';
  /** Stable number of the class's kind (1 to 7), the same in every SDK. */
  static codeNumber = 0;
  /** Stable snake_case name of the class's kind, e.g. `disconnected`. */
  static kind = 'error';

  /**
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, options) {
    super(message, options);
    const ctor = /** @type {typeof EventEngineError} */ (new.target);
    Object.defineProperty(this, 'name', { value: ctor.name, configurable: true, writable: true });
    /**
     * Stable string code, e.g. `EE_DISCONNECTED`.
     * @readonly
     * @type {ErrorCode}
     */
    this.code = /** @type {ErrorCode} */ (ctor.code);
    /**
     * Stable number of the kind (1 to 7), the same as the C SDK's status and Rust's `Error::code()`.
     * @readonly
     */
    this.codeNumber = ctor.codeNumber;
    /**
     * Stable snake_case name of the kind, e.g. `disconnected`.
     * @readonly
     * @type {Kind}
     */
    this.kind = /** @type {Kind} */ (ctor.kind);
  }
}

/** `EE_INVALID_ARGUMENT` (1): an argument was invalid (an empty event, a batch size out of range, a bad option...). */
class InvalidArgumentError extends EventEngineError {
  /** @readonly */
  code = KINDS.invalid_argument.code;
}
/** `EE_DISCONNECTED` (2): the engine did not answer in time, even after reconnecting (is it running?). */
class DisconnectedError extends EventEngineError {
  /** @readonly */
  code = KINDS.disconnected.code;
  /** @type {string | undefined} The endpoint that did not answer. */
  endpoint;
  /** @type {number | undefined} How long the client waited in all, in milliseconds. */
  waitedMs;
  /** @type {number | undefined} How many times the request was sent. */
  attempts;
}
/** `EE_PROTOCOL` (3): the engine refused the request; `wireCode` says why (e.g. `pending_full`). */
class ProtocolError extends EventEngineError {
  /** @readonly */
  code = KINDS.protocol.code;
  /** @type {string | undefined} The engine's error code, e.g. `pending_full` (docs/protocol.md §4.2). */
  wireCode;
  /** @type {number | undefined} Its number, 1 to 9. */
  wireCodeNumber;
}
/** `EE_INTERRUPTED` (4): the call's AbortSignal fired; `cause` is the signal's reason. */
class InterruptedError extends EventEngineError {
  /** @readonly */
  code = KINDS.interrupted.code;
}
/** `EE_CLOSED` (5): the plugin has quit (or quit while the call waited); connect again to go on. */
class ClosedError extends EventEngineError {
  /** @readonly */
  code = KINDS.closed.code;
}
/** `EE_UNEXPECTED_REPLY` (6): the engine's reply did not follow the protocol (an engine that speaks only v1?). */
class UnexpectedReplyError extends EventEngineError {
  /** @readonly */
  code = KINDS.unexpected_reply.code;
}
/** `EE_ZMQ` (7): a ZeroMQ call failed. */
class ZmqError extends EventEngineError {
  /** @readonly */
  code = KINDS.zmq.code;
}

/**
 * The class of every kind of the Rust table: a kind without its class here fails `tsc --strict`.
 * @type {{ readonly [K in Kind]: typeof EventEngineError }}
 */
const CLASSES = {
  invalid_argument: InvalidArgumentError,
  disconnected: DisconnectedError,
  protocol: ProtocolError,
  interrupted: InterruptedError,
  closed: ClosedError,
  unexpected_reply: UnexpectedReplyError,
  zmq: ZmqError,
};

/** @type {Map<number, typeof EventEngineError>} */
const byNumber = new Map();
for (const kind of /** @type {Kind[]} */ (Object.keys(KINDS))) {
  const cls = CLASSES[kind];
  cls.code = KINDS[kind].code;
  cls.codeNumber = KINDS[kind].number;
  cls.kind = kind;
  byNumber.set(cls.codeNumber, cls);
}

/** Properties the addon sets on some errors, copied to the SDK's error. */
const DETAILS = /** @type {const} */ (['wireCode', 'wireCodeNumber', 'endpoint', 'waitedMs', 'attempts']);

/**
 * Turns an error thrown by the addon into the matching EventEngineError subclass. Errors that
 * are already EventEngineErrors, or that the addon did not raise, are returned as they are.
 * @param {unknown} err
 * @returns {unknown}
 */
function fromNative(err) {
  if (err instanceof EventEngineError || err === null || typeof err !== 'object') return err;
  const e = /** @type {Record<string, unknown> & Error} */ (err);
  const cls = typeof e.codeNumber === 'number' ? byNumber.get(e.codeNumber) : undefined;
  if (cls) {
    const converted = /** @type {EventEngineError & Record<string, unknown>} */ (new cls(e.message));
    for (const key of DETAILS) {
      if (e[key] !== undefined) converted[key] = e[key];
    }
    return converted;
  }
  // napi-rs could not convert an argument (a value of the wrong type reached the addon).
  if (e.code === 'InvalidArg' || e.code === 'NumberExpected' || e.code === 'StringExpected' || e.code === 'ObjectExpected') {
    return new InvalidArgumentError(e.message, { cause: err });
  }
  return err;
}

module.exports = {
  EventEngineError,
  InvalidArgumentError,
  DisconnectedError,
  ProtocolError,
  InterruptedError,
  ClosedError,
  UnexpectedReplyError,
  ZmqError,
  ErrorCodes,
  CLASSES,
  fromNative,
};
