'use strict';
// Blocking work stays off the event-loop thread, and a plugin process exits by itself after
// quit().

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { Plugin } = require('..');
const { startEngine, waitFor } = require('./helpers/engine.js');

let engine;

before(async () => {
  engine = await startEngine([
    { name: 'idle1', subscriptions: ['Never'] },
    { name: 'idle2', subscriptions: ['Never'] },
    { name: 'idle3', subscriptions: ['Never'] },
    { name: 'child1', subscriptions: ['Child'] },
    { name: 'child2', subscriptions: ['Nothing'] },
    { name: 'feeder', subscriptions: [] },
    ...[1, 2, 3, 4, 5].map((i) => ({ name: `pool${i}`, subscriptions: ['Never'] })),
  ]);
});

after(async () => {
  await engine.stop();
});

test('timers keep firing while next() waits', async () => {
  const plugins = await Promise.all(['idle1', 'idle2', 'idle3'].map((name) => Plugin.connect({ port: engine.ports[name] })));
  const ticks = [];
  const interval = setInterval(() => ticks.push(performance.now()), 10);
  const t0 = performance.now();
  // Three plugins waiting at once: three of libuv's four worker threads are busy.
  const results = await Promise.all(plugins.map((p) => p.next({ timeoutMs: 1000 })));
  const elapsed = performance.now() - t0;
  clearInterval(interval);
  assert.deepEqual(results, [null, null, null]);
  assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
  // A 10 ms interval fires about 100 times in a second; a blocked loop would fire it once.
  assert.ok(ticks.length >= 50, `only ${ticks.length} ticks in ${elapsed} ms`);
  let worstGap = 0;
  for (let i = 1; i < ticks.length; i++) worstGap = Math.max(worstGap, ticks[i] - ticks[i - 1]);
  assert.ok(worstGap < 250, `the event loop stalled for ${worstGap} ms`);
  await Promise.all(plugins.map((p) => p.quit()));
});

test('plugins waiting with no time limit do not starve libuv\'s thread pool', { timeout: 20000 }, async () => {
  // Five waits, more than the pool's four threads (unless UV_THREADPOOL_SIZE says otherwise):
  // each native wait lasts at most 1 s, so work queued behind them still gets a thread.
  const plugins = await Promise.all([1, 2, 3, 4, 5].map((i) => Plugin.connect({ port: engine.ports[`pool${i}`] })));
  const waits = plugins.map((p) => p.next().catch((e) => e));
  const t0 = performance.now();
  await fs.promises.readFile(__filename); // runs on the thread pool
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 3000, `a file read waited ${elapsed} ms for a worker thread`);
  await Promise.all(plugins.map((p) => p.quit()));
  for (const w of await Promise.all(waits)) assert.equal(w.code, 'EE_CLOSED');
});

/** Runs the fixture plugin process; resolves to { code, signal, stdout, stderr, elapsedMs }. */
function runFixture(port, { env = {}, onReady } = {}) {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'wait-then-quit.js'), String(port)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ready = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!ready && stdout.includes('ready\n')) {
      ready = true;
      if (onReady) onReady(child);
    }
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const started = performance.now();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

test('a process exits by itself once quit() is called from a timer', async () => {
  const feeder = await Plugin.connect({ port: engine.ports.feeder });
  await feeder.publishMany(['Child1', 'Child2', 'Child3']);
  const result = await runFixture(engine.ports.child1, { env: { QUIT_AFTER_MS: '300' } });
  assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, result.stderr);
  // Every event published before the quit was received; the process ended soon after the quit.
  assert.match(result.stdout, /done 3\n/);
  assert.ok(result.elapsedMs < 8000, `took ${result.elapsedMs} ms`);
  await feeder.quit();
});

test('a process exits by itself once quit() is called from a signal handler', async () => {
  let signalledAt = 0;
  const result = await runFixture(engine.ports.child2, {
    onReady: (child) => {
      signalledAt = performance.now();
      child.kill('SIGTERM');
    },
  });
  assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, result.stderr);
  assert.match(result.stdout, /done 0\n/);
  assert.ok(signalledAt > 0);
  // The engine saw the plugin quit.
  await waitFor(async () => {
    const p = await Plugin.connect({ port: engine.ports.child2, hello: false, replyTimeoutMs: 200, retries: 0 });
    try {
      await p.info();
      return false;
    } catch (e) {
      return e.code === 'EE_DISCONNECTED';
    }
  }, { what: 'the plugin to be gone' });
});
