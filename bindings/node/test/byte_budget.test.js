'use strict';
// `maxBatchBytes`: a receive's byte budget (the SDK core's ClientOptions::max_batch_bytes, sent
// as `recv max_bytes=`), against a real engine.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const ee = require('..');
const { Plugin } = ee;
const { startEngine, waitFor } = require('./helpers/engine.js');

const SMALL = 100_000;
const BIG = 400_000;
const BUDGET = 250_000;
const MAX_BYTES = 2 ** 40;

/** An event of exactly `size` bytes, its filter and number first. */
function event(i, size) {
  const head = Buffer.from(`TypeA${String(i).padStart(3, '0')}:`);
  return Buffer.concat([head, Buffer.alloc(size - head.length, 'x')]);
}

/** nextBatch(1000) until `n` events came, each call waiting at most 10 s. */
async function batchesOf(plugin, n) {
  const batches = [];
  let got = 0;
  while (got < n) {
    const batch = await plugin.nextBatch(1000, { timeoutMs: 10000 });
    assert.ok(batch.length > 0, `no event within 10 s after ${got}`);
    batches.push(batch);
    got += batch.length;
  }
  return batches;
}

test('batches stay within maxBatchBytes; a larger event comes alone', async () => {
  const engine = await startEngine([
    { name: 'budget', subscriptions: ['TypeA'] },
    { name: 'default', subscriptions: ['TypeA'] },
    { name: 'feeder', subscriptions: ['TypeB'] },
  ]);
  try {
    // Ten events of 100 KB, then one of 400 KB.
    const events = [...Array.from({ length: 10 }, (_, i) => event(i, SMALL)), event(10, BIG)];
    const budget = await Plugin.connect({ port: engine.ports.budget, maxBatchBytes: BUDGET });
    const plain = await Plugin.connect({ port: engine.ports.default });
    const feeder = await Plugin.connect({ port: engine.ports.feeder });
    assert.equal(await feeder.publishMany(events), events.length);
    await feeder.quit();
    // Every event is held by the engine for both plugins before the first receive, so each
    // batch is cut by the budget alone, not by what had arrived.
    for (const plugin of [budget, plain]) {
      await waitFor(async () => (await plugin.stats()).buffered === events.length, {
        timeoutMs: 20000,
        what: 'the events at the engine',
      });
    }

    const got = await batchesOf(budget, events.length);
    assert.deepEqual(got.map((b) => b.length), [2, 2, 2, 2, 2, 1]);
    for (const b of got.slice(0, -1)) assert.ok(b.reduce((n, e) => n + e.length, 0) <= BUDGET);
    assert.ok(got[got.length - 1][0].equals(events[events.length - 1])); // larger: alone
    const flat = got.flat();
    assert.equal(flat.length, events.length);
    flat.forEach((e, i) => assert.ok(e.equals(events[i]), `event ${i} out of order`));
    await budget.quit();

    // The default budget (64 MiB) takes them all at once.
    const all = await batchesOf(plain, events.length);
    assert.deepEqual(all.map((b) => b.length), [events.length]);
    await plain.quit();
  } finally {
    await engine.stop();
  }
});

test('a bad maxBatchBytes is refused with the SDK core\'s words', async () => {
  for (const bad of [0, -1, 1.5, MAX_BYTES + 1, NaN]) {
    await assert.rejects(Plugin.connect({ port: 1, hello: false, maxBatchBytes: bad }), (e) => {
      assert.ok(e instanceof ee.InvalidArgumentError, `${e && e.name}: ${e && e.message}`);
      assert.equal(e.code, 'EE_INVALID_ARGUMENT');
      // As the C and Python SDKs say it, with Node.js's name of the option.
      assert.equal(e.message, `invalid argument: maxBatchBytes must be a whole number from 1 to ${MAX_BYTES} (got ${bad})`);
      return true;
    });
  }
  for (const ok of [1, MAX_BYTES]) {
    const plugin = await Plugin.connect({ port: 1, hello: false, maxBatchBytes: ok });
    await plugin.quit().catch(() => {});
  }
});
