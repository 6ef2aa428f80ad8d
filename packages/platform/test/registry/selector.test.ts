import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { SelectorError } from '../../src/registry/errors.js'
import type { Device, DeviceStatus, NewDevice } from '../../src/registry/model.js'
import { OFFLINE } from '../../src/registry/model.js'
import { matches, parseSelector, selectorToSql } from '../../src/registry/selector.js'
import { openSqliteRegistry } from '../../src/registry/sqlite-repository.js'
import { listAll } from './repository-suite.js'

describe('fleet selector: parser', () => {
  test('parses every term kind into an AST', () => {
    const s = parseSelector(
      'type:a,b -group:test tag:floor=3,4 tag:x firmware:<2.0.0,1.0.0,beta online:false id:dev-*',
    )
    assert.deepEqual(s.terms, [
      { kind: 'type', negated: false, ids: ['a', 'b'] },
      { kind: 'group', negated: true, ids: ['test'] },
      { kind: 'tag', negated: false, key: 'floor', values: ['3', '4'] },
      { kind: 'tag', negated: false, key: 'x', values: null },
      {
        kind: 'firmware',
        negated: false,
        tests: [
          { op: '<', value: '2.0.0', key: '000000002.000000000.000000000~' },
          { op: '=', value: '1.0.0', key: '000000001.000000000.000000000~' },
          { op: 'exact', value: 'beta', key: '' },
        ],
      },
      { kind: 'online', negated: false, online: false },
      { kind: 'id', negated: false, patterns: ['dev-*'] },
    ])
    assert.deepEqual(parseSelector('').terms, [])
    assert.deepEqual(parseSelector(' \t ').terms, [])
    assert.deepEqual(parseSelector('tag:k=').terms, [{ kind: 'tag', negated: false, key: 'k', values: [''] }])
  })

  const errors: Array<[string, number, RegExp]> = [
    ['colour:red', 0, /one of type, group/],
    ['type', 4, /':' after 'type'/],
    ['type:', 5, /a value/],
    ['group:a,,b', 8, /a value between commas/],
    ['group:a,', 8, /a value between commas/],
    ['type:a/b', 5, /a type id/],
    ['online:yes', 7, /true or false/],
    ['tag:=3', 4, /a tag key/],
    ['tag:k=a b', 0, /./], // 'b' is its own (bad) term at column 9
    ['firmware:<2.x', 10, /a semantic version after '<'/],
    ['firmware:<', 10, /a semantic version/],
    ['id:dev?', 3, /an id pattern/],
    ['type:a -', 8, /one of/],
    ['--type:a', 1, /one of/],
  ]
  for (const [source, position, expected] of errors) {
    test(`refuses ${JSON.stringify(source)}`, () => {
      assert.throws(
        () => parseSelector(source),
        (err: unknown) => {
          assert.ok(err instanceof SelectorError)
          assert.equal(err.code, 'STRATA_REGISTRY_SELECTOR')
          if (source !== 'tag:k=a b') assert.equal(err.position, position)
          assert.match(err.expected, expected)
          assert.match(err.message, new RegExp(`column ${err.position + 1}`))
          return true
        },
      )
    })
  }

  test('limits: length and number of terms', () => {
    assert.throws(() => parseSelector('type:a '.repeat(1000)), SelectorError)
    assert.throws(() => parseSelector(Array.from({ length: 65 }, () => 'tag:a').join(' ')), SelectorError)
  })

  test('values only ever reach SQL as parameters', () => {
    const { sql, params } = selectorToSql(parseSelector('tag:k=a:b/c-- type:a id:b*'))
    assert.ok(!sql.includes('a:b/c') && !sql.includes("'"))
    assert.deepEqual(params, ['k', 'a:b/c--', 'a', 'b*'])
    // Quotes cannot even get that far: they are not valid in any selector value.
    assert.throws(() => parseSelector("tag:k=x'y"), SelectorError)
  })

  // Any string: it parses, or it throws SelectorError with a position inside the input.
  test('fuzz: never throws anything but SelectorError (seeded)', () => {
    const alphabet = fc.constantFrom(...'typegroupagfirmwaeonlidx:=,-<>*.0123 \t1/\'"\\\u0000é'.split(''))
    const near = fc.array(
      fc.oneof(
        fc.constantFrom(
          'type:',
          'group:',
          'tag:',
          'firmware:',
          'online:',
          'id:',
          '-',
          ',',
          '=',
          ' ',
          '<=',
          '>',
          'true',
          'a',
        ),
        fc.string({ maxLength: 4 }),
      ),
      { maxLength: 12 },
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.string({ unit: alphabet, maxLength: 60 }),
          near.map((p) => p.join('')),
        ),
        (s) => {
          try {
            const parsed = parseSelector(s)
            selectorToSql(parsed)
          } catch (err) {
            if (!(err instanceof SelectorError)) throw err
            assert.ok(err.position >= 0 && err.position <= s.length, `${err.position} in ${s.length}`)
          }
        },
      ),
      { seed: 20261125, numRuns: 3000 },
    )
  })
})

