export type ErrorCode = import("./errors.js").ErrorCode;
export type EventData = Buffer | Uint8Array | ArrayBuffer | string;
/**
 * Where to connect and how the connection behaves: a target (`port`, `host`, `endpoint`; none of
 * them: the launch environment), the connection's settings, and:
 */
export type ConnectOptions = NativeTarget & NativeOptions & ConnectExtras;
export type ConnectExtras = {
    /**
     * Ask the engine who the plugin is before resolving (default `true`):
     * an absent engine or one that speaks only protocol v1 then makes `connect` reject.
     */
    hello?: boolean | undefined;
    /**
     * Aborts the connection attempt (the `hello`).
     */
    signal?: AbortSignal | undefined;
};
/**
 * Options of calls that can be aborted.
 */
export type CallOptions = {
    /**
     * Aborting it makes the call reject with `InterruptedError`
     * (within `pollSliceMs`).
     */
    signal?: AbortSignal | undefined;
};
/**
 * Options of calls that wait for events.
 */
export type ReceiveOptions = {
    /**
     * Aborting it makes the call reject with `InterruptedError`.
     */
    signal?: AbortSignal | undefined;
    /**
     * How long to wait for an event, in milliseconds; `0` only
     * takes what is there. Not given, `null` or `Infinity`: no limit.
     */
    timeoutMs?: number | null | undefined;
};
/**
 * Options of async iteration.
 */
export type EventsOptions = {
    /**
     * Aborting it makes the iteration reject with `InterruptedError`.
     */
    signal?: AbortSignal | undefined;
    /**
     * Iteration ends when no event comes within this time.
     */
    timeoutMs?: number | null | undefined;
    /**
     * Events fetched per round trip (1 to 65536, default 256).
     */
    batchSize?: number | undefined;
};
export type NativePlugin = import("./binding").NativePlugin;
export type NativeOptions = import("./binding").NativeOptions;
export type NativeTarget = import("./binding").NativeTarget;
export type PluginInfo = import("./binding").PluginInfo;
export type PluginStats = import("./binding").PluginStats;
export type FilterInfo = import("./binding").FilterInfo;
/**
 * An external plugin connected to an event-engine: receive the events it subscribes to, publish
 * events. Create it with `await Plugin.connect({ port })`.
 *
 * Calls run one at a time in the order they were made (the protocol is request/reply); each
 * returns a Promise and waits off the event-loop thread. A wait for events is made of waits of
 * at most 250 ms, and calls made meanwhile (a publish while a `for await` waits) run between
 * two of them.
 */
export class Plugin {
    /**
     * Connects to an external plugin's port on an engine and (unless `hello: false`) asks the
     * engine who the plugin is, which also checks that the engine speaks protocol v2. Where it
     * connects is the SDK core's rule (docs/node.md): `endpoint`, else `port` on `host`
     * (127.0.0.1), else the launch environment (`EE_PLUGIN_ENDPOINT`, `EE_PLUGIN_PORT`).
     * @param {ConnectOptions} [options]
     * @returns {Promise<Plugin>}
     */
    static connect(options?: ConnectOptions): Promise<Plugin>;
    /**
     * Use `Plugin.connect()`.
     * @private
     * @param {symbol} token
     * @param {NativePlugin} nativePlugin
     */
    private constructor();
    /**
     * The endpoint this plugin talks to, e.g. `tcp://127.0.0.1:6000`.
     * @returns {string}
     */
    get endpoint(): string;
    /**
     * The plugin's registered name (from the `hello` made by connect(); null with `hello: false`).
     * @returns {string | null}
     */
    get name(): string | null;
    /**
     * True once quit() has been called.
     * @returns {boolean}
     */
    get closed(): boolean;
    /**
     * Who the plugin is and what the engine supports (the protocol's `hello`).
     * @param {CallOptions} [options]
     * @returns {Promise<PluginInfo>}
     */
    info(options?: CallOptions): Promise<PluginInfo>;
    /**
     * The plugin's counters on the engine (the protocol's `stats`).
     * @param {CallOptions} [options]
     * @returns {Promise<PluginStats>}
     */
    stats(options?: CallOptions): Promise<PluginStats>;
    /**
     * The next event, or null when none came within `timeoutMs` (no limit when it is not given).
     * Asking for an event acknowledges the ones received before it (at-least-once delivery).
     * @param {ReceiveOptions} [options]
     * @returns {Promise<Buffer | null>}
     */
    next(options?: ReceiveOptions): Promise<Buffer | null>;
    /**
     * Up to `max` events in one round trip: waits at most `timeoutMs` for the first, then takes
     * every event available at that moment, up to `max` (1 to 65536). Empty when none came in time.
     * @param {number} max
     * @param {ReceiveOptions} [options]
     * @returns {Promise<Buffer[]>}
     */
    nextBatch(max: number, options?: ReceiveOptions): Promise<Buffer[]>;
    /**
     * Publishes one event (its filter first): a Buffer, a Uint8Array or a string (UTF-8).
     * @param {EventData} event
     * @param {CallOptions} [options]
     * @returns {Promise<void>}
     */
    publish(event: EventData, options?: CallOptions): Promise<void>;
    /**
     * Publishes events, in order, in as few round trips as the protocol allows (at most 65536
     * events and the engine's request size each); resolves to how many were published. If a
     * round trip fails, the events of the earlier ones were published. An empty list publishes
     * nothing and sends no request.
     * @param {Iterable<EventData>} events
     * @param {CallOptions} [options]
     * @returns {Promise<number>}
     */
    publishMany(events: Iterable<EventData>, options?: CallOptions): Promise<number>;
    /**
     * Tells the engine this plugin is done and closes the connection. A call waiting for events
     * ends at once (it rejects with ClosedError; async iteration just ends); a publish, info or
     * stats under way completes; calls not started yet, and calls made later, reject with
     * ClosedError. Calling it again returns the same Promise. Once it has been called the plugin
     * holds nothing that keeps Node.js running.
     * @returns {Promise<void>}
     */
    quit(): Promise<void>;
    /**
     * The events, one by one, fetched `batchSize` at a time. With `timeoutMs`, iteration ends when
     * no event comes within that time; without it, it ends when the plugin quits. Leaving the loop
     * early (`break`) loses nothing: events fetched ahead are returned by the next call to
     * next(), nextBatch() or a new iteration.
     * @param {EventsOptions} [options]
     * @returns {AsyncGenerator<Buffer, void, undefined>}
     */
    events(options?: EventsOptions): AsyncGenerator<Buffer, void, undefined>;
    /**
     * `for await (const event of plugin)`: the same as `plugin.events()`.
     * @returns {AsyncGenerator<Buffer, void, undefined>}
     */
    [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined>;
    #private;
}
/** Largest batch of `nextBatch` and of one request of `publishMany` (the protocol's `max_batch`, 65536). */
export const MAX_BATCH: number;
import { EventEngineError } from "./errors.js";
import { InvalidArgumentError } from "./errors.js";
import { DisconnectedError } from "./errors.js";
import { ProtocolError } from "./errors.js";
import { InterruptedError } from "./errors.js";
import { ClosedError } from "./errors.js";
import { UnexpectedReplyError } from "./errors.js";
import { ZmqError } from "./errors.js";
import { ErrorCodes } from "./errors.js";
export { EventEngineError, InvalidArgumentError, DisconnectedError, ProtocolError, InterruptedError, ClosedError, UnexpectedReplyError, ZmqError, ErrorCodes };
