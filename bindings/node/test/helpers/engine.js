'use strict';
// Starts a real engine (the `event-engine` CLI) for a test: an app.toml in a temporary folder,
// port 0 everywhere, and the ports read from the --ready-file.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

/** The engine binary: $EE_ENGINE_BIN, or the one `cargo build -p event-engine-cli` made. */
function engineBin() {
  if (process.env.EE_ENGINE_BIN) return process.env.EE_ENGINE_BIN;
  for (const profile of ['debug', 'release']) {
    const candidate = path.join(repoRoot, 'target', profile, 'event-engine');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    'no engine binary: build it with `cargo build -p event-engine-cli` or set EE_ENGINE_BIN',
  );
}

/** Waits until `check()` returns a truthy value, polling; throws after `timeoutMs`. */
async function waitFor(check, { timeoutMs = 10000, intervalMs = 10, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function tomlString(s) {
  return JSON.stringify(s);
}

/**
 * Starts an engine with these external plugins: [{ name, subscriptions: ['TypeA', { hex: '0100' }] }].
 * Resolves to { ports: { name: port }, dir, stop(), exited }.
 */
async function startEngine(plugins, { bus = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-node-test-'));
  const lines = ['[bus]'];
  for (const [k, v] of Object.entries(bus)) lines.push(`${k} = ${typeof v === 'string' ? tomlString(v) : v}`);
  for (const p of plugins) {
    lines.push('', '[[plugins]]', `name = ${tomlString(p.name)}`, 'port = 0');
    const subs = (p.subscriptions || []).map((f) => (typeof f === 'string' ? tomlString(f) : `{ hex = ${tomlString(f.hex)} }`));
    lines.push(`subscriptions = [${subs.join(', ')}]`);
    if (p.tokenFile) lines.push(`token_file = ${tomlString(p.tokenFile)}`);
  }
  const app = path.join(dir, 'app.toml');
  fs.writeFileSync(app, lines.join('\n') + '\n');
  const readyFile = path.join(dir, 'ready.json');
  const child = spawn(engineBin(), ['run', app, '--ready-file', readyFile, '--quiet'], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });
  const ready = await waitFor(
    () => {
      if (exitInfo) throw new Error(`the engine exited early (${exitInfo.code}): ${exitInfo.stderr}`);
      try {
        return JSON.parse(fs.readFileSync(readyFile, 'utf8'));
      } catch {
        return null;
      }
    },
    { what: 'the engine ready file' },
  );
  const ports = {};
  for (const [name, p] of Object.entries(ready.plugins)) ports[name] = p.port;

  /** Stops the engine: SIGINT, then SIGKILL if it lingers. Resolves to its exit info. */
  async function stop() {
    if (!exitInfo) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return exitInfo;
  }
  return { ports, dir, ready, stop, exited, child };
}

module.exports = { startEngine, waitFor, engineBin, repoRoot };
