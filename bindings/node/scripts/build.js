#!/usr/bin/env node
// Builds the native addon from source with cargo and puts it where index.js loads it
// (event-engine.<platform>.node beside package.json). Run by `npm install` (the package's
// `install` script) and by `npm run build`; needs only Rust/cargo, not @napi-rs/cli.
//
//   node scripts/build.js            release build (what `npm install` does)
//   node scripts/build.js --debug    debug build (faster to compile; what CI uses)
//
// In an installed tarball (no Cargo.toml beside package.json) it builds nothing: it checks that
// the prebuilt addon for this platform is there, and fails with a message if not.
//
// Environment: EVENT_ENGINE_NODE_PROFILE=debug|release chooses the profile too;
// EVENT_ENGINE_NODE_SKIP_BUILD=1 skips the build; CARGO names the cargo binary.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const binaryName = 'event-engine';

function platformArchABI() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    let musl = false;
    try {
      musl = !process.report.getReport().header.glibcVersionRuntime;
    } catch {
      musl = false;
    }
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function fail(message) {
  console.error(`event-engine: ${message}`);
  process.exit(1);
}

function main() {
  const target = path.join(pkgDir, `${binaryName}.${platformArchABI()}.node`);
  if (process.env.EVENT_ENGINE_NODE_SKIP_BUILD === '1') {
    console.error('event-engine: EVENT_ENGINE_NODE_SKIP_BUILD=1, not building the addon');
    return;
  }
  if (!fs.existsSync(path.join(pkgDir, 'Cargo.toml'))) {
    // An installed tarball (`make dist`, `npm pack`): it builds nothing, it ships (or lacks) a
    // prebuilt addon. Only a checkout, with the Rust sources, builds (and then always does, so
    // an addon left from an older build is never taken for a current one).
    if (fs.existsSync(target)) {
      console.error(`event-engine: using the prebuilt addon ${path.basename(target)}`);
      return;
    }
    fail(
      `no prebuilt addon for ${platformArchABI()} in this package, and no Rust sources to build ` +
        'one: install from the event-engine repository (npm install <repo>/bindings/node), ' +
        'which builds it with cargo.',
    );
  }
  const args = process.argv.slice(2);
  const debug =
    args.includes('--debug') || (process.env.EVENT_ENGINE_NODE_PROFILE || '') === 'debug';
  const cargo = process.env.CARGO || 'cargo';
  const cargoArgs = [
    'build',
    '-p',
    'event-engine-node',
    '--lib',
    '--message-format=json-render-diagnostics',
  ];
  if (!debug) cargoArgs.push('--release');
  console.error(`event-engine: ${cargo} ${cargoArgs.join(' ')}`);
  const result = spawnSync(cargo, cargoArgs, {
    cwd: pkgDir,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (result.error) {
    fail(`could not run ${cargo} (${result.error.message}); the addon is built with Rust: https://rustup.rs`);
  }
  if (result.status !== 0) fail(`${cargo} build failed (exit status ${result.status})`);
  let library = null;
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.reason === 'compiler-artifact' && msg.target && msg.target.name === 'event_engine_node') {
      library = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || library;
    }
  }
  if (!library) fail('cargo did not report the addon library (event_engine_node)');
  // Copied beside, then renamed: a process that has the old addon loaded keeps its copy.
  const tmp = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(library, tmp);
  fs.renameSync(tmp, target);
  console.error(`event-engine: ${path.relative(process.cwd(), target) || target} (${debug ? 'debug' : 'release'})`);
}

main();
