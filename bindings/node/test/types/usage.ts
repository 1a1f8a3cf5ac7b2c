// Compiled (not run) by test/types.test.js with `tsc --noEmit --strict`: the public API as a
// TypeScript user writes it must type-check against index.d.ts.
import {
  Plugin,
  PluginInfo,
  PluginStats,
  EventEngineError,
  DisconnectedError,
  ProtocolError,
  ClosedError,
  ErrorCodes,
  ErrorCode,
  MAX_BATCH,
} from '../..'

async function main(): Promise<void> {
  const plugin: Plugin = await Plugin.connect({ port: 6000, host: '127.0.0.1', replyTimeoutMs: 500, publishTimeoutMs: null, maxBatchBytes: 1 << 20 })
  const curved: Plugin = await Plugin.connect({ port: 6001, curveServerKey: 'engine', curveSecretKeyFile: 'plugin.key', hello: false })
  void curved
  const info: PluginInfo = await plugin.info()
  const names: string[] = info.subscriptions.map((s) => s.text ?? s.hex)
  const stats: PluginStats = await plugin.stats()
  const delivered: number = stats.delivered + info.maxBatch + MAX_BATCH
  const one: Buffer | null = await plugin.next({ timeoutMs: 100 })
  const many: Buffer[] = await plugin.nextBatch(100, { timeoutMs: 100, signal: AbortSignal.timeout(1000) })
  await plugin.publish('TypeBtext')
  await plugin.publish(Buffer.from('TypeBbytes'))
  await plugin.publish(new Uint8Array([1, 0, 7]))
  const count: number = await plugin.publishMany(['TypeBa', Buffer.from('TypeBb')])
  for await (const event of plugin) {
    const b: Buffer = event
    void b
    break
  }
  for await (const event of plugin.events({ batchSize: 10, timeoutMs: 50 })) {
    void event.length
  }
  const name: string | null = plugin.name
  const closed: boolean = plugin.closed
  try {
    await plugin.quit()
  } catch (e) {
    if (e instanceof DisconnectedError) {
      const waited: number | undefined = e.waitedMs
      void waited
    } else if (e instanceof ProtocolError) {
      const wire: string | undefined = e.wireCode
      void wire
    } else if (e instanceof EventEngineError) {
      const code: ErrorCode = e.code
      const n: number = e.codeNumber
      if (code === ErrorCodes.CLOSED) void n
    }
  }
  const c: 'EE_CLOSED' = new ClosedError('x').code
  const typed: EventEngineError = new ClosedError('y')
  const narrowed: ClosedError | null = typed instanceof ClosedError ? typed : null
  void narrowed
  void [names, delivered, one, many, count, name, closed, c]
}

void main
