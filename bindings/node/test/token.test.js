'use strict';
// Plugin tokens (docs/security.md): a port with a token admits only a client that presents it,
// as `token`, `tokenFile`, or from the launch environment (EE_PLUGIN_TOKEN_FILE).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { Plugin, DisconnectedError, InvalidArgumentError } = require('..');
const { startEngine } = require('./helpers/engine.js');

test('a token or its file opens the port, and nothing else does', async () => {
  const engine = await startEngine([{ name: 'guarded', subscriptions: ['TypeA'], tokenFile: 'secret.token' }]);
  try {
    const file = path.join(engine.dir, 'secret.token');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const token = fs.readFileSync(file, 'utf8').trim();
    const port = engine.ports.guarded;
    for (const extra of [{}, { token: 'f'.repeat(64) }]) {
      const p = await Plugin.connect({ port, hello: false, replyTimeoutMs: 300, retries: 0, ...extra });
      await assert.rejects(p.info(), DisconnectedError);
      await assert.rejects(p.quit(), DisconnectedError);
    }
    const byText = await Plugin.connect({ port, token });
    assert.equal((await byText.info()).name, 'guarded');
    const byFile = await Plugin.connect({ port, tokenFile: file });
    assert.ok((await byFile.stats()).refused >= 2);
    await byFile.quit();

    await assert.rejects(Plugin.connect({ port, token: 'short' }), InvalidArgumentError);
    await assert.rejects(Plugin.connect({ port, token, tokenFile: file }), /not both/);
    await assert.rejects(Plugin.connect({ port, tokenFile: path.join(engine.dir, 'absent') }), /could not read/);
  } finally {
    await engine.stop();
  }
});

test('a plugin finds its token file in the environment', async () => {
  const engine = await startEngine([{ name: 'guarded', subscriptions: ['TypeA'], tokenFile: 'secret.token' }]);
  try {
    const code = `const { Plugin } = require(${JSON.stringify(path.resolve(__dirname, '..'))});
      (async () => { const p = await Plugin.connect(); console.log((await p.info()).name); await p.quit(); })()
        .catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', code], {
      env: { ...process.env, EE_PLUGIN_PORT: String(engine.ports.guarded), EE_PLUGIN_TOKEN_FILE: path.join(engine.dir, 'secret.token') },
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'guarded');
  } finally {
    await engine.stop();
  }
});
