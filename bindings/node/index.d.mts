// The types of index.mjs (`import ... from 'event-engine'`): those of the CommonJS module it
// re-exports (index.d.ts), and the module itself as the default export.
export * from './index.js';
import ee from './index.js';
export default ee;
