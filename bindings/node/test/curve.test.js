'use strict';
// CURVE keys as connect() options (docs/security.md): curveServerKey with curveSecretKey or
// curveSecretKeyFile, checked by the SDK core before anything is sent, with its words. The
// package's libzmq (the default build) has no CURVE: good keys reject with a clear error that
// names the CURVE build, never a crash. In a CURVE build they open a client instead, and a token
// with them is refused.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Plugin, InvalidArgumentError } = require('..');

const ENGINE_PUBLIC = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';
const PLUGIN_SECRET = 'D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs';

/** connect() with no engine behind the port: every check here is made before a request. */
function connect(extra) {
  return Plugin.connect({ port: 1, hello: false, ...extra });
}

/**
 * @param {Promise<unknown>} promise
 * @param {RegExp} words
 */
async function rejectsInvalid(promise, words) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof InvalidArgumentError, `${e}`);
    assert.equal(e.code, 'EE_INVALID_ARGUMENT');
    assert.match(e.message, words);
    assert.ok(!e.message.includes(PLUGIN_SECRET), 'the secret key is never shown');
    return true;
  });
}

test('CURVE options are checked by the core and need a CURVE build', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-curve-'));
  try {
    const keyFile = path.join(dir, 'plugin.key');
    fs.writeFileSync(keyFile, `${PLUGIN_SECRET}\n`, { mode: 0o600 });
    const cases = [
      [{ curveServerKey: 'short', curveSecretKey: PLUGIN_SECRET }, /40 characters/],
      [{ curveServerKey: `${ENGINE_PUBLIC.slice(1)}\u007f`, curveSecretKey: PLUGIN_SECRET }, /Z85/],
      [{ curveServerKey: ENGINE_PUBLIC, curveSecretKey: '~'.repeat(40) }, /Z85/],
      [{ curveServerKey: ENGINE_PUBLIC }, /both the engine's public key and the plugin's secret key/],
      [{ curveSecretKeyFile: keyFile }, /both the engine's public key and the plugin's secret key/],
      [{ curveServerKey: ENGINE_PUBLIC, curveSecretKey: PLUGIN_SECRET, curveSecretKeyFile: keyFile }, /not both/],
      [{ curveServerKey: ENGINE_PUBLIC, curveSecretKeyFile: path.join(dir, 'absent') }, /could not read the plugin secret key file/],
    ];
    for (const [extra, words] of cases) await rejectsInvalid(connect(extra), words);

    for (const good of [
      { curveServerKey: ENGINE_PUBLIC, curveSecretKey: PLUGIN_SECRET },
      { curveServerKey: ENGINE_PUBLIC, curveSecretKeyFile: keyFile },
    ]) {
      let plugin;
      try {
        plugin = await connect(good);
      } catch (e) {
        // The default build: a clear error that names the CURVE build, also with a token.
        assert.ok(e instanceof InvalidArgumentError, `${e}`);
        assert.match(e.message, /no CURVE/);
        assert.match(e.message, /make build-curve/);
        await rejectsInvalid(connect({ ...good, token: '0123456789abcdef0123' }), /make build-curve/);
        continue;
      }
      // A CURVE build: a client (connecting is lazy), and a token with the keys is refused.
      assert.equal(plugin.endpoint, 'tcp://127.0.0.1:1');
      await rejectsInvalid(connect({ ...good, token: '0123456789abcdef0123' }), /a token or CURVE keys, not both/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
