'use strict';
// event-engine for Node.js: an external plugin as a Promise-based class over the shared Rust
// client (the native addon loaded by binding.js). See docs/node.md. The types (index.d.ts) are
// generated from this file's JSDoc by `tsc` and checked with `--strict` by the tests.

/** @typedef {import('./binding').NativePlugin} NativePlugin */
/** @typedef {import('./binding').NativeOptions} NativeOptions */
/** @typedef {import('./binding').NativeTarget} NativeTarget */
/** @typedef {import('./binding').PluginInfo} PluginInfo */
/** @typedef {import('./binding').PluginStats} PluginStats */
/** @typedef {import('./binding').FilterInfo} FilterInfo */

const native = loadBinding();
const {
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
} = require('./errors.js');

/** @typedef {import('./errors.js').ErrorCode} ErrorCode */

/**
 * The native addon, or an error that says how to build it.
 * @returns {typeof import('./binding')}
 */
function loadBinding() {
  try {
    return require('./binding.js');
  } catch (err) {
    const e = Object.assign(
      new Error(
        `event-engine: the native addon for ${process.platform}-${process.arch} could not be loaded ` +
          '(see `cause`). It is built ' +
          `from source when the package is installed; build it with \`npm run build\` in ${__dirname} ` +
          '(needs Rust: https://rustup.rs). See docs/node.md.',
        { cause: err },
      ),
      { code: 'EE_NO_ADDON' },
    );
    throw e;
  }
}

/** Largest batch of `nextBatch` and of one request of `publishMany` (the protocol's `max_batch`, 65536). */
const MAX_BATCH = native.MAX_BATCH;
/** Events fetched per round trip by async iteration, unless told otherwise. */
const DEFAULT_BATCH = 256;
/**
 * Longest wait of one native receiving call; a longer wait is made of several. Between two of
 * them, the calls made meanwhile on the same plugin (a publish while a `for await` waits) get
 * their turn, and a waiting plugin holds one of libuv's worker threads (4 by default, shared
 * with fs, dns, zlib...) for at most this long at a time.
 */
const WAIT_SLICE_MS = 250;

const kCreate = Symbol('Plugin.create');

/** An event as accepted by `publish`: bytes (its filter first), or text sent as UTF-8. */
/** @typedef {Buffer | Uint8Array | ArrayBuffer | string} EventData */

/**
 * Where to connect and how the connection behaves: a target (`port`, `host`, `endpoint`; none of
 * them: the launch environment), the connection's settings, and:
 * @typedef {NativeTarget & NativeOptions & ConnectExtras} ConnectOptions
 */
/**
 * @typedef {object} ConnectExtras
 * @property {boolean} [hello] Ask the engine who the plugin is before resolving (default `true`):
 *   an absent engine or one that speaks only protocol v1 then makes `connect` reject.
 * @property {AbortSignal} [signal] Aborts the connection attempt (the `hello`).
 */
/**
 * Options of calls that can be aborted.
 * @typedef {object} CallOptions
 * @property {AbortSignal} [signal] Aborting it makes the call reject with `InterruptedError`
 *   (within `pollSliceMs`).
 */
/**
 * Options of calls that wait for events.
 * @typedef {object} ReceiveOptions
 * @property {AbortSignal} [signal] Aborting it makes the call reject with `InterruptedError`.
 * @property {number | null} [timeoutMs] How long to wait for an event, in milliseconds; `0` only
 *   takes what is there. Not given, `null` or `Infinity`: no limit.
 */
/**
 * Options of async iteration.
 * @typedef {object} EventsOptions
 * @property {AbortSignal} [signal] Aborting it makes the iteration reject with `InterruptedError`.
 * @property {number | null} [timeoutMs] Iteration ends when no event comes within this time.
 * @property {number} [batchSize] Events fetched per round trip (1 to 65536, default 256).
 */

/**
 * Converts an addon error thrown synchronously.
 * @template T
 * @param {() => T} fn
 * @returns {T}
 */