// ---- SQL and the in-memory predicate agree ---------------------------------------------------

const TYPES = ['t1', 't2']
const GROUPS = ['g1', 'g2', 'g3']
const TAG_KEYS = ['floor', 'room']
const TAG_VALUES = ['1', '2', '']
const FIRMWARE = [
  '1.0.0',
  '1.0.0-rc.1',
  '1.0.0-rc.10',
  '1.0.0-alpha',
  '1.2.0',
  '2.0.0',
  '2.0.0+b1',
  '0.9.9',
  'custom',
  'v3.0.0',
]

const arbDevice = fc.record({
  typeId: fc.constantFrom(null, ...TYPES),
  groups: fc.subarray(GROUPS),
  tags: fc.dictionary(fc.constantFrom(...TAG_KEYS), fc.constantFrom(...TAG_VALUES), { maxKeys: 2 }),
  firmwareVersion: fc.constantFrom(null, ...FIRMWARE),
  online: fc.constantFrom<'never' | 'online' | 'offline'>('never', 'online', 'offline'),
  idPrefix: fc.constantFrom('dev', 'gw', 'x.y'),
})

const list = <T>(arb: fc.Arbitrary<T>) =>
  fc.uniqueArray(arb, { minLength: 1, maxLength: 3 }).map((a) => a.join(','))
const arbTerm = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      list(fc.constantFrom(...TYPES, 'nope')).map((v) => `type:${v}`),
      list(fc.constantFrom(...GROUPS)).map((v) => `group:${v}`),
      fc.constantFrom(...TAG_KEYS).map((k) => `tag:${k}`),
      fc
        .tuple(fc.constantFrom(...TAG_KEYS), list(fc.constantFrom('1', '2')))
        .map(([k, v]) => `tag:${k}=${v}`),
      fc.constantFrom(...TAG_KEYS).map((k) => `tag:${k}=`),
      list(
        fc
          .tuple(
            fc.constantFrom('', '<', '<=', '>', '>=', '='),
            fc.constantFrom('1.0.0', '1.0.0-rc.2', '2.0.0', '1.0.0-alpha.1', '0.0.1'),
          )
          .map(([op, v]) => op + v),
      ).map((v) => `firmware:${v}`),
      fc.constantFrom('firmware:custom', 'firmware:v3.0.0', 'online:true', 'online:false'),
      list(fc.constantFrom('dev-*', '*-1', 'x.y*', '*', 'gw-2')).map((v) => `id:${v}`),
    ),
  )
  .map(([neg, t]) => (neg ? `-${t}` : t))

test('fleet selector: SQL and the in-memory predicate agree on random fleets (seeded)', async () => {
  // Guards against a vacuous run: some selections must be proper, non-empty subsets.
  let proper = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(arbDevice, { minLength: 0, maxLength: 25 }),
      fc.array(fc.array(arbTerm, { maxLength: 4 }), { minLength: 1, maxLength: 8 }),
      async (fleet, selectors) => {
        const repo = openSqliteRegistry({ path: ':memory:' })
        try {
          for (const id of TYPES) await repo.createDeviceType({ id })
          for (const id of GROUPS) await repo.createGroup({ id })
          const inputs: NewDevice[] = fleet.map((f, i) => ({
            id: `${f.idPrefix}-${i}`,
            typeId: f.typeId,
            groups: f.groups,
            tags: f.tags,
            firmwareVersion: f.firmwareVersion,
          }))
          const devices: Device[] = await repo.createDevices(inputs)
          await repo.recordStatus(
            fleet.flatMap((f, i) =>
              f.online === 'never'
                ? []
                : [{ deviceId: `${f.idPrefix}-${i}`, online: f.online === 'online', lastSeen: null }],
            ),
          )
          const status = (i: number): DeviceStatus => ({ ...OFFLINE, online: fleet[i]?.online === 'online' })
          for (const terms of selectors) {
            const source = terms.join(' ')
            const selector = parseSelector(source)
            const expected = devices
              .map((d, i) => ({ d, i }))
              .filter(({ d, i }) => matches(selector, d, status(i)))
              .map(({ d }) => d.id)
              .sort()
            assert.deepEqual(await listAll(repo, source), expected, source)
            if (expected.length > 0 && expected.length < devices.length) proper++
          }
        } finally {
          await repo.close()
        }
      },
    ),
    { seed: 424242, numRuns: 60 },
  )
  assert.ok(proper > 50, `only ${proper} proper selections`)
})
