#!/usr/bin/env node
// The `counter` example in Node.js: an external plugin that receives `TypeA` events and answers
// each with a `TypeB` event carrying the number of characters after the 5-byte filter, then
// quits after N events. The same example exists in every language under examples/.
//
//   node counter.js [PORT]      port: argv, else $EE_PLUGIN_PORT (set by `event-engine run`)
//   EE_COUNT=5                  how many events to answer before quitting (default 5)
//   EE_REPLY_TYPE=TypeB         the type (filter) of the answers (default TypeB)
'use strict';

// In your own project: `npm install <event-engine repo>/bindings/node`, then require('event-engine').
let ee;
try {
  ee = require('event-engine');
} catch {
  ee = require('../../bindings/node');
}
const { Plugin } = ee;

async function main() {
  const port = Number(process.argv[2] || process.env.EE_PLUGIN_PORT);
  const count = Number(process.env.EE_COUNT || 5);
  const reply = process.env.EE_REPLY_TYPE || 'TypeB';
  if (!Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
    throw new Error('usage: node counter.js PORT (or EE_PLUGIN_PORT), EE_COUNT=N');
  }
  const plugin = await Plugin.connect({ port });
  console.log(`counter: connected as '${plugin.name}' to ${plugin.endpoint}; answering ${count} events`);
  let answered = 0;
  for await (const event of plugin) {
    const characters = event.length - 5; // the bytes after the filter `TypeA`
    await plugin.publish(`${reply}${characters}`);
    answered += 1;
    if (answered === count) break;
  }
  await plugin.quit();
  console.log(`counter: answered ${answered} events`);
}

main().catch((err) => {
  console.error(`counter: ${err.code || err.name}: ${err.message}`);
  process.exitCode = 1;
});
