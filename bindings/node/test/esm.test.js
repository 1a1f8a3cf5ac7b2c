'use strict';
// The package is a CommonJS module and an ES module: package.json's "exports" sends `import` to
// index.mjs (a wrapper that re-exports index.js) and `require` to index.js, each with its types
// (the TypeScript side is test/types/esm.mts and cjs.cts, compiled by types.test.js). Both must
// give the very same objects, or an error thrown through one would not be `instanceof` the
// other's class.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const { startEngine } = require('./helpers/engine.js');

const pkgDir = path.resolve(__dirname, '..');
const pkg = require('../package.json');

/** Every file a condition of "exports" points at, e.g. ['./index.mjs', './index.d.mts', ...]. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  return Object.values(value).flatMap(exportTargets);
}

/**
 * A project outside the package that depends on it, as `npm install <repo>/bindings/node`
 * leaves it: node_modules/event-engine, a link to the package. Resolves to its folder.
 */
function consumerProject(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-node-esm-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(pkgDir, path.join(dir, 'node_modules', 'event-engine'), 'dir');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** The environment without EE_PLUGIN_ENDPOINT (which Plugin.connect() would prefer to the port). */
function withoutEndpoint(env) {
  const copy = { ...env };
  delete copy.EE_PLUGIN_ENDPOINT;
  return copy;
}

let engine;

before(async () => {
  engine = await startEngine([
    { name: 'esm', subscriptions: ['EsmA'] },
    { name: 'esmFeeder', subscriptions: [] },
  ]);
});

after(async () => {
  await engine.stop();
});

test('import and require by name give the same module and classes', async () => {
  // Inside the package its own name resolves through "exports" (a self-reference), exactly as
  // node_modules/event-engine does in a user's project.
  const esm = await import('event-engine');
  const cjs = require('event-engine');
  assert.equal(cjs, require('..'));
  assert.equal(esm.default, cjs);
  const named = Object.keys(esm).filter((n) => n !== 'default');
  assert.deepEqual(named.sort(), Object.keys(cjs).sort(), 'index.mjs must re-export every export of index.js');
  for (const name of named) assert.equal(esm[name], cjs[name], name);
});

test('an ES module in another project imports the package by name and exchanges events', async () => {
  const feeder = await require('event-engine').Plugin.connect({ port: engine.ports.esmFeeder });
  await feeder.publish('EsmA from CommonJS');
  await feeder.quit();
  const dir = consumerProject({
    'plugin.mjs': `
import ee, { Plugin, ClosedError, ErrorCodes, MAX_BATCH } from 'event-engine';
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('event-engine');
const plugin = await Plugin.connect();                 // EE_PLUGIN_PORT, as the engine sets it
const event = await plugin.next({ timeoutMs: 10000 });
await plugin.quit();
let closed = null;
try {
  await plugin.next({ timeoutMs: 0 });
} catch (err) {
  closed = { esm: err instanceof ClosedError, cjs: err instanceof cjs.ClosedError, code: err.code };
}
console.log(JSON.stringify({
  event: event && event.toString(),
  samePlugin: Plugin === cjs.Plugin && ee === cjs,
  maxBatch: MAX_BATCH,
  closedCode: ErrorCodes.CLOSED,
  closed,
}));
`,
  });
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['plugin.mjs'], {
      cwd: dir,
      env: { ...withoutEndpoint(process.env), EE_PLUGIN_PORT: String(engine.ports.esm) },
      timeout: 30000,
    });
    assert.deepEqual(JSON.parse(stdout), {
      event: 'EsmA from CommonJS',
      samePlugin: true,
      maxBatch: 65536,
      closedCode: 'EE_CLOSED',
      closed: { esm: true, cjs: true, code: 'EE_CLOSED' },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the package exports its root and package.json; deep imports are closed', () => {
  const dir = consumerProject({
    'probe.cjs': `
const out = { version: require('event-engine/package.json').version };
try { require('event-engine/errors.js'); out.deep = 'loaded'; } catch (err) { out.deep = err.code; }
console.log(JSON.stringify(out));
`,
  });
  try {
    const { status, stdout, stderr } = spawnSync(process.execPath, ['probe.cjs'], { cwd: dir, encoding: 'utf8', timeout: 30000 });
    assert.equal(status, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { version: pkg.version, deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every file "exports" names exists and is published ("files")', () => {
  const targets = exportTargets(pkg.exports);
  assert.ok(targets.includes('./index.mjs') && targets.includes('./index.d.mts'), targets.join(', '));
  for (const target of targets) {
    const file = target.replace(/^\.\//, '');
    assert.ok(fs.existsSync(path.join(pkgDir, file)), `${file} does not exist`);
    assert.ok(file === 'package.json' || pkg.files.includes(file), `${file} is not in "files"`);
  }
  // Tools that read neither "exports" nor conditions (old TypeScript resolutions, bundlers).
  assert.equal(pkg.main, 'index.js');
  assert.equal(pkg.types, 'index.d.ts');
});
