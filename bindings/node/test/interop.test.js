'use strict';
// A JS plugin and other plugin processes through one engine: a Python plugin speaking protocol
// v1 with raw pyzmq, and the Node.js counter example (examples/node/counter.js).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const ee = require('..');
const { Plugin } = ee;
const { startEngine, repoRoot, engineBin } = require('./helpers/engine.js');

const python = process.env.PYTHON || 'python3';

/** Runs a command; resolves to { code, signal, stdout, stderr }. Killed after `timeoutMs`. */
function run(command, args, { env = {}, timeoutMs = 30000 } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Publishes `events` TypeA events of different lengths through `feeder` and reads as many
 * TypeB answers; returns [expected, received] counts as strings. */
async function exchange(feeder, n) {
  const events = Array.from({ length: n }, (_, i) => `TypeA${'x'.repeat(i % 17)}message ${i}`);
  assert.equal(await feeder.publishMany(events), n);
  const answers = [];
  for await (const answer of feeder.events({ timeoutMs: 15000 })) {
    answers.push(answer.toString());
    if (answers.length === n) break;
  }
  return [events.map((e) => `TypeB${Buffer.byteLength(e) - 5}`), answers];
}

async function quitAndCheckEngine(engine, feeder) {
  await feeder.quit();
  // Both plugins quit: the engine ends by itself, with status 0.
  const exit = await engine.exited;
  await engine.stop();
  assert.equal(exit.code, 0, exit.stderr);
}

function needPyzmq() {
  const probe = spawnSync(python, ['-c', 'import zmq'], { encoding: 'utf8' });
  assert.equal(
    probe.status,
    0,
    `this test needs ${python} with pyzmq (make test-node runs it on the Python SDK venv, which has it): ${probe.stderr || probe.error}`,
  );
}

test('a JS plugin exchanges events with a Python plugin (raw pyzmq, protocol v1)', async () => {
  needPyzmq();
  const engine = await startEngine([
    { name: 'js', subscriptions: ['TypeB'] },
    { name: 'python', subscriptions: ['TypeA'] },
  ]);
  const n = 50;
  const js = await Plugin.connect({ port: engine.ports.js });
  const py = run(python, [path.join(__dirname, 'fixtures', 'py_counter.py'), String(engine.ports.python), String(n)]);
  const [expected, received] = await exchange(js, n);
  assert.deepEqual(received, expected);
  const result = await py;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /answered 50 events; quit reply 'event-engine: bye'/);
  await quitAndCheckEngine(engine, js);
});

test('examples/node/counter.js answers EE_COUNT events and quits', async () => {
  const engine = await startEngine([
    { name: 'counter', subscriptions: ['TypeA'] },
    { name: 'feeder', subscriptions: ['TypeB'] },
  ]);
  const feeder = await Plugin.connect({ port: engine.ports.feeder });
  const counter = run(process.execPath, [path.join(repoRoot, 'examples', 'node', 'counter.js')], {
    env: { EE_PLUGIN_PORT: String(engine.ports.counter), EE_COUNT: '7' },
  });
  const [expected, received] = await exchange(feeder, 7);
  assert.deepEqual(received, expected);
  const result = await counter;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /answered 7 events/);
  await quitAndCheckEngine(engine, feeder);
});

test('connect() to an engine that speaks only protocol v1 rejects with UnexpectedReplyError', async () => {
  needPyzmq();
  const child = spawn(python, [path.join(__dirname, 'fixtures', 'v1_engine.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
  });
  await assert.rejects(Plugin.connect({ port, replyTimeoutMs: 5000 }), (e) => {
    assert.ok(e instanceof ee.UnexpectedReplyError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 'EE_UNEXPECTED_REPLY');
    assert.equal(e.codeNumber, 6);
    assert.match(e.message, /speaks only protocol v1/);
    return true;
  });
  assert.equal(await exited, 0);
  assert.match(out, /plugin_command: hello/);
});

test('event-engine run examples/node/app.toml: the engine launches counter.js, end to end', async () => {
  const result = await run(engineBin(), ['run', path.join(repoRoot, 'examples', 'node', 'app.toml')]);
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  assert.match(output, /counter: answered 5 events/);
  assert.match(output, /collector\s+finished; 5 event\(s\)/);
  assert.match(output, /counter\s+finished; process exit 0; received 5, published 5/);
});
