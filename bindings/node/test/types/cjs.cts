// Compiled (not run) by test/types.test.js: a CommonJS consumer under `module: nodenext`
// (`require`, through package.json's "exports" by name) gets index.d.ts.
import ee = require('event-engine')
import { Plugin, PluginStats, ClosedError } from 'event-engine'

async function main(): Promise<void> {
  const plugin: Plugin = await ee.Plugin.connect({ endpoint: 'tcp://127.0.0.1:6000' })
  const stats: PluginStats = await plugin.stats()
  const same: typeof Plugin = ee.Plugin
  const closed: ClosedError = new ee.ClosedError('closed')
  void [stats.delivered, same, closed]
}

void main
