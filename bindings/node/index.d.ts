/// <reference types="node" />
// Types of the event-engine Node.js SDK (index.js). See docs/node.md.

import type { PluginInfo, PluginStats, FilterInfo } from './binding'

export type { PluginInfo, PluginStats, FilterInfo }

/** An event as accepted by `publish`: bytes (its filter first), or text sent as UTF-8. */
export type EventData = Buffer | Uint8Array | ArrayBuffer | string

/** Largest batch of `nextBatch` and `publishMany` (65536). */
export declare const MAX_BATCH: number

/** Where to connect and how the connection behaves. */
export interface ConnectOptions {
  /**
   * The plugin's TCP port on the engine. Default: `$EE_PLUGIN_ENDPOINT`, else `$EE_PLUGIN_PORT`
   * (what `event-engine run` sets for the plugins it launches).
   */
  port?: number
  /** The engine's host (default `127.0.0.1`); IPv6 addresses may be given bare. */
  host?: string
  /** A full endpoint instead of `host` and `port`, e.g. `tcp://10.0.0.5:6000`. */
  endpoint?: string
  /**
   * Ask the engine who the plugin is before resolving (default `true`): an absent engine or one
   * that speaks only protocol v1 then makes `connect` reject.
   */
  hello?: boolean
  /** How long to wait for a reply beyond what the engine was asked to wait (default 5000). */
  replyTimeoutMs?: number
  /** How many times a request that is safe to repeat is sent again on a fresh connection (default 3). */
  retries?: number
  /** First pause before reconnecting, doubled up to `maxBackoffMs` (default 100). */
  reconnectBackoffMs?: number
  /** Longest pause between reconnects (default 2000). */
  maxBackoffMs?: number
  /** How long a publish may wait while the bus is full; `null`: as long as it takes (default 30000). */
  publishTimeoutMs?: number | null
  /** How often a waiting call checks whether it was interrupted (default 100). */
  pollSliceMs?: number
  /** Longest wait the engine is asked for in one request (default 1000). */
  longPollMs?: number
  /** Aborts the connection attempt (the `hello`). */
  signal?: AbortSignal
}

/** Options of calls that can be aborted. */
export interface CallOptions {
  /** Aborting it makes the call reject with `InterruptedError` (within `pollSliceMs`). */
  signal?: AbortSignal
}

/** Options of calls that wait for events. */
export interface ReceiveOptions extends CallOptions {
  /**
   * How long to wait for an event, in milliseconds; `0` only takes what is there. Not given,
   * `null` or `Infinity`: no limit.
   */
  timeoutMs?: number | null
}

/** Options of async iteration. */
export interface EventsOptions extends ReceiveOptions {
  /** Events fetched per round trip (1 to 65536, default 256). */
  batchSize?: number
}

/**
 * An external plugin connected to an event-engine: it receives the events it subscribes to and
 * publishes events. Calls run one at a time, in the order they were made, off the event-loop
 * thread.
 *
 * ```js
 * const plugin = await Plugin.connect({ port: 6000 })
 * for await (const event of plugin) {
 *   await plugin.publish(`TypeB${event.length - 5}`)
 * }
 * ```
 */
