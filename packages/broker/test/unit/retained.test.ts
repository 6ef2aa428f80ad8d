import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StoredMessage } from '../../src/persistence/store.js'
import { RetainedIndex } from '../../src/retained.js'

const msg = (topic: string): StoredMessage => ({
  id: 1,
  topic,
  payload: Buffer.from('x'),
  qos: 0,
  retain: true,
  receivedAt: 0,
})

function topics(index: RetainedIndex, filter: string): string[] {
  const out: string[] = []
  index.match(filter, (m) => out.push(m.topic))
  return out.sort()
}

describe('RetainedIndex', () => {
  test('wildcard lookups walk only matching branches', () => {
    const index = new RetainedIndex()
    for (const t of ['a', 'a/b', 'a/c', 'a/b/c', 'b/b', '$SYS/x']) index.set(msg(t))
    assert.deepEqual(topics(index, 'a/#'), ['a', 'a/b', 'a/b/c', 'a/c'])
    assert.deepEqual(topics(index, '+/b'), ['a/b', 'b/b'])
    assert.deepEqual(topics(index, '#'), ['a', 'a/b', 'a/b/c', 'a/c', 'b/b']) // [MQTT-4.7.2-1]
    assert.deepEqual(topics(index, '$SYS/#'), ['$SYS/x'])
    assert.deepEqual(topics(index, 'a/b'), ['a/b'])
    assert.equal(index.size, 6)
  })

  test('delete prunes and counts [MQTT-3.3.1-6]', () => {
    const index = new RetainedIndex()
    index.set(msg('a/b'))
    assert.equal(index.set(msg('a/b'))?.topic, 'a/b')
    assert.equal(index.size, 1)
    assert.ok(index.delete('a/b'))
    assert.equal(index.delete('a/b'), undefined)
    assert.equal(index.size, 0)
    assert.deepEqual([...index.all()], [])
  })
})