function nativeCall(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {Record<string, unknown>}
 */
function checkObject(value, what) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw new InvalidArgumentError(`${what} must be an object`);
  return /** @type {Record<string, unknown>} */ (value);
}

/**
 * The target of connect()'s options, for the SDK core to resolve: JavaScript types only
 * (a port given as text is read as a number).
 * @param {Record<string, unknown>} options
 * @returns {NativeTarget}
 */
function targetOf(options) {
  const { port, host, endpoint } = options;
  return /** @type {NativeTarget} */ ({
    port: typeof port === 'string' && port.trim() !== '' ? Number(port) : port,
    host,
    endpoint,
  });
}

/**
 * timeoutMs, checked by the SDK core: `undefined` for no limit, else milliseconds from 0.
 * @param {Record<string, unknown>} options
 * @returns {number | undefined}
 */
function timeoutOf(options) {
  const t = options.timeoutMs;
  if (t !== undefined && t !== null && typeof t !== 'number') {
    throw new InvalidArgumentError(`timeoutMs must be a number of milliseconds from 0, or Infinity (got ${String(t)})`);
  }
  return nativeCall(() => native.checkTimeout(/** @type {number | null | undefined} */ (t))) ?? undefined;
}

/**
 * @param {Record<string, unknown>} options
 * @returns {AbortSignal | undefined}
 */
