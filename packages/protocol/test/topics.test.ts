import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  isValidUtf8,
  parseSharedSubscription,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from '../src/index.js'

describe('validateTopicName', () => {
  const valid = ['a', 'a/b', '/', '/a', 'a/', 'a//b', '$SYS/broker/uptime', 'ü/€/😀', ' ']
  for (const t of valid)
    test(`valid: ${JSON.stringify(t)}`, () => assert.equal(validateTopicName(t), undefined))

  const invalid: Array<[string, string, RegExp]> = [
    ['MQTT-4.7.3-1', '', /empty/],
    ['MQTT-3.3.2-2', 'a/+', /wildcard/],
    ['MQTT-3.3.2-2', 'a/#', /wildcard/],
    ['MQTT-3.3.2-2', 'a+b', /wildcard/],
    ['MQTT-4.7.3-2', 'a\u0000b', /U\+0000/],
  ]
  for (const [tag, t, re] of invalid) {
    test(`[${tag}] invalid: ${JSON.stringify(t)}`, () => assert.match(validateTopicName(t) ?? '', re))
  }

  test('[MQTT-4.7.3-3] byte length, not UTF-16 length, against the limits', () => {
    assert.equal(validateTopicName('€€€', 9), undefined)
    assert.match(validateTopicName('€€€', 8) ?? '', /9 bytes/)
    assert.match(validateTopicName('a'.repeat(65_536)) ?? '', /65535/)
  })

  test('level limit', () => {
    assert.equal(validateTopicName('a/b/c', undefined, 3), undefined)
    assert.match(validateTopicName('a/b/c/d', undefined, 3) ?? '', /4 levels/)
  })
})

describe('validateTopicFilter', () => {
  const valid = [
    '#',
    '+',
    'a/#',
    '+/+',
    '/+',
    'a/+/b',
    '+/#',
    '$SYS/#',
    '$share/g/a/#',
    '$share/g/+',
    '$share/g//',
  ]
  for (const f of valid)
    test(`valid: ${JSON.stringify(f)}`, () => assert.equal(validateTopicFilter(f), undefined))

  const invalid: Array<[string, string]> = [
    ['MQTT-4.7.3-1', ''],
    ['MQTT-4.7.1-2', 'a/#/b'],
    ['MQTT-4.7.1-2', 'a#'],
    ['MQTT-4.7.1-2', '#/'],
    ['MQTT-4.7.1-2', 'a/b#'],
    ['MQTT-4.7.1-3', 'a+'],
    ['MQTT-4.7.1-3', '+a/b'],
    ['MQTT-4.7.1-3', 'a/++'],
    ['MQTT-4.8.2-1', '$share//a'],
    ['MQTT-4.8.2-1', '$share/g+/a'],
    ['MQTT-4.8.2-1', '$share/#/a'],
    ['MQTT-4.8.2-2', '$share/g'],
    ['MQTT-4.8.2-2', '$share/g/'],
    ['MQTT-4.7.1-2', '$share/g/a#'],
  ]
  for (const [tag, f] of invalid) {
    test(`[${tag}] invalid: ${JSON.stringify(f)}`, () => assert.notEqual(validateTopicFilter(f), undefined))
  }

  test('levels are counted after the share name', () => {
    assert.equal(validateTopicFilter('$share/g/a/b', undefined, 2), undefined)
    assert.notEqual(validateTopicFilter('$share/g/a/b/c', undefined, 2), undefined)
  })
})

describe('parseSharedSubscription', () => {
  test('splits group and filter', () => {
    assert.deepEqual(parseSharedSubscription('$share/g1/a/+/#'), { group: 'g1', filter: 'a/+/#' })
    assert.equal(parseSharedSubscription('a/b'), undefined)
    assert.equal(parseSharedSubscription('$shared/g/a'), undefined)
    assert.equal(parseSharedSubscription('$share/g'), undefined)
  })
})

describe('topicMatches', () => {
  const table: Array<[string, string, boolean, string?]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a', 'ab', false],
    ['ab', 'a', false],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true, 'MQTT-4.7.1-2: # matches the parent level'],
    ['a/#', 'a/', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['+', '/', false],
    ['+/+', '/', true, 'MQTT-4.7.1-3: empty levels'],
    ['/+', '/a', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['+/#', 'a', true],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/', 'a/', true],
    ['a/', 'a', false],
    ['#', '$SYS/uptime', false, 'MQTT-4.7.2-1'],
    ['+/uptime', '$SYS/uptime', false, 'MQTT-4.7.2-1'],
    ['$SYS/#', '$SYS/uptime', true],
    ['$SYS/+', '$SYS/uptime', true],
    ['a/#', '$a', false],
    ['ü/+', 'ü/€', true],
  ]
  for (const [filter, topic, expected, tag] of table) {
    test(`${tag ? `[${tag}] ` : ''}${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () =>
      assert.equal(topicMatches(filter, topic), expected))
  }

  /** A straightforward reference: split into levels and compare. */
  function reference(filter: string, topic: string): boolean {
    if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
    const f = filter.split('/')
    const t = topic.split('/')
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') return true
      if (i >= t.length) return false
      if (f[i] !== '+' && f[i] !== t[i]) return false
    }
    return f.length === t.length
  }

  test('agrees with a split-based reference on random filters and topics', () => {
    const level = fc.constantFrom('a', 'b', '', '$x', 'ab')
    const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'))
    const filter = fc
      .tuple(
        fc.array(fc.constantFrom('a', 'b', '', '+', 'ab', '$x'), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
      )
      .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        if (t === '' || validateTopicFilter(f) !== undefined) return
        assert.equal(topicMatches(f, t), reference(f, t), `${f} vs ${t}`)
      }),
      { seed: 42, numRuns: 3000 },
    )
  })
})

test('[MQTT-1.5.4-1] isValidUtf8', () => {
  assert.equal(isValidUtf8(Buffer.from('héllo €')), true)
  assert.equal(isValidUtf8(Buffer.from([0xff])), false)
  assert.equal(isValidUtf8(Buffer.from([0xed, 0xa0, 0x80])), false)
  assert.equal(isValidUtf8(Buffer.from([0xc0, 0xaf])), false)
})
