'use strict';
// The errors of the event-engine Node.js SDK: one base class, one subclass per kind of the shared
// Rust client. `code` (a string) and `codeNumber` are stable and the same in every SDK.

/** Base class of every error the SDK raises. */
class EventEngineError extends Error {
  /**
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, options) {
    super(message, options);
    const ctor = /** @type {typeof EventEngineError} */ (new.target);
    Object.defineProperty(this, 'name', { value: ctor.name, configurable: true, writable: true });
    /** Stable string code, e.g. `EE_DISCONNECTED`. */
    this.code = ctor.code;
    /** Stable numeric code (1 to 7), the same as the C SDK's status and Rust's `Error::code()`. */
    this.codeNumber = ctor.codeNumber;
    /** Stable snake_case name of the kind, e.g. `disconnected`. */
    this.kind = ctor.kind;
  }
}
EventEngineError.code = 'EE_ERROR';
EventEngineError.codeNumber = 0;
EventEngineError.kind = 'error';

/** An argument was invalid (an empty event, a batch size out of range, a bad option...). */
class InvalidArgumentError extends EventEngineError {}
/** The engine did not answer in time, even after reconnecting (is it running?). */
class DisconnectedError extends EventEngineError {}
/** The engine refused the request; `wireCode` says why (e.g. `pending_full`). */
class ProtocolError extends EventEngineError {}
/** The call was interrupted (its AbortSignal fired). */
class InterruptedError extends EventEngineError {}
/** The plugin has quit (or quit while the call waited); connect again to go on. */
class ClosedError extends EventEngineError {}
/** The engine's reply did not follow the protocol (an engine that speaks only v1?). */
class UnexpectedReplyError extends EventEngineError {}
/** A ZeroMQ call failed. */
class ZmqError extends EventEngineError {}

const CLASSES = [
  [InvalidArgumentError, 1, 'invalid_argument'],
  [DisconnectedError, 2, 'disconnected'],
  [ProtocolError, 3, 'protocol'],
  [InterruptedError, 4, 'interrupted'],
  [ClosedError, 5, 'closed'],
  [UnexpectedReplyError, 6, 'unexpected_reply'],
  [ZmqError, 7, 'zmq'],
];

/** Every string code, by name. */
const ErrorCodes = {};
const byNumber = new Map();
for (const [cls, number, kind] of CLASSES) {
  cls.code = `EE_${kind.toUpperCase()}`;
  cls.codeNumber = number;
  cls.kind = kind;
  ErrorCodes[kind.toUpperCase()] = cls.code;
  byNumber.set(number, cls);
}
Object.freeze(ErrorCodes);

/** Properties the addon sets on some errors, copied to the SDK's error. */
const DETAILS = ['wireCode', 'wireCodeNumber', 'endpoint', 'waitedMs', 'attempts'];

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
    const converted = new cls(e.message);
    for (const key of DETAILS) {
      if (e[key] !== undefined) converted[key] = e[key];
    }
    return converted;
  }
  // napi-rs could not convert an argument (a value of the wrong type reached the addon).
  if (e.code === 'InvalidArg' || e.code === 'NumberExpected' || e.code === 'StringExpected') {
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
  fromNative,
};
