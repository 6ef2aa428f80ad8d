// Fan-in and fan-out at QoS 0 (issue 2, section 6). Publishers send only while fewer than
// `window` messages are in flight (sent, not yet received by a subscriber): the parent grants
// cumulative credit as subscribers report receipts. The rate reached is the highest the broker
// sustains without queueing without bound, and the delivered fraction shows any loss.
import {
  drain,
  drainNote,
  errorsOf,
  measure,
  rate,
  type Scenario,
  split,
  sum,
  type Trial,
  type TrialResult,
} from './common.js'

interface Shape {
  publishers: number
  subscribers: number
  /** Publisher workers and subscriber workers. */
  pubWorkers: number
  subWorkers: number
  topic: string
  filter: string
  window: number
}

async function gated(t: Trial, shape: Shape): Promise<TrialResult> {
  const { opts, target } = t
  const fanout = shape.subscribers
  const pubParts = split(shape.publishers, shape.pubWorkers)
  const subParts = split(shape.subscribers, shape.subWorkers)
  const ws = t.workers(pubParts.length + subParts.length)
  const pubs = ws.slice(0, pubParts.length)
  const subs = ws.slice(pubParts.length)
  // Per publisher socket and write: enough to fill the window in one pass, within 1..64.
  const batch = opts.batch || Math.max(1, Math.min(64, Math.floor(shape.window / fanout / shape.publishers)))
  const timeoutMs = 60_000
  let first = 0
  await Promise.all([
    ...subs.map((w, i) =>
      w.setup(
        target,
        {
          kind: 'subscribers',
          count: subParts[i] as number,
          idPrefix: `${t.tag}-s${i}-`,
          filter: shape.filter,
          qos: 0,
          clean: true,
          unique: false,
        },
        timeoutMs,
      ),
    ),
    ...pubs.map((w, i) => {
      const firstIndex = first
      first += pubParts[i] as number
      return w.setup(
        target,
        {
          kind: 'gated-publishers',
          count: pubParts[i] as number,
          idPrefix: `${t.tag}-p${i}-`,
          topic: shape.topic,
          firstIndex,
          payloadSize: opts.payloadSize,
          batch,
        },
        timeoutMs,
      )
    }),
  ])

  // Credit: total publishes allowed = (deliveries received + window) / subscribers per message,
  // shared among publisher workers in proportion to their publishers.
  const grant = () => {
    const received = subs.reduce((a, w) => a + w.received, 0)
    const allowed = Math.floor((received + shape.window) / fanout)
    pubs.forEach((w, i) => {
      w.send({ type: 'credit', total: Math.floor((allowed * (pubParts[i] as number)) / shape.publishers) })
    })
  }
  for (const w of subs) w.onProgress = grant
  grant()
  for (const w of ws) w.send({ type: 'start' })
  const win = await measure(t, ws)
  for (const w of pubs) w.send({ type: 'stop' })
  const drained = await drain(
    t,
    ws,
    (s) => sum(s, 'received'),
    (s) => sum(s, 'received') >= sum(s, 'sent') * fanout,
  )
  const final = drained.samples
  const sent = sum(final, 'sent')
  return {
    metrics: {
      'msgs/s': rate(win, 'received'),
      delivered: sent > 0 ? sum(final, 'received') / (sent * fanout) : 0,
      'gen CPU %': win.generatorCpu,
      'broker CPU %': win.brokerCpu,
      'other CPU %': win.otherCpu,
    },
    notes: [...drainNote(drained), ...errorsOf(final)],
  }
}

export const fanIn: Scenario = {
  name: 'fan-in',
  metrics: ['msgs/s', 'delivered', 'gen CPU %', 'broker CPU %', 'other CPU %'],
  run: (t) =>
    gated(t, {
      publishers: t.opts.fanInPublishers,
      subscribers: 1,
      pubWorkers: t.opts.workers - 1,
      subWorkers: 1,
      topic: `bench/${t.tag}/in/{i}`,
      filter: `bench/${t.tag}/in/+`,
      window: t.opts.window,
    }),
}

export const fanOut: Scenario = {
  name: 'fan-out',
  metrics: ['msgs/s', 'delivered', 'gen CPU %', 'broker CPU %', 'other CPU %'],
  run: (t) =>
    gated(t, {
      publishers: 1,
      subscribers: t.opts.fanOutSubscribers,
      pubWorkers: 1,
      subWorkers: t.opts.workers - 1,
      topic: `bench/${t.tag}/out`,
      filter: `bench/${t.tag}/out`,
      window: t.opts.fanOutWindow,
    }),
}
