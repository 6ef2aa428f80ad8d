import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type SharedGroup,
  type SubscriptionEntry,
  SubscriptionIndex,
  splitShared,
} from '../../src/subscriptions.js'

const entry = (owner: string, topicFilter: string): SubscriptionEntry<string> => {
  const { group, filter } = splitShared(topicFilter)
  return {
    owner,
    topicFilter,
    filter,
    group,
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
  }
}

function matches(index: SubscriptionIndex<string>, topic: string): string[] {
  const out: string[] = []
  index.match(topic, {
    subscription: (e) => out.push(`${e.owner}:${e.topicFilter}`),
    shared: (g: SharedGroup<string>) => out.push(`share:${g.name}:${g.filter}`),
  })
  return out.sort()
}

// Reference matcher for the property test (MQTT 5 section 4.7).
function naiveMatch(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

describe('SubscriptionIndex', () => {
  test('literal, + and # matching, including the parent level of # [MQTT-4.7.1-2]', () => {
    const index = new SubscriptionIndex<string>()
    for (const f of ['a/b', 'a/+', 'a/#', '#', '+/b', 'a/b/c', '+']) index.add(entry('c', f))
    assert.deepEqual(matches(index, 'a/b'), ['c:#', 'c:+/b', 'c:a/#', 'c:a/+', 'c:a/b'])
    assert.deepEqual(matches(index, 'a'), ['c:#', 'c:+', 'c:a/#'])
    assert.equal(index.size, 7)
  })

  test('wildcards in the first level do not match $ topics [MQTT-4.7.2-1]', () => {
    const index = new SubscriptionIndex<string>()
    for (const f of ['#', '+/x', '$SYS/#', '$SYS/+']) index.add(entry('c', f))
    assert.deepEqual(matches(index, '$SYS/x'), ['c:$SYS/#', 'c:$SYS/+'])
  })

  test('shared groups are reported once per group', () => {
    const index = new SubscriptionIndex<string>()
    index.add(entry('a', '$share/g/t/+'))
    index.add(entry('b', '$share/g/t/+'))
    index.add(entry('c', '$share/h/t/+'))
    assert.deepEqual(matches(index, 't/1'), ['share:g:t/+', 'share:h:t/+'])
    assert.equal(index.remove('a', 't/+', 'g')?.owner, 'a')
    assert.equal(index.size, 2)
  })

  test('remove prunes and replaces are counted once', () => {
    const index = new SubscriptionIndex<string>()
    assert.equal(index.add(entry('a', 'x/y')), false)
    assert.equal(index.add(entry('a', 'x/y')), true)
    assert.equal(index.size, 1)
    assert.ok(index.remove('a', 'x/y', undefined))
    assert.equal(index.remove('a', 'x/y', undefined), undefined)
    assert.equal(index.size, 0)
    assert.deepEqual(matches(index, 'x/y'), [])
  })

  test('agrees with a naive matcher (seeded property)', () => {
    const level = fc.constantFrom('a', 'b', '', '$x')
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'))
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
    fc.assert(
      fc.property(fc.uniqueArray(filter, { maxLength: 8 }), topic, (filters, t) => {
        const index = new SubscriptionIndex<string>()
        for (const f of filters) index.add(entry('c', f))
        const expected = filters
          .filter((f) => naiveMatch(f, t))
          .map((f) => `c:${f}`)
          .sort()
        assert.deepEqual(matches(index, t), expected)
      }),
      { seed: 42, numRuns: 500 },
    )
  })
})
