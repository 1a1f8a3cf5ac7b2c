'use strict';
// event-engine for Node.js: an external plugin as a Promise-based class over the shared Rust
// client (the native addon loaded by binding.js). See docs/node.md.

const { NativePlugin } = loadBinding();
const errors = require('./errors.js');

const { ClosedError, InterruptedError, InvalidArgumentError, fromNative } = errors;

/** The native addon, or an error that says how to build it. */
function loadBinding() {
  try {
    return require('./binding.js');
  } catch (err) {
    const e = new Error(
      `event-engine: the native addon for ${process.platform}-${process.arch} could not be loaded ` +
        '(see `cause`). It is built ' +
        `from source when the package is installed; build it with \`npm run build\` in ${__dirname} ` +
        '(needs Rust: https://rustup.rs). See docs/node.md.',
      { cause: err },
    );
    e.code = 'EE_NO_ADDON';
    throw e;
  }
}

/** Largest batch of `nextBatch` and `publishMany` (the protocol's `max_batch`). */
const MAX_BATCH = 65536;
/** Events fetched per round trip by async iteration, unless told otherwise. */
const DEFAULT_BATCH = 256;
/**
 * Longest wait of one native receiving call; a longer wait is made of several. Between two of
 * them, the calls made meanwhile on the same plugin (a publish while a `for await` waits) get
 * their turn, and a waiting plugin holds one of libuv's worker threads (4 by default, shared
 * with fs, dns, zlib...) for at most this long at a time.
 */
const WAIT_SLICE_MS = 250;

const NATIVE_OPTIONS = [
  'replyTimeoutMs',
  'retries',
  'reconnectBackoffMs',
  'maxBackoffMs',
  'publishTimeoutMs',
  'pollSliceMs',
  'longPollMs',
];

const kCreate = Symbol('Plugin.create');

function invalid(message) {
  return new InvalidArgumentError(message);
}

function checkObject(value, what) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalid(`${what} must be an object`);
  return value;
}

/** The endpoint from connect()'s options, or from the launch environment. */
function endpointOf(options) {
  if (options.endpoint !== undefined) {
    if (typeof options.endpoint !== 'string') throw invalid('endpoint must be a string');
    return options.endpoint;
  }
  let port = options.port;
  if (port === undefined && process.env.EE_PLUGIN_ENDPOINT && options.host === undefined) {
    return process.env.EE_PLUGIN_ENDPOINT;
  }
  if (port === undefined && process.env.EE_PLUGIN_PORT) port = Number(process.env.EE_PLUGIN_PORT);
  if (port === undefined) {
    throw invalid(
      'no port: pass { port } (or { endpoint }), or set EE_PLUGIN_PORT (event-engine sets it for ' +
        'the plugins it launches)',
    );
  }
  if (typeof port === 'string' && port.trim() !== '') port = Number(port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`port must be an integer from 1 to 65535 (got ${String(options.port ?? port)})`);
  }
  let host = options.host === undefined ? '127.0.0.1' : options.host;
  if (typeof host !== 'string' || host === '') throw invalid('host must be a non-empty string');
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `tcp://${host}:${port}`;
}

function nativeOptionsOf(options) {
  const out = {};
  for (const key of NATIVE_OPTIONS) {
    const value = options[key];
    if (value === undefined) continue;
    if (key === 'publishTimeoutMs' && value === null) {
      out[key] = null;
      continue;
    }
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw invalid(`${key} must be a number (got ${typeof value})`);
    }
    if (key === 'retries' && (!Number.isInteger(value) || value < 0 || value > 0xffffffff)) {
      throw invalid(`retries must be a whole number from 0 (got ${value})`);
    }
    out[key] = value;
  }
  return out;
}

/** timeoutMs: undefined/null/Infinity wait with no limit; otherwise milliseconds from 0. */
function timeoutOf(options) {
  const t = options.timeoutMs;
  if (t === undefined || t === null || t === Infinity) return undefined;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    throw invalid(`timeoutMs must be a number of milliseconds from 0, or Infinity (got ${String(t)})`);
  }
  return t;
}

function signalOf(options) {
  const s = options.signal;
  if (s === undefined || s === null) return undefined;
  if (typeof s !== 'object' || typeof s.addEventListener !== 'function' || !('aborted' in s)) {
    throw invalid('signal must be an AbortSignal');
  }
  return s;
}

function batchSizeOf(max, what) {
  if (!Number.isInteger(max) || max < 1 || max > MAX_BATCH) {
    throw invalid(`${what} must be an integer from 1 to ${MAX_BATCH} (got ${String(max)})`);
  }
  return max;
}

