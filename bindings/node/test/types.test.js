'use strict';
// index.d.ts describes the API: a TypeScript program that uses all of it type-checks (strict).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');

test('index.d.ts type-checks a program using the whole API', { skip: !fs.existsSync(tsc) && 'typescript is not installed (npm install installs it with the dev dependencies)' }, () => {
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('index.d.ts declares every export of index.js', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const name of Object.keys(require('..'))) {
    assert.match(dts, new RegExp(`export declare (class|const) ${name}\\b`), `${name} is not declared`);
  }
});