function signalOf(options) {
  const s = options.signal;
  if (s === undefined || s === null) return undefined;
  if (typeof s !== 'object' || !('addEventListener' in s) || typeof s.addEventListener !== 'function' || !('aborted' in s)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  return /** @type {AbortSignal} */ (s);
}

/**
 * A batch size, checked by the SDK core.
 * @param {unknown} max
 * @param {string} what
 * @returns {number}
 */
function batchSizeOf(max, what) {
  if (typeof max !== 'number') {
    throw new InvalidArgumentError(`${what} must be a whole number from 1 to ${MAX_BATCH} (got ${String(max)})`);
  }
  return nativeCall(() => native.checkBatchSize(max, what));
}

/**
 * An event as a Buffer: Buffers as they are, other byte views without a copy, text as UTF-8.
 * @param {unknown} event
 * @param {number} [index]
 * @returns {Buffer}
 */
function toBuffer(event, index) {
  if (Buffer.isBuffer(event)) return event;
  if (ArrayBuffer.isView(event)) return Buffer.from(event.buffer, event.byteOffset, event.byteLength);
  if (event instanceof ArrayBuffer) return Buffer.from(event);
  if (typeof event === 'string') return Buffer.from(event, 'utf8');
  const where = index === undefined ? 'an event' : `event ${index + 1}`;
  throw new InvalidArgumentError(`${where} must be a Buffer, a Uint8Array or a string (got ${typeof event})`);
}

/**
 * @param {AbortSignal} signal
 * @returns {InstanceType<typeof InterruptedError>}
 */
function interrupted(signal) {
  return new InterruptedError('the call was aborted', { cause: signal.reason });
}

/**
 * An external plugin connected to an event-engine: receive the events it subscribes to, publish
 * events. Create it with `await Plugin.connect({ port })`.
 *
 * Calls run one at a time in the order they were made (the protocol is request/reply); each
 * returns a Promise and waits off the event-loop thread. A wait for events is made of waits of
 * at most 250 ms, and calls made meanwhile (a publish while a `for await` waits) run between
 * two of them.
 */
class Plugin {
  /** @type {NativePlugin} */
  #native;
  /** @type {string} */
  #endpoint;
  /** @type {PluginInfo | null} */
  #info = null;
  /**
   * The last call in line; never rejects.
   * @type {Promise<void>}
   */
  #tail = Promise.resolve();
  /** True while a native call runs. */
  #busy = false;
  /** True while the running native call waits for events. */
  #receiving = false;
  /** True once native.cancel() was called for the running call. */
  #cancelled = false;
  #closing = false;
  #closed = false;
  /** @type {Promise<void> | null} */
  #quitting = null;
  /**
   * Events fetched ahead by async iteration and not yet handed out.
   * @type {(Buffer | undefined)[]}
   */
  #ahead = [];
  #aheadPos = 0;

  /**
   * Use `Plugin.connect()`.
   * @private
   * @param {symbol} token
   * @param {NativePlugin} nativePlugin
   */
  constructor(token, nativePlugin) {
    if (token !== kCreate) throw new TypeError('use `await Plugin.connect({ port })`');
    this.#native = nativePlugin;
    this.#endpoint = nativePlugin.endpoint;
  }

  /**
   * Connects to an external plugin's port on an engine and (unless `hello: false`) asks the
   * engine who the plugin is, which also checks that the engine speaks protocol v2. Where it
   * connects is the SDK core's rule (docs/node.md): `endpoint`, else `port` on `host`
   * (127.0.0.1), else the launch environment (`EE_PLUGIN_ENDPOINT`, `EE_PLUGIN_PORT`).
   * @param {ConnectOptions} [options]
   * @returns {Promise<Plugin>}
   */
  static async connect(options) {
    const opts = checkObject(options, 'options');
    const signal = signalOf(opts);
    const opened = nativeCall(() => native.NativePlugin.open(targetOf(opts), /** @type {NativeOptions} */ (opts)));
    const plugin = new Plugin(kCreate, opened);
    if (opts.hello !== false) {
      try {
        plugin.#info = await plugin.info({ signal });
      } catch (e) {
        plugin.#closed = true;
        throw e;
      }
    }
    return plugin;
  }

  /**
   * The endpoint this plugin talks to, e.g. `tcp://127.0.0.1:6000`.
   * @returns {string}
   */
  get endpoint() {
    return this.#endpoint;
  }

  /**
   * The plugin's registered name (from the `hello` made by connect(); null with `hello: false`).
   * @returns {string | null}
   */
  get name() {
    return this.#info ? this.#info.name : null;
  }

  /**
   * True once quit() has been called.
   * @returns {boolean}
   */
  get closed() {
    return this.#closing || this.#closed;
  }

  /**
   * Runs `fn` (which starts a native call) after every call made before it. Rejects with
   * ClosedError once quit() has been called, and with InterruptedError when `signal` fires.
   * @template T
   * @param {() => T | Promise<T>} fn
   * @param {AbortSignal | undefined} signal
   * @returns {Promise<T>}
   */
  #call(fn, signal, isQuit = false, receive = false) {
    if (this.#closing && !isQuit) return Promise.reject(new ClosedError('the plugin has quit'));
    if (signal && signal.aborted) return Promise.reject(interrupted(signal));
    const before = this.#tail;
    /** @type {() => void} */
    let release = () => {};
    this.#tail = new Promise((resolve) => {
      release = resolve;
    });
    return this.#run(before, fn, signal, isQuit, receive).finally(release);
  }

  /**
   * @template T
   * @param {Promise<void>} before
   * @param {() => T | Promise<T>} fn
   * @param {AbortSignal | undefined} signal
   * @param {boolean} isQuit
   * @param {boolean} receive
   * @returns {Promise<T>}
   */
  async #run(before, fn, signal, isQuit, receive) {
    await before;
    if (this.#closing && !isQuit) throw new ClosedError('the plugin has quit');
    if (signal && signal.aborted) throw interrupted(signal);
    /** @type {(() => void) | undefined} */
    let onAbort;
    if (signal) {
      onAbort = () => this.#cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#busy = true;
    this.#receiving = receive;
    try {
      return await fn();
    } catch (e) {
      const err = fromNative(e);
      if (err instanceof InterruptedError) {
        if (this.#closing && !isQuit) {
          throw new ClosedError('the plugin quit while the call waited');
        }
        if (signal && signal.aborted) throw interrupted(signal);
      }
      throw err;
    } finally {
      this.#busy = false;
      this.#receiving = false;
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
      if (this.#cancelled) {
        this.#cancelled = false;
        this.#native.resetCancel();
      }
    }
  }

  /** Interrupts the running native call (it ends within `pollSliceMs`, 100 ms by default). */
  #cancel() {
    if (this.#busy && !this.#cancelled) {
      this.#cancelled = true;
      this.#native.cancel();
    }
  }

  /**
   * Up to `max` events fetched ahead by iteration, if any.
   * @param {number} max
   * @returns {Buffer[] | null}
   */
  #takeAhead(max) {
    const available = this.#ahead.length - this.#aheadPos;
    if (available === 0) return null;
    const n = Math.min(max, available);
    const out = /** @type {Buffer[]} */ (this.#ahead.slice(this.#aheadPos, this.#aheadPos + n));
    this.#aheadPos += n;
    if (this.#aheadPos === this.#ahead.length) {
      this.#ahead = [];
      this.#aheadPos = 0;
    }
    return out;
  }

  /**
   * Receives up to `max` events (`one`: a Buffer or null), waiting at most `timeoutMs`
   * (undefined: no limit) in native calls of at most WAIT_SLICE_MS, each its own turn in line.
   * @param {number} max
   * @param {number | undefined} timeoutMs
   * @param {AbortSignal | undefined} signal
   * @returns {Promise<Buffer[]>}
   */
  async #receive(max, timeoutMs, signal) {
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      let last = false;
      const got = await this.#call(() => {
        const ahead = this.#takeAhead(max);
        if (ahead) return ahead;
        const left = deadline - performance.now();
        last = left <= WAIT_SLICE_MS;
        const slice = Math.max(0, Math.min(left, WAIT_SLICE_MS));
        return max === 1
          ? this.#native.next(slice).then((e) => (e === null ? [] : [e]))
          : this.#native.nextBatch(max, slice);
      }, signal, false, true);
      if (last || got.length > 0) return got;
    }
  }

  /**
   * Who the plugin is and what the engine supports (the protocol's `hello`).
   * @param {CallOptions} [options]
   * @returns {Promise<PluginInfo>}
   */
  info(options) {
    try {
      const signal = signalOf(checkObject(options, 'options'));
      return this.#call(() => this.#native.info(), signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The plugin's counters on the engine (the protocol's `stats`).
   * @param {CallOptions} [options]
   * @returns {Promise<PluginStats>}
   */
  stats(options) {
    try {
      const signal = signalOf(checkObject(options, 'options'));
      return this.#call(() => this.#native.stats(), signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The next event, or null when none came within `timeoutMs` (no limit when it is not given).
   * Asking for an event acknowledges the ones received before it (at-least-once delivery).
   * @param {ReceiveOptions} [options]
   * @returns {Promise<Buffer | null>}
   */
  next(options) {
    try {
      const opts = checkObject(options, 'options');
      const timeoutMs = timeoutOf(opts);
      const signal = signalOf(opts);
      return this.#receive(1, timeoutMs, signal).then((events) => events[0] ?? null);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Up to `max` events in one round trip: waits at most `timeoutMs` for the first, then takes
   * every event available at that moment, up to `max` (1 to 65536). Empty when none came in time.
   * @param {number} max
   * @param {ReceiveOptions} [options]
   * @returns {Promise<Buffer[]>}
   */
  nextBatch(max, options) {
    try {
      const n = batchSizeOf(max, 'max');
      const opts = checkObject(options, 'options');
      const timeoutMs = timeoutOf(opts);
      const signal = signalOf(opts);
      return this.#receive(n, timeoutMs, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Publishes one event (its filter first): a Buffer, a Uint8Array or a string (UTF-8).
   * @param {EventData} event
   * @param {CallOptions} [options]
   * @returns {Promise<void>}
   */
  publish(event, options) {
    try {
      const events = [toBuffer(event)];
      const signal = signalOf(checkObject(options, 'options'));
      return this.#call(() => this.#native.publish(events), signal).then(() => undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Publishes events, in order, in as few round trips as the protocol allows (at most 65536
   * events and the engine's request size each); resolves to how many were published. If a
   * round trip fails, the events of the earlier ones were published. An empty list publishes
   * nothing and sends no request.
   * @param {Iterable<EventData>} events
   * @param {CallOptions} [options]
   * @returns {Promise<number>}
   */
  publishMany(events, options) {
    try {
      if (events === null || typeof events !== 'object' || typeof events[Symbol.iterator] !== 'function') {
        throw new InvalidArgumentError('events must be an array (or an iterable) of Buffers, Uint8Arrays or strings');
      }
      const buffers = Array.from(events, (e, i) => toBuffer(e, i));
      if (buffers.length === 0) return Promise.resolve(0);
      const signal = signalOf(checkObject(options, 'options'));
      return this.#call(() => this.#native.publish(buffers), signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Tells the engine this plugin is done and closes the connection. A call waiting for events
   * ends at once (it rejects with ClosedError; async iteration just ends); a publish, info or
   * stats under way completes; calls not started yet, and calls made later, reject with
   * ClosedError. Calling it again returns the same Promise. Once it has been called the plugin
   * holds nothing that keeps Node.js running.
   * @returns {Promise<void>}
   */
  quit() {
    if (this.#quitting) return this.#quitting;
    if (this.#closed) {
      this.#quitting = Promise.resolve();
      return this.#quitting;
    }
    this.#closing = true;
    // A wait for events ends now; a publish, info or stats under way completes first.
    if (this.#receiving) this.#cancel();
    this.#quitting = this.#call(() => this.#native.quit(), undefined, true)
      .then(() => undefined)
      .finally(() => {
        this.#closed = true;
        this.#ahead = [];
        this.#aheadPos = 0;
      });
    return this.#quitting;
  }

  /**
   * The events, one by one, fetched `batchSize` at a time. With `timeoutMs`, iteration ends when
   * no event comes within that time; without it, it ends when the plugin quits. Leaving the loop
   * early (`break`) loses nothing: events fetched ahead are returned by the next call to
   * next(), nextBatch() or a new iteration.
   * @param {EventsOptions} [options]
   * @returns {AsyncGenerator<Buffer, void, undefined>}
   */
  async *events(options) {
    const opts = checkObject(options, 'options');
    const batchSize = opts.batchSize === undefined ? DEFAULT_BATCH : batchSizeOf(opts.batchSize, 'batchSize');
    const timeoutMs = timeoutOf(opts);
    const signal = signalOf(opts);
    for (;;) {
      if (this.#aheadPos === this.#ahead.length) {
        let batch;
        try {
          batch = await this.#receive(batchSize, timeoutMs, signal);
        } catch (e) {
          if (e instanceof ClosedError) return;
          throw e;
        }
        if (batch.length === 0) return;
        if (this.#aheadPos === this.#ahead.length) {
          this.#ahead = batch;
          this.#aheadPos = 0;
        } else {
          this.#ahead = this.#ahead.slice(this.#aheadPos).concat(batch);
          this.#aheadPos = 0;
        }
      }
      const event = /** @type {Buffer} */ (this.#ahead[this.#aheadPos]);
      this.#ahead[this.#aheadPos] = undefined;
      this.#aheadPos += 1;
      if (this.#aheadPos === this.#ahead.length) {
        this.#ahead = [];
        this.#aheadPos = 0;
      }
      yield event;
    }
  }

  /**
   * `for await (const event of plugin)`: the same as `plugin.events()`.
   * @returns {AsyncGenerator<Buffer, void, undefined>}
   */
  [Symbol.asyncIterator]() {
    return this.events();
  }
}

module.exports = {
  Plugin,
  MAX_BATCH,
  EventEngineError,
  InvalidArgumentError,
  DisconnectedError,
  ProtocolError,
  InterruptedError,
  ClosedError,
  UnexpectedReplyError,
  ZmqError,
  ErrorCodes,
};
