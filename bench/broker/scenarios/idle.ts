// Idle connections (issue 2, section 6): N connections that CONNECT and then stay silent; the
// broker's resident memory per connection is (RSS after - RSS before) / connections. One process
// may hold 20,000 open files here, so the clients are spread over workers of at most 5,000, each
// bound to its own loopback source address (127.0.0.2, .3, ...) to stay clear of port exhaustion.

import type { Sample } from '../pool.js'
import { rssKiB, sleep } from '../proc.js'
import { errorsOf, type Scenario, split, sum } from './common.js'

const PER_WORKER = 5000

export function idle(count: number): Scenario {
  return {
    name: `idle ${count}`,
    metrics: ['connected', 'KB/conn', 'RSS MB', 'connect s'],
    async run(t) {
      const parts = split(count, Math.ceil(count / PER_WORKER))
      const ws = t.workers(parts.length)
      await sleep(200)
      const before = rssKiB(t.broker.pid)
      const t0 = performance.now()
      await Promise.all(
        ws.map((w, i) =>
          w.setup(
            t.target,
            {
              kind: 'idle',
              count: parts[i] as number,
              idPrefix: `${t.tag}-i${i}-`,
              localAddress: `127.0.0.${2 + i}`,
              concurrency: 50,
              deadlineMs: t.opts.quick ? 20_000 : 120_000,
            },
            t.opts.quick ? 40_000 : 150_000,
          ),
        ),
      )
      const connectSeconds = (performance.now() - t0) / 1000
      await sleep(t.opts.quick ? 300 : 1000)
      const alive = t.broker.alive()
      const after = alive ? rssKiB(t.broker.pid) : Number.NaN
      const samples: Sample[] = await Promise.all(ws.map((w) => w.sample()))
      const connected = sum(samples, 'connected')
      const notes = errorsOf(samples)
      if (!alive)
        notes.unshift(`${t.broker.name} exited during the idle test: ${t.broker.output().slice(-300)}`)
      const failed = sum(samples, 'failed')
      if (failed > 0) notes.unshift(`${failed} of ${count} connections failed`)
      return {
        metrics: {
          connected,
          // 1 KB = 1,024 bytes, as /proc reports kB.
          'KB/conn': connected > 0 ? (after - before) / connected : Number.NaN,
          'RSS MB': after / 1024,
          'connect s': connectSeconds,
        },
        notes,
      }
    },
  }
}
