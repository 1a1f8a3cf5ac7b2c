// event-engine for Node.js as an ES module: `import { Plugin } from 'event-engine'`. A thin
// wrapper that re-exports the CommonJS module (index.js), so `import` and `require` give the
// very same classes (one copy of the addon and of the error classes: an error thrown through
// one is `instanceof` the class of the other). test/esm.test.js checks that this list is every
// export of index.js; index.d.mts is its declaration.
import ee from './index.js';

export const {
  Plugin,
  MAX_BATCH,
  EventEngineError,
  InvalidArgumentError,
  DisconnectedError,
  ProtocolError,
  InterruptedError,
  ClosedError,
  UnexpectedReplyError,
  ZmqError,
  ErrorCodes,
} = ee;

export default ee;
