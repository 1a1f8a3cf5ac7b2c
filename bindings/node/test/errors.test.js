'use strict';
// The mapping from the addon's errors to the SDK's classes (errors.js), for every kind.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const ee = require('..');
const { fromNative } = require('../errors.js');

test('every kind maps to its class, with its details', () => {
  const kinds = [
    [1, ee.InvalidArgumentError, 'invalid_argument'],
    [2, ee.DisconnectedError, 'disconnected'],
    [3, ee.ProtocolError, 'protocol'],
    [4, ee.InterruptedError, 'interrupted'],
    [5, ee.ClosedError, 'closed'],
    [6, ee.UnexpectedReplyError, 'unexpected_reply'],
    [7, ee.ZmqError, 'zmq'],
  ];
  for (const [number, cls, kind] of kinds) {
    const native = Object.assign(new Error(`failure ${number}`), { code: `EE_${kind.toUpperCase()}`, codeNumber: number, kind });
    const e = fromNative(native);
    assert.ok(e instanceof cls && e instanceof ee.EventEngineError && e instanceof Error);
    assert.equal(e.name, cls.name);
    assert.equal(e.message, `failure ${number}`);
    assert.equal(e.code, `EE_${kind.toUpperCase()}`);
    assert.equal(e.codeNumber, number);
    assert.equal(e.kind, kind);
    assert.match(e.stack, new RegExp(`^${cls.name}: failure ${number}`));
  }
  const protocol = fromNative(
    Object.assign(new Error('refused'), { codeNumber: 3, wireCode: 'pending_full', wireCodeNumber: 8 }),
  );
  assert.equal(protocol.wireCode, 'pending_full');
  assert.equal(protocol.wireCodeNumber, 8);
});

test('other errors pass through; napi argument errors become InvalidArgumentError', () => {
  const plain = new TypeError('x');
  assert.equal(fromNative(plain), plain);
  assert.equal(fromNative(undefined), undefined);
  const napi = Object.assign(new Error('Failed to convert JavaScript value `String` into rust type `u32`'), { code: 'NumberExpected' });
  const e = fromNative(napi);
  assert.ok(e instanceof ee.InvalidArgumentError);
  assert.equal(e.cause, napi);
});
