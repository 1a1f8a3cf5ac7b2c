'use strict';
// The Plugin API against a real engine: the example flow, time-outs, batches, errors, quit.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const ee = require('..');
const { Plugin } = ee;
const { startEngine } = require('./helpers/engine.js');

/**
 * A TCP listener that accepts connections and never answers (no ZeroMQ handshake): an engine
 * that does not reply. The test owns the port, so no other process can take it meanwhile.
 */
function silentListener() {
  return new Promise((resolve, reject) => {
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const close = () =>
        new Promise((done) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => done());
        });
      resolve({ port: server.address().port, close });
    });
  });
}

/** Collects `n` events from `plugin`, each within `timeoutMs`. */
async function collect(plugin, n, timeoutMs = 5000) {
  const out = [];
  while (out.length < n) {
    const batch = await plugin.nextBatch(n - out.length, { timeoutMs });
    assert.ok(batch.length > 0, `only ${out.length} of ${n} events arrived`);
    out.push(...batch);
  }
  return out;
}

describe('with an engine', () => {
  let engine;
  const open = [];

  /** Connects to a plugin port of the engine (once per plugin: quit ends the plugin on the
   * engine); quit at the end of the file. */
  async function connect(name, options = {}) {
    const plugin = await Plugin.connect({ port: engine.ports[name], ...options });
    open.push(plugin);
    return plugin;
  }

  before(async () => {
    engine = await startEngine([
      { name: 'flow', subscriptions: ['TypeA'] },
      { name: 'flowFeeder', subscriptions: ['TypeB'] },
      { name: 'timeouts', subscriptions: ['Never'] },
      { name: 'batches', subscriptions: ['Batch'] },
      { name: 'batchFeeder', subscriptions: [] },
      { name: 'errors', subscriptions: ['Err'] },
      { name: 'abort', subscriptions: ['Never'] },
      { name: 'quitter', subscriptions: ['Never'] },
      { name: 'iter', subscriptions: ['Iter'] },
      { name: 'iterFeeder', subscriptions: [] },
      { name: 'info', subscriptions: ['Info', { hex: '0100' }] },
      { name: 'busy', subscriptions: ['Busy'] },
      { name: 'fromEnv', subscriptions: [] },
      { name: 'busyWatcher', subscriptions: ['Seen'] },
    ]);
  });

  after(async () => {
    // Quit every plugin of the engine, the ones no test used too.
    const used = new Set(open.map((p) => p.name));
    for (const [name, port] of Object.entries(engine.ports)) {
      if (!used.has(name)) open.push(await Plugin.connect({ port, hello: false }));
    }
    await Promise.all(open.map((p) => p.quit()));
    // Every plugin has quit: the engine finishes by itself, with status 0.
    let timer;
    const exit = await Promise.race([
      engine.exited,
      new Promise((r) => {
        timer = setTimeout(() => r(null), 10000);
      }),
    ]);
    clearTimeout(timer);
    const stopped = await engine.stop();
    assert.deepEqual(exit && { code: exit.code, signal: exit.signal }, { code: 0, signal: null }, stopped && stopped.stderr);
  });

  test('the example flow: read 10 events, publish one, quit', async () => {
    const plugin = await connect('flow');
    const feeder = await connect('flowFeeder');
    assert.equal(plugin.name, 'flow');
    const sent = Array.from({ length: 10 }, (_, i) => `TypeAevent ${i}`);
    assert.equal(await feeder.publishMany(sent), 10);

    const received = [];
    for await (const event of plugin) {
      assert.ok(Buffer.isBuffer(event));
      received.push(event.toString());
      if (received.length === 10) break;
    }
    assert.deepEqual(received, sent);

    await plugin.publish(`TypeBread ${received.length}`);
    const answer = await feeder.next({ timeoutMs: 5000 });
    assert.equal(answer && answer.toString(), 'TypeBread 10');

    const stats = await plugin.stats();
    assert.equal(stats.name, 'flow');
    assert.equal(stats.delivered, 10);
    assert.equal(stats.published, 1);

    await plugin.quit();
    assert.equal(plugin.closed, true);
    await assert.rejects(plugin.next({ timeoutMs: 0 }), (e) => e instanceof ee.ClosedError);
    await plugin.quit(); // twice is harmless
  });

  test('info() describes the plugin and the engine', async () => {
    const plugin = await connect('info');
    const info = await plugin.info();
    assert.equal(info.name, 'info');
    assert.equal(info.protocol, 2);
    assert.deepEqual(info.versions, [1, 2]);
    assert.deepEqual(info.subscriptions, [
      { hex: Buffer.from('Info').toString('hex'), text: 'Info' },
      { hex: '0100' },
    ]);
    assert.equal(info.maxBatch, ee.MAX_BATCH);
    assert.match(info.engine, /^event-engine /);
  });

  test('connect() finds the port in the launch environment', async () => {
    const saved = { port: process.env.EE_PLUGIN_PORT, endpoint: process.env.EE_PLUGIN_ENDPOINT };
    try {
      delete process.env.EE_PLUGIN_ENDPOINT;
      process.env.EE_PLUGIN_PORT = String(engine.ports.fromEnv);
      const plugin = await Plugin.connect();
      open.push(plugin);
      assert.equal(plugin.name, 'fromEnv');
      assert.equal(plugin.endpoint, `tcp://127.0.0.1:${engine.ports.fromEnv}`);
      process.env.EE_PLUGIN_ENDPOINT = `tcp://127.0.0.1:${engine.ports.fromEnv}`;
      process.env.EE_PLUGIN_PORT = 'not a port'; // the endpoint wins
      const again = await Plugin.connect({ hello: false });
      assert.equal(again.endpoint, process.env.EE_PLUGIN_ENDPOINT);
      delete process.env.EE_PLUGIN_ENDPOINT;
      await assert.rejects(Plugin.connect(), ee.InvalidArgumentError);
      delete process.env.EE_PLUGIN_PORT;
      await assert.rejects(Plugin.connect(), (e) => e instanceof ee.InvalidArgumentError && /EE_PLUGIN_PORT/.test(e.message));
    } finally {
      for (const [key, value] of [['EE_PLUGIN_PORT', saved.port], ['EE_PLUGIN_ENDPOINT', saved.endpoint]]) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('time-outs: next() and nextBatch() resolve empty after timeoutMs', async () => {
    const plugin = await connect('timeouts');
    let t0 = performance.now();
    assert.equal(await plugin.next({ timeoutMs: 300 }), null);
    let waited = performance.now() - t0;
    assert.ok(waited >= 280 && waited < 3000, `next waited ${waited} ms for 300`);

    t0 = performance.now();
    assert.deepEqual(await plugin.nextBatch(10, { timeoutMs: 150 }), []);
    waited = performance.now() - t0;
    assert.ok(waited >= 130 && waited < 3000, `nextBatch waited ${waited} ms for 150`);

    t0 = performance.now();
    assert.equal(await plugin.next({ timeoutMs: 0 }), null);
    assert.ok(performance.now() - t0 < 1000);

    // Longer than the client's 1 s long poll: made of several requests, still one answer.
    t0 = performance.now();
    assert.equal(await plugin.next({ timeoutMs: 1300 }), null);
    waited = performance.now() - t0;
    assert.ok(waited >= 1250 && waited < 4000, `next waited ${waited} ms for 1300`);

    // Iteration with a time-out ends when no event comes.
    const seen = [];
    for await (const e of plugin.events({ timeoutMs: 50 })) seen.push(e);
    assert.deepEqual(seen, []);
  });

  test('batches: every event once, in order, many per round trip', async () => {
    const plugin = await connect('batches');
    const feeder = await connect('batchFeeder');
    const total = 3000;
    const sent = Array.from({ length: total }, (_, i) => Buffer.from(`Batch${i}`));
    for (let i = 0; i < total; i += 1000) {
      assert.equal(await feeder.publishMany(sent.slice(i, i + 1000)), 1000);
    }
    // Wait until the engine holds them all, so that batches are full.
    const received = [];
    let roundTrips = 0;
    while (received.length < total) {
      const batch = await plugin.nextBatch(500, { timeoutMs: 5000 });
      assert.ok(batch.length > 0 && batch.length <= 500, `batch of ${batch.length}`);
      roundTrips += 1;
      received.push(...batch);
    }
    assert.equal(received.length, total);
    assert.deepEqual(
      received.map((b) => b.toString()),
      sent.map((b) => b.toString()),
    );
    assert.ok(roundTrips < total / 10, `${roundTrips} round trips for ${total} events`);
    assert.deepEqual(await plugin.nextBatch(10, { timeoutMs: 0 }), []);
    const stats = await plugin.stats();
    assert.equal(stats.delivered, total);
    assert.equal(stats.redelivered, 0);
  });

  test('iteration fetches ahead, and break loses nothing', async () => {
    const plugin = await connect('iter');
    const feeder = await connect('iterFeeder');
    const sent = Array.from({ length: 20 }, (_, i) => `Iter${i}`);
    await feeder.publishMany(sent);
    let got = [];
    for await (const e of plugin.events({ batchSize: 100 })) {
      got.push(e.toString());
      if (got.length === 3) break;
    }
    // The events fetched ahead come first, in order, from next() and nextBatch().
    got.push((await plugin.next({ timeoutMs: 5000 })).toString());
    got.push(...(await plugin.nextBatch(2, { timeoutMs: 5000 })).map(String));
    for await (const e of plugin.events({ timeoutMs: 500 })) {
      got.push(e.toString());
      if (got.length === 20) break;
    }
    assert.deepEqual(got, sent);
    got = await plugin.nextBatch(10, { timeoutMs: 0 });
    assert.deepEqual(got, []);
  });

  test('errors are EventEngineError subclasses with stable codes', async () => {
    const plugin = await connect('errors');
    const check = (cls, code, codeNumber) => (e) => {
      assert.ok(e instanceof cls, `${e && e.name}: ${e && e.message}`);
      assert.ok(e instanceof ee.EventEngineError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, cls.name);
      assert.equal(e.code, code);
      assert.equal(e.codeNumber, codeNumber);
      assert.equal(typeof e.message, 'string');
      return true;
    };
    const invalid = check(ee.InvalidArgumentError, 'EE_INVALID_ARGUMENT', 1);
    await assert.rejects(plugin.nextBatch(0), invalid);
    await assert.rejects(plugin.nextBatch(ee.MAX_BATCH + 1), invalid);
    await assert.rejects(plugin.nextBatch(1.5), invalid);
    await assert.rejects(plugin.next({ timeoutMs: -1 }), invalid);
    await assert.rejects(plugin.next({ timeoutMs: 'soon' }), invalid);
    await assert.rejects(plugin.publish(''), invalid); // checked by the Rust client
    await assert.rejects(plugin.publishMany(['Errx', '']), (e) => invalid(e) && /event 2/.test(e.message));
    await assert.rejects(plugin.publish(42), invalid);
    await assert.rejects(plugin.publishMany('Errx'), invalid);
    assert.equal(await plugin.publishMany([]), 0);
    await assert.rejects(Plugin.connect({ port: 70000 }), invalid);
    await assert.rejects(Plugin.connect({ endpoint: 'localhost:5' }), invalid);
    await assert.rejects(Plugin.connect({ port: 1, replyTimeoutMs: -3 }), invalid);
    await assert.rejects(Plugin.connect({ port: 1, retries: 'x' }), invalid);
    // The plugin still works after all of that.
    assert.equal(await plugin.next({ timeoutMs: 0 }), null);

    // No answer: the client gives up after its reply time-out and one retry.
    const silent = await silentListener();
    const port = silent.port;
    const t0 = performance.now();
    await assert.rejects(
      Plugin.connect({ port, replyTimeoutMs: 200, retries: 1, reconnectBackoffMs: 10 }),
      (e) => {
        check(ee.DisconnectedError, 'EE_DISCONNECTED', 2)(e);
        assert.equal(e.attempts, 2);
        assert.equal(e.endpoint, `tcp://127.0.0.1:${port}`);
        assert.ok(e.waitedMs >= 400, `waited ${e.waitedMs}`);
        return true;
      },
    );
    assert.ok(performance.now() - t0 < 5000);
    await silent.close();

    assert.deepEqual(ee.ErrorCodes, {
      INVALID_ARGUMENT: 'EE_INVALID_ARGUMENT',
      DISCONNECTED: 'EE_DISCONNECTED',
      PROTOCOL: 'EE_PROTOCOL',
      INTERRUPTED: 'EE_INTERRUPTED',
      CLOSED: 'EE_CLOSED',
      UNEXPECTED_REPLY: 'EE_UNEXPECTED_REPLY',
      ZMQ: 'EE_ZMQ',
    });
    assert.deepEqual(
      [ee.ProtocolError, ee.InterruptedError, ee.UnexpectedReplyError, ee.ZmqError].map((c) => [c.code, c.codeNumber]),
      [
        ['EE_PROTOCOL', 3],
        ['EE_INTERRUPTED', 4],
        ['EE_UNEXPECTED_REPLY', 6],
        ['EE_ZMQ', 7],
      ],
    );
  });

  test('an AbortSignal interrupts a waiting call, and the plugin goes on', async () => {
    const plugin = await connect('abort');
    const controller = new AbortController();
    const t0 = performance.now();
    const waiting = plugin.next({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('enough')), 100);
    await assert.rejects(waiting, (e) => {
      assert.ok(e instanceof ee.InterruptedError);
      assert.equal(e.code, 'EE_INTERRUPTED');
      assert.equal(e.cause && e.cause.message, 'enough');
      return true;
    });
    assert.ok(performance.now() - t0 < 1500, 'the abort took too long');
    // Already aborted: rejected without a request.
    await assert.rejects(plugin.next({ signal: controller.signal }), ee.InterruptedError);
    // The cancellation does not stick to later calls.
    assert.equal(await plugin.next({ timeoutMs: 50 }), null);
    assert.equal((await plugin.info()).name, 'abort');
  });

  test('a call made while the plugin waits for events runs meanwhile', async () => {
    const plugin = await connect('busy');
    const watcher = await connect('busyWatcher');
    const received = [];
    const loop = (async () => {
      for await (const e of plugin) {
        received.push(e.toString());
        if (received.length === 2) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 50)); // the loop now waits, with no time limit
    for (const text of ['Seen1', 'Seen2']) {
      const t0 = performance.now();
      await plugin.publish(text);
      const took = performance.now() - t0;
      assert.ok(took < 1500, `a publish waited ${took} ms behind the receiving loop`);
      assert.equal(String(await watcher.next({ timeoutMs: 5000 })), text);
    }
    assert.equal((await plugin.stats()).published, 2);
    await watcher.publishMany(['Busy1', 'Busy2']);
    await loop;
    assert.deepEqual(received, ['Busy1', 'Busy2']);
  });

  test('quit() ends a waiting next() and iteration at once', async () => {
    const plugin = await connect('quitter');
    // Rejections are checked now, before they happen (no unhandled rejection meanwhile).
    const waitingNext = assert.rejects(plugin.next(), ee.ClosedError); // no time limit
    const iterated = (async () => {
      const seen = [];
      for await (const e of plugin) seen.push(e);
      return seen;
    })();
    const queuedStats = assert.rejects(plugin.stats(), ee.ClosedError);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await plugin.quit();
    assert.ok(performance.now() - t0 < 1500, `quit took ${performance.now() - t0} ms`);
    await waitingNext;
    await queuedStats;
    assert.deepEqual(await iterated, []);
    await assert.rejects(plugin.publish('x'), ee.ClosedError);
  });
});
