export type Kind = keyof typeof KINDS;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
/** @typedef {keyof typeof KINDS} Kind */
/** @typedef {(typeof ErrorCodes)[keyof typeof ErrorCodes]} ErrorCode */
/** Base class of every error the SDK raises. */
export class EventEngineError extends Error {
    /** Stable string code of the class's kind, e.g. `EE_DISCONNECTED`. */
    static code: string;
    /** Stable number of the class's kind (1 to 7), the same in every SDK. */
    static codeNumber: number;
    /** Stable snake_case name of the class's kind, e.g. `disconnected`. */
    static kind: string;
    /**
     * @param {string} message
     * @param {{ cause?: unknown }} [options]
     */
    constructor(message: string, options?: {
        cause?: unknown;
    });
    /**
     * Stable string code, e.g. `EE_DISCONNECTED`.
     * @readonly
     * @type {ErrorCode}
     */
    readonly code: ErrorCode;
    /**
     * Stable number of the kind (1 to 7), the same as the C SDK's status and Rust's `Error::code()`.
     * @readonly
     */
    readonly codeNumber: number;
    /**
     * Stable snake_case name of the kind, e.g. `disconnected`.
     * @readonly
     * @type {Kind}
     */
    readonly kind: Kind;
}
/** `EE_INVALID_ARGUMENT` (1): an argument was invalid (an empty event, a batch size out of range, a bad option...). */
export class InvalidArgumentError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_INVALID_ARGUMENT";
}
/** `EE_DISCONNECTED` (2): the engine did not answer in time, even after reconnecting (is it running?). */
export class DisconnectedError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_DISCONNECTED";
    /** @type {string | undefined} The endpoint that did not answer. */
    endpoint: string | undefined;
    /** @type {number | undefined} How long the client waited in all, in milliseconds. */
    waitedMs: number | undefined;
    /** @type {number | undefined} How many times the request was sent. */
    attempts: number | undefined;
}
/** `EE_PROTOCOL` (3): the engine refused the request; `wireCode` says why (e.g. `pending_full`). */
export class ProtocolError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_PROTOCOL";
    /** @type {string | undefined} The engine's error code, e.g. `pending_full` (docs/protocol.md §4.2). */
    wireCode: string | undefined;
    /** @type {number | undefined} Its number, 1 to 9. */
    wireCodeNumber: number | undefined;
}
/** `EE_INTERRUPTED` (4): the call's AbortSignal fired; `cause` is the signal's reason. */
export class InterruptedError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_INTERRUPTED";
}
/** `EE_CLOSED` (5): the plugin has quit (or quit while the call waited); connect again to go on. */
export class ClosedError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_CLOSED";
}
/** `EE_UNEXPECTED_REPLY` (6): the engine's reply did not follow the protocol (an engine that speaks only v1?). */
export class UnexpectedReplyError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_UNEXPECTED_REPLY";
}
/** `EE_ZMQ` (7): a ZeroMQ call failed. */
export class ZmqError extends EventEngineError {
    /** @readonly */
    readonly code: "EE_ZMQ";
}
import { ErrorCodes } from "./kinds.js";
/**
 * The class of every kind of the Rust table: a kind without its class here fails `tsc --strict`.
 * @type {{ readonly [K in Kind]: typeof EventEngineError }}
 */
export const CLASSES: { readonly [K in Kind]: typeof EventEngineError; };
/**
 * Turns an error thrown by the addon into the matching EventEngineError subclass. Errors that
 * are already EventEngineErrors, or that the addon did not raise, are returned as they are.
 * @param {unknown} err
 * @returns {unknown}
 */
export function fromNative(err: unknown): unknown;
import { KINDS } from "./kinds.js";
export { ErrorCodes };
