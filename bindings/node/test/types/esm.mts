// Compiled (not run) by test/types.test.js: an ES module consumer under `module: nodenext`
// imports the package by name (a self-reference through package.json's "exports", which
// resolves exactly as node_modules/event-engine would) and gets index.d.mts: the named exports,
// the types, and the CommonJS module as the default export.
import ee, {
  Plugin,
  PluginInfo,
  ConnectOptions,
  EventEngineError,
  DisconnectedError,
  ClosedError,
  ErrorCodes,
  ErrorCode,
  MAX_BATCH,
} from 'event-engine'

const options: ConnectOptions = { port: 6000, replyTimeoutMs: 500 }
const plugin: Plugin = await Plugin.connect(options)
const info: PluginInfo = await plugin.info()
const event: Buffer | null = await plugin.next({ timeoutMs: 100 })
const same: typeof Plugin = ee.Plugin
const batch: number = MAX_BATCH + ee.MAX_BATCH
try {
  await plugin.quit()
} catch (e) {
  if (e instanceof DisconnectedError) void e.endpoint
  else if (e instanceof EventEngineError) {
    const code: ErrorCode = e.code
    if (code === ErrorCodes.CLOSED) void new ClosedError('closed')
  }
}
void [info, event, same, batch]