/** An event as a Buffer: Buffers as they are, other byte views without a copy, text as UTF-8. */
function toBuffer(event, index) {
  if (Buffer.isBuffer(event)) return event;
  if (ArrayBuffer.isView(event)) return Buffer.from(event.buffer, event.byteOffset, event.byteLength);
  if (event instanceof ArrayBuffer) return Buffer.from(event);
  if (typeof event === 'string') return Buffer.from(event, 'utf8');
  const where = index === undefined ? 'an event' : `event ${index + 1}`;
  throw invalid(`${where} must be a Buffer, a Uint8Array or a string (got ${typeof event})`);
}

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
  #native;
  #endpoint;
  #info = null;
  /** The last call in line; never rejects. */
  #tail = Promise.resolve();
  /** True while a native call runs. */
  #busy = false;
  /** True while the running native call waits for events. */
  #receiving = false;
  /** True once native.cancel() was called for the running call. */
  #cancelled = false;
  #closing = false;
  #closed = false;
  #quitting = null;
  /** Events fetched ahead by async iteration and not yet handed out. */
  #ahead = [];
  #aheadPos = 0;

  /** @internal Use `Plugin.connect()`. */
  constructor(token, native) {
    if (token !== kCreate) throw new TypeError('use `await Plugin.connect({ port })`');
    this.#native = native;
    this.#endpoint = native.endpoint;
  }

  /**
   * Connects to an external plugin's port on an engine and (unless `hello: false`) asks the
   * engine who the plugin is, which also checks that the engine speaks protocol v2.
   */
  static async connect(options) {
    const opts = checkObject(options, 'options');
    const endpoint = endpointOf(opts);
    const nativeOptions = nativeOptionsOf(opts);
    const signal = signalOf(opts);
    let native;
    try {
      native = NativePlugin.open(endpoint, nativeOptions);
    } catch (e) {
      throw fromNative(e);
    }
    const plugin = new Plugin(kCreate, native);
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

  /** The endpoint this plugin talks to, e.g. `tcp://127.0.0.1:6000`. */
  get endpoint() {
    return this.#endpoint;
  }

  /** The plugin's registered name (from the `hello` made by connect(); null with `hello: false`). */
  get name() {
    return this.#info ? this.#info.name : null;
  }

  /** True once quit() has been called. */
  get closed() {
    return this.#closing || this.#closed;
  }

  /**
   * Runs `fn` (which starts a native call) after every call made before it. Rejects with
   * ClosedError once quit() has been called, and with InterruptedError when `signal` fires.
   */
  #call(fn, signal, isQuit = false, receive = false) {
    if (this.#closing && !isQuit) return Promise.reject(new ClosedError('the plugin has quit'));
    if (signal && signal.aborted) return Promise.reject(interrupted(signal));
    const before = this.#tail;
    let release;
    this.#tail = new Promise((resolve) => {
      release = resolve;
    });
    return this.#run(before, fn, signal, isQuit, receive).finally(release);
  }

  async #run(before, fn, signal, isQuit, receive) {
    await before;
    if (this.#closing && !isQuit) throw new ClosedError('the plugin has quit');
    if (signal && signal.aborted) throw interrupted(signal);
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
      if (onAbort) signal.removeEventListener('abort', onAbort);
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

  /** Up to `max` events fetched ahead by iteration, if any. */
  #takeAhead(max) {
    const available = this.#ahead.length - this.#aheadPos;
    if (available === 0) return null;
    const n = Math.min(max, available);
    const out = this.#ahead.slice(this.#aheadPos, this.#aheadPos + n);
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
   */
  async #receive(one, max, timeoutMs, signal) {
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      let last = false;
      const got = await this.#call(() => {
        const ahead = this.#takeAhead(max);
        if (ahead) return one ? ahead[0] : ahead;
        const left = deadline - performance.now();
        last = left <= WAIT_SLICE_MS;
        const slice = Math.max(0, Math.min(left, WAIT_SLICE_MS));
        return one ? this.#native.next(slice) : this.#native.nextBatch(max, slice);
      }, signal, false, true);
      if (last || (one ? got !== null : got.length > 0)) return got;
    }
  }

  /** Who the plugin is and what the engine supports (the protocol's `hello`). */
  info(options) {
    try {
      const signal = signalOf(checkObject(options, 'options'));
      return this.#call(() => this.#native.info(), signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The plugin's counters on the engine (the protocol's `stats`). */
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
   * Asking for an event acknowledges the ones received before it.
   */
  next(options) {
    try {
      const opts = checkObject(options, 'options');
      const timeoutMs = timeoutOf(opts);
      const signal = signalOf(opts);
      return this.#receive(true, 1, timeoutMs, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Up to `max` events in one round trip: waits at most `timeoutMs` for the first, then takes
   * every event available at that moment, up to `max`. Empty when none came in time.
   */
  nextBatch(max, options) {
    try {
      batchSizeOf(max, 'max');
      const opts = checkObject(options, 'options');
      const timeoutMs = timeoutOf(opts);
      const signal = signalOf(opts);
      return this.#receive(false, max, timeoutMs, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Publishes one event (its filter first): a Buffer, a Uint8Array or a string (UTF-8). */
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
   * Publishes events in one round trip, in order (at most 65536); resolves to how many were
   * published. An empty list publishes nothing and sends no request.
   */
  publishMany(events, options) {
    try {
      if (events === null || typeof events !== 'object' || typeof events[Symbol.iterator] !== 'function') {
        throw invalid('events must be an array (or an iterable) of Buffers, Uint8Arrays or strings');
      }
      const buffers = Array.from(events, (e, i) => toBuffer(e, i));
      if (buffers.length === 0) return Promise.resolve(0);
      if (buffers.length > MAX_BATCH) {
        throw invalid(`at most ${MAX_BATCH} events per batch (got ${buffers.length})`);
      }
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
          batch = await this.#receive(false, batchSize, timeoutMs, signal);
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
      const event = this.#ahead[this.#aheadPos];
      this.#ahead[this.#aheadPos] = undefined;
      this.#aheadPos += 1;
      if (this.#aheadPos === this.#ahead.length) {
        this.#ahead = [];
        this.#aheadPos = 0;
      }
      yield event;
    }
  }

  /** `for await (const event of plugin)`: the same as `plugin.events()`. */
  [Symbol.asyncIterator]() {
    return this.events();
  }
}

module.exports = {
  Plugin,
  MAX_BATCH,
  ...errors,
};
delete module.exports.fromNative;
