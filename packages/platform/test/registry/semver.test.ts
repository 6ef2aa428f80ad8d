import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { semverKey } from '../../src/registry/semver.js'

// The precedence example of the semver spec, item 11.4, in ascending order.
const ORDERED = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '1.0.1',
  '1.2.0',
  '1.10.0',
  '2.0.0',
]

test('semver keys sort in precedence order [semver 11]', () => {
  const keys = ORDERED.map((v) => semverKey(v))
  for (const k of keys) assert.ok(k !== null)
  const sorted = [...keys].sort()
  assert.deepEqual(sorted, keys)
  assert.equal(semverKey('1.0.0+build.5'), semverKey('1.0.0'), 'build metadata does not count [semver 10]')
  assert.equal(semverKey('v1.0.0'), semverKey('1.0.0'))
  for (const bad of ['1.0', '01.0.0', '1.0.0-', '1.0.0-01', 'abc', '', '1.0.0-a..b', '1234567890.0.0']) {
    assert.equal(semverKey(bad), null, bad)
  }
})

/** Reference comparison written straight from the spec's rules, to check the key against. */
function compare(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.replace(/^v/, '').split('+')[0]?.split(/-(.*)/s) ?? []
    return { nums: core.split('.').map(Number), pre: pre === undefined ? null : pre.split('.') }
  }
  const x = parse(a)
  const y = parse(b)
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  if (x.pre === null || y.pre === null) return x.pre === y.pre ? 0 : x.pre === null ? 1 : -1
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i]
    const q = y.pre[i]
    if (p === undefined) return -1
    if (q === undefined) return 1
    const pn = /^\d+$/.test(p)
    const qn = /^\d+$/.test(q)
    if (pn && qn) {
      const d = BigInt(p) - BigInt(q)
      if (d !== 0n) return d > 0n ? 1 : -1
    } else if (pn !== qn) return pn ? -1 : 1
    else if (p !== q) return p < q ? -1 : 1
  }
  return 0
}

test('semver keys agree with a reference comparison (seeded)', () => {
  const num = fc.oneof(fc.constantFrom(0, 1, 2, 9, 10, 11), fc.integer({ min: 0, max: 999_999_999 }))
  const ident = fc.oneof(
    fc.constantFrom('alpha', 'beta', 'rc', 'a-b', '0a', 'A', 'Z-'),
    fc.integer({ min: 0, max: 10_000 }).map(String),
  )
  const version = fc
    .tuple(num, num, num, fc.option(fc.array(ident, { minLength: 1, maxLength: 3 })))
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}`)
  fc.assert(
    fc.property(version, version, (a, b) => {
      const ka = semverKey(a)
      const kb = semverKey(b)
      assert.ok(ka !== null && kb !== null, `${a} ${b}`)
      const byKey = ka < kb ? -1 : ka > kb ? 1 : 0
      assert.equal(byKey, compare(a, b), `${a} vs ${b}`)
    }),
    { seed: 11, numRuns: 2000 },
  )
})
