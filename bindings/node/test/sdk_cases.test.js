'use strict';
// The shared table of SDK cases (crates/event-engine-client/sdk-cases.txt) through the Node.js
// API: the same inputs give the same result as in Rust, Python and C. No engine is needed.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ee = require('..');
const { Plugin } = ee;

const CASES = path.resolve(__dirname, '..', '..', '..', 'crates', 'event-engine-client', 'sdk-cases.txt');

/** @param {string} name */
function section(name) {
  const rows = [];
  let current = '';
  for (const raw of fs.readFileSync(CASES, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      current = line.slice(1, -1);
      continue;
    }
    if (current === name) rows.push(line.split('|').map((c) => c.trim()));
  }
  assert.ok(rows.length > 0, `no cases in [${name}]`);
  return rows;
}

/** @param {string} cell */
function given(cell) {
  return cell === '-' ? undefined : cell === '""' ? '' : cell;
}

/** The endpoint or 'ok' a call resolves to, or the kind of the error it rejects with. */
async function outcome(make) {
  try {
    return await make();
  } catch (e) {
    if (e instanceof ee.EventEngineError) return e.kind;
    throw e;
  }
}

/** Runs `fn` with the launch environment set as given, and restores it. */
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  try {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('[connect] cases', async () => {
  for (const row of section('connect')) {
    const [port, host, endpoint, envEndpoint, envPort, expected] = row;
    const options = { hello: false };
    if (given(port) !== undefined) options.port = Number(port);
    if (given(host) !== undefined) options.host = given(host);
    if (given(endpoint) !== undefined) options.endpoint = given(endpoint);
    const got = await withEnv({ EE_PLUGIN_ENDPOINT: given(envEndpoint), EE_PLUGIN_PORT: given(envPort) }, () =>
      outcome(async () => {
        const plugin = await Plugin.connect(options);
        await plugin.quit().catch(() => {});
        return plugin.endpoint;
      }),
    );
    assert.equal(got, expected, row.join(' | '));
  }
});

/** The options that are counts, not times. */
const COUNTS = new Set(['retries', 'max_batch_bytes']);

/** Node.js spells an option camelCase, with `Ms` for times (the Rust core's Spelling::CamelMs). */
function nodeName(name) {
  const camel = name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return COUNTS.has(name) ? camel : `${camel}Ms`;
}

test('[option] cases', async () => {
  for (const row of section('option')) {
    const [name, value, expected] = row;
    const options = { port: 1, hello: false, [nodeName(name)]: value === 'none' ? null : Number(value) };
    const got = await outcome(async () => {
      const plugin = await Plugin.connect(options);
      await plugin.quit().catch(() => {});
      return 'ok';
    });
    assert.equal(got, expected, row.join(' | '));
  }
});

test('[max] cases', async () => {
  const plugin = await Plugin.connect({ port: 1, hello: false, replyTimeoutMs: 10, retries: 0 });
  for (const row of section('max')) {
    const [max, expected] = row;
    const got = await outcome(() => plugin.nextBatch(Number(max), { timeoutMs: 0 }).then(() => 'ok'));
    assert.equal(got, expected, row.join(' | '));
  }
  await plugin.quit().catch(() => {});
});
