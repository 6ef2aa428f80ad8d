// Latency at a fixed offered rate (10,000 msgs/s from 100 publishers, QoS 0): p50/p99/max of
// publish-to-receive time; publishers and subscriber in two workers reading one monotonic clock.
import { sleep } from '../proc.js'
import { measure, type Scenario } from './common.js'

export const latency: Scenario = {
  name: 'latency',
  metrics: ['p50 us', 'p99 us', 'max us', 'delivered', 'gen CPU %', 'broker CPU %', 'other CPU %'],
  async run(t) {
    const { opts } = t
    const [pub, sub] = t.workers(2)
    if (!pub || !sub) throw new Error('no worker')
    const job = {
      kind: 'latency',
      publishers: opts.latencyPublishers,
      idPrefix: `${t.tag}-l`,
      topicPrefix: `bench/${t.tag}/lat`,
      rate: opts.latencyRate,
      payloadSize: opts.payloadSize,
      warmupMs: opts.warmupMs,
    } as const
    await sub.setup(t.target, { ...job, role: 'subscriber' }, 60_000)
    await pub.setup(t.target, { ...job, role: 'publishers' }, 60_000)
    sub.send({ type: 'start' })
    pub.send({ type: 'start' })
    const win = await measure(t, [pub, sub])
    pub.send({ type: 'stop' })
    await sleep(300)
    sub.send({ type: 'stop' })
    const [p, s] = await Promise.all([pub.sample(), sub.sample()])
    const l = s.latency
    return {
      metrics: {
        'p50 us': l?.p50 ?? Number.NaN,
        'p99 us': l?.p99 ?? Number.NaN,
        'max us': l?.max ?? Number.NaN,
        delivered: p.counters.sent > 0 ? s.counters.received / p.counters.sent : 0,
        'gen CPU %': win.generatorCpu,
        'broker CPU %': win.brokerCpu,
        'other CPU %': win.otherCpu,
      },
      notes: [...p.errors, ...s.errors].slice(0, 5),
    }
  },
}
