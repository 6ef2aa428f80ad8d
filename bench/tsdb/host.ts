// Child process that runs one embedded engine for the harness (remote.ts is the other side):
// the harness calls the Engine methods over IPC (structured clone, so typed arrays travel as
// such), and ingest generates its data here from the source description, so no point crosses
// the channel. Pinned to the engine core by its parent.
import { type Batch, type BatchSource, type DataSpec, SCRATCH_POINTS, scratchBatch } from './data.js'
import { type Engine, Unsupported } from './engine.js'
import { createEmbedded, type EmbeddedName } from './engines/embedded.js'

export interface HostCall {
  id: number
  method: string
  args: unknown[]
}
export type HostReply =
  | { ready: true }
  | { id: number; result: unknown }
  | { id: number; error: string; unsupported: boolean }
  /** Scratch batches acknowledged so far by the crash writer (sent after each write resolved). */
  | { acked: number }

let engine: Engine | null = null
const need = (): Engine => {
  if (!engine) throw new Error('host: no engine (call create first)')
  return engine
}
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r))

const methods: Record<string, (...args: never[]) => Promise<unknown>> = {
  async create(name: EmbeddedName) {
    engine = await createEmbedded(name)
  },
  start: (dir: string) => need().start(dir),
  write: (batch: Batch) => need().write(batch),
  ingest: (source: BatchSource) => need().ingest(source),
  flushForSize: () => need().flushForSize(),
  sizeOnDisk: () => need().sizeOnDisk(),
  queryRange1mAvg: (s: number, from: number, to: number) => need().queryRange1mAvg(s, from, to),
  queryRange1mAvgMany: (s: number[], from: number, to: number) => need().queryRange1mAvgMany(s, from, to),
  latest: (s: number[]) => need().latest(s),
  readBack: (s: number) => need().readBack(s),
  /**
   * Starts a writer that commits small scratch batches until the process is killed; replies
   * once a few have been committed, so that the kill lands in the middle of the stream. Each
   * resolved write is reported to the harness (the writer's acknowledgement), so that it can
   * check after the restart that every acknowledged point is there.
   */
  async crashWrites(spec: DataSpec) {
    const e = need()
    let seq = 0
    for (; seq < 3; seq++) {
      await e.write(scratchBatch(spec, seq, SCRATCH_POINTS))
      send({ acked: seq + 1 })
    }
    void (async () => {
      for (;;) {
        await e.write(scratchBatch(spec, seq++, SCRATCH_POINTS))
        send({ acked: seq })
        // Synchronous engines would otherwise starve the event loop, and the IPC with it.
        await yieldToLoop()
      }
    })()
  },
  /** After a kill: open the same data and answer `latest`, timed here (not Node's start-up). */
  async recover(dir: string, probe: number[]) {
    const e = need()
    const t0 = performance.now()
    await e.start(dir)
    const v = await e.latest(probe)
    return {
      ms: performance.now() - t0,
      answered: v.filter((x) => !Number.isNaN(x)).length,
      note: 'open + first answer, timed in the restarted process (Node start-up excluded)',
    }
  },
  stop: () => need().stop(),
}

const send = (msg: HostReply) => {
  if (process.connected) process.send?.(msg)
}

process.on('message', (msg: HostCall) => {
  const fn = methods[msg.method]
  if (!fn) {
    send({ id: msg.id, error: `host: unknown method ${msg.method}`, unsupported: false })
    return
  }
  ;(async () => (fn as (...a: unknown[]) => Promise<unknown>)(...msg.args))().then(
    (result) => send({ id: msg.id, result }),
    (err: unknown) =>
      send({
        id: msg.id,
        error:
          err instanceof Unsupported
            ? err.message
            : err instanceof Error
              ? (err.stack ?? err.message)
              : String(err),
        unsupported: err instanceof Unsupported,
      }),
  )
})
// The parent going away ends the host (its cleanup also SIGKILLs it).
process.on('disconnect', () => process.exit(0))
send({ ready: true })
