// QoS 1 fan-in into a persistent session (issue 2, section 6): one subscriber with clean
// session 0 (MQTT 5: Session Expiry > 0) at QoS 1, publishers with a bounded window of
// unacknowledged messages each and no other gate. PUBACKs/s is what publishers see; the
// delivered fraction counts distinct messages at the subscriber against PUBACKs received, so
// a broker that acknowledges and then drops has not delivered.
import { drain, drainNote, errorsOf, measure, rate, type Scenario, split, sum } from './common.js'

export const qos1: Scenario = {
  name: 'qos1',
  metrics: ['PUBACKs/s', 'msgs/s', 'delivered', 'drain s', 'gen CPU %', 'broker CPU %', 'other CPU %'],
  async run(t) {
    const { opts, target } = t
    const parts = split(opts.qos1Publishers, opts.workers - 1)
    const ws = t.workers(parts.length + 1)
    const sub = ws[parts.length]
    const timeoutMs = 60_000
    let first = 0
    await sub?.setup(
      target,
      {
        kind: 'subscribers',
        count: 1,
        idPrefix: `${t.tag}-persistent-`,
        filter: `bench/${t.tag}/q1/+`,
        qos: 1,
        clean: false,
        unique: true,
      },
      timeoutMs,
    )
    await Promise.all(
      parts.map((count, i) => {
        const firstIndex = first
        first += count
        return ws[i]?.setup(
          target,
          {
            kind: 'qos1-publishers',
            count,
            idPrefix: `${t.tag}-p${i}-`,
            topic: `bench/${t.tag}/q1/{i}`,
            firstIndex,
            payloadSize: opts.payloadSize,
            window: opts.qos1Window,
          },
          timeoutMs,
        )
      }),
    )
    for (const w of ws) w.send({ type: 'start' })
    const win = await measure(t, ws)
    for (const w of ws) if (w !== sub) w.send({ type: 'stop' })
    const drained = await drain(
      t,
      ws,
      (s) => sum(s, 'unique') + sum(s, 'acked'),
      (s) => sum(s, 'unique') >= sum(s, 'sent'),
    )
    const final = drained.samples
    const acked = sum(final, 'acked')
    return {
      metrics: {
        'PUBACKs/s': rate(win, 'acked'),
        'msgs/s': rate(win, 'unique'),
        delivered: acked > 0 ? sum(final, 'unique') / acked : 0,
        // How long the subscriber kept receiving after publishers stopped: the broker's backlog.
        'drain s': drained.seconds,
        'gen CPU %': win.generatorCpu,
        'broker CPU %': win.brokerCpu,
        'other CPU %': win.otherCpu,
      },
      notes: [...drainNote(drained), ...errorsOf(final)],
    }
  },
}