export declare class Plugin implements AsyncIterable<Buffer> {
  private constructor()
  /** Connects to an external plugin's port (see {@link ConnectOptions}). */
  static connect(options?: ConnectOptions): Promise<Plugin>
  /** The endpoint this plugin talks to, e.g. `tcp://127.0.0.1:6000`. */
  readonly endpoint: string
  /** The plugin's registered name (`null` when connected with `hello: false`). */
  readonly name: string | null
  /** True once `quit()` has been called. */
  readonly closed: boolean
  /** Who the plugin is and what the engine supports (the protocol's `hello`). */
  info(options?: CallOptions): Promise<PluginInfo>
  /** The plugin's counters on the engine (the protocol's `stats`). */
  stats(options?: CallOptions): Promise<PluginStats>
  /**
   * The next event, or `null` when none came within `timeoutMs`. Asking for an event
   * acknowledges every event received before it (at-least-once delivery).
   */
  next(options?: ReceiveOptions): Promise<Buffer | null>
  /**
   * Up to `max` events (1 to 65536) in one round trip: waits at most `timeoutMs` for the first,
   * then takes what is available at that moment. Empty when none came in time.
   */
  nextBatch(max: number, options?: ReceiveOptions): Promise<Buffer[]>
  /** Publishes one event (its filter first). */
  publish(event: EventData, options?: CallOptions): Promise<void>
  /** Publishes events in one round trip, in order; resolves to how many (at most 65536). */
  publishMany(events: Iterable<EventData>, options?: CallOptions): Promise<number>
  /**
   * Tells the engine the plugin is done. A call waiting for events ends at once (it rejects with
   * `ClosedError`, iteration just ends); a publish, info or stats under way completes; calls not
   * started yet, and later calls, reject with `ClosedError`. Afterwards the plugin keeps nothing
   * that holds Node.js running.
   */
  quit(): Promise<void>
  /**
   * The events one by one, fetched `batchSize` at a time. Ends when the plugin quits or, with
   * `timeoutMs`, when no event comes in that time. `break` loses nothing: events fetched ahead
   * are returned by the next receiving call.
   */
  events(options?: EventsOptions): AsyncGenerator<Buffer, void, undefined>
  /** The same as `events()`. */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined>
}

/** Stable string codes of the errors, by kind. */
export declare const ErrorCodes: Readonly<{
  INVALID_ARGUMENT: 'EE_INVALID_ARGUMENT'
  DISCONNECTED: 'EE_DISCONNECTED'
  PROTOCOL: 'EE_PROTOCOL'
  INTERRUPTED: 'EE_INTERRUPTED'
  CLOSED: 'EE_CLOSED'
  UNEXPECTED_REPLY: 'EE_UNEXPECTED_REPLY'
  ZMQ: 'EE_ZMQ'
}>

/** The string code of an error. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Base class of every error of the SDK. */
export declare class EventEngineError extends Error {
  /** Stable string code, e.g. `EE_DISCONNECTED`. */
  readonly code: ErrorCode
  /** Stable numeric code, 1 to 7 (the same in every SDK). */
  readonly codeNumber: number
  /** Stable snake_case kind, e.g. `disconnected`. */
  readonly kind: string
  static readonly code: string
  static readonly codeNumber: number
  static readonly kind: string
}
/** `EE_INVALID_ARGUMENT` (1): an argument was invalid. */
export declare class InvalidArgumentError extends EventEngineError {
  readonly code: 'EE_INVALID_ARGUMENT'
}
/** `EE_DISCONNECTED` (2): the engine did not answer in time, even after reconnecting. */
export declare class DisconnectedError extends EventEngineError {
  readonly code: 'EE_DISCONNECTED'
  /** The endpoint that did not answer. */
  readonly endpoint?: string
  /** How long the client waited in all. */
  readonly waitedMs?: number
  /** How many times the request was sent. */
  readonly attempts?: number
}
/** `EE_PROTOCOL` (3): the engine refused the request. */
export declare class ProtocolError extends EventEngineError {
  readonly code: 'EE_PROTOCOL'
  /** The engine's error code, e.g. `pending_full` (docs/protocol.md §4.2). */
  readonly wireCode?: string
  /** Its number, 1 to 9. */
  readonly wireCodeNumber?: number
}
/** `EE_INTERRUPTED` (4): the call's AbortSignal fired; `cause` is the signal's reason. */
export declare class InterruptedError extends EventEngineError {
  readonly code: 'EE_INTERRUPTED'
}
/** `EE_CLOSED` (5): the plugin has quit. */
export declare class ClosedError extends EventEngineError {
  readonly code: 'EE_CLOSED'
}
/** `EE_UNEXPECTED_REPLY` (6): the reply did not follow the protocol (an engine speaking only v1?). */
export declare class UnexpectedReplyError extends EventEngineError {
  readonly code: 'EE_UNEXPECTED_REPLY'
}
/** `EE_ZMQ` (7): a ZeroMQ call failed. */
export declare class ZmqError extends EventEngineError {
  readonly code: 'EE_ZMQ'
}
