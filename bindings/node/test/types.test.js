'use strict';
// The types cannot drift from the code: the JavaScript is type-checked with `tsc --strict` from its
// JSDoc, index.d.ts (with errors.d.ts and kinds.d.ts) is generated from it and must be the
// committed one, and a TypeScript program that uses the whole API type-checks against it.
// typescript is a devDependency: without it (no `npm ci`) these tests fail, they do not skip.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const types = require('../scripts/types.js');

test('the JavaScript type-checks with --strict and its declarations are the committed ones', () => {
  assert.deepEqual(types.stale(), [], 'run `node scripts/types.js` and commit the result');
});

test('index.d.ts type-checks a program using the whole API', () => {
  const result = spawnSync(process.execPath, [types.tscPath(), '-p', path.join(__dirname, 'types')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('index.d.ts declares every export of index.js', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  const reexported = new Set(
    [...dts.matchAll(/^export \{([^}]*)\};$/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim())),
  );
  for (const name of Object.keys(require('..'))) {
    assert.ok(
      new RegExp(`export (declare )?(class|const) ${name}\\b`).test(dts) || reexported.has(name),
      `${name} is not declared`,
    );
  }
});
