/**
 * Fleet selectors: `type:thermostat group:a,b -tag:test tag:floor=3 firmware:<2.0.0 online:true id:dev-*`.
 * Terms separated by spaces are ANDed; commas inside a term are ORed; a leading '-' negates.
 * One parse gives an AST that compiles both to an in-memory predicate and to a parameterized
 * SQL WHERE clause; a property test checks that the two agree. Syntax: docs/registry.md.
 */
import { SelectorError } from './errors.js'
import type { Device, DeviceStatus } from './model.js'
import { ID_PATTERN, TAG_KEY_PATTERN, TAG_VALUE_PATTERN } from './model.js'
import { semverKey } from './semver.js'

export type FirmwareOp = '<' | '<=' | '>' | '>=' | '='
/** `op: 'exact'` compares the version string itself (for versions that are not semver). */
export interface FirmwareTest {
  op: FirmwareOp | 'exact'
  value: string
  /** semverKey(value) for the comparison operators. */
  key: string
}

export type Term = { negated: boolean } & (
  | { kind: 'type' | 'group'; ids: string[] }
  | { kind: 'id'; patterns: string[] }
  | { kind: 'tag'; key: string; values: string[] | null }
  | { kind: 'firmware'; tests: FirmwareTest[] }
  | { kind: 'online'; online: boolean }
)

export interface Selector {
  source: string
  terms: Term[]
}

export const MAX_SELECTOR_LENGTH = 4096
export const MAX_TERMS = 64
export const MAX_ALTERNATIVES = 256

const KINDS = ['type', 'group', 'tag', 'firmware', 'online', 'id'] as const
type Kind = (typeof KINDS)[number]
const GLOB_PATTERN = /^[a-zA-Z0-9._*-]{1,128}$/

const describe = (s: string): string =>
  s === '' ? 'end of term' : JSON.stringify(s.length > 20 ? `${s.slice(0, 20)}…` : s)

/** Parses a selector; the empty (or all-blank) selector matches every device. */
export function parseSelector(source: string): Selector {
  if (typeof source !== 'string') throw new SelectorError(0, 'a string', typeof source)
  if (source.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorError(
      MAX_SELECTOR_LENGTH,
      `at most ${MAX_SELECTOR_LENGTH} characters`,
      `${source.length}`,
    )
  }
  const terms: Term[] = []
  // Spaces and tabs separate terms; a term is a maximal run of anything else.
  for (const m of source.matchAll(/[^ \t\r\n]+/g)) {
    if (terms.length === MAX_TERMS) throw new SelectorError(m.index, `at most ${MAX_TERMS} terms`, 'more')
    terms.push(parseTerm(m[0], m.index))
  }
  return { source, terms }
}

function parseTerm(text: string, at: number): Term {
  const negated = text.startsWith('-')
  const start = negated ? 1 : 0
  const colon = text.indexOf(':', start)
  const kindText = colon < 0 ? text.slice(start) : text.slice(start, colon)
  if (!(KINDS as readonly string[]).includes(kindText)) {
    throw new SelectorError(at + start, `one of ${KINDS.join(', ')}`, describe(kindText))
  }
  const kind = kindText as Kind
  if (colon < 0) throw new SelectorError(at + text.length, `':' after '${kind}'`, 'end of term')
  const valueAt = at + colon + 1
  const valueText = text.slice(colon + 1)
  if (valueText === '') throw new SelectorError(valueAt, `a value after '${kind}:'`, 'end of term')
  if (kind === 'online') {
    if (valueText !== 'true' && valueText !== 'false')
      throw new SelectorError(valueAt, 'true or false', describe(valueText))
    return { kind, negated, online: valueText === 'true' }
  }
  if (kind === 'tag') return parseTag(valueText, valueAt, negated)
  const items = splitList(valueText, valueAt)
  switch (kind) {
    case 'type':
    case 'group':
      for (const [v, p] of items)
        if (!ID_PATTERN.test(v)) throw new SelectorError(p, `a ${kind} id`, describe(v))
      return { kind, negated, ids: items.map(([v]) => v) }
    case 'id':
      for (const [v, p] of items) {
        if (!GLOB_PATTERN.test(v))
          throw new SelectorError(p, "an id pattern (id characters and '*')", describe(v))
      }
      return { kind, negated, patterns: items.map(([v]) => v) }
    case 'firmware':
      return { kind, negated, tests: items.map(([v, p]) => parseFirmware(v, p)) }
  }
}

/** Splits `a,b,c` and returns each value with its column, refusing empty values. */
function splitList(text: string, at: number): Array<[string, number]> {
  const out: Array<[string, number]> = []
  let pos = at
  for (const v of text.split(',')) {
    if (v === '') throw new SelectorError(pos, 'a value between commas', describe(v))
    if (out.length === MAX_ALTERNATIVES)
      throw new SelectorError(pos, `at most ${MAX_ALTERNATIVES} alternatives`, 'more')
    out.push([v, pos])
    pos += v.length + 1
  }
  return out
}

function parseTag(text: string, at: number, negated: boolean): Term {
  const eq = text.indexOf('=')
  const key = eq < 0 ? text : text.slice(0, eq)
  if (!TAG_KEY_PATTERN.test(key)) throw new SelectorError(at, 'a tag key', describe(key))
  if (eq < 0) return { kind: 'tag', negated, key, values: null }
  const valuesAt = at + eq + 1
  const rest = text.slice(eq + 1)
  // `tag:k=` selects the empty value, which is a valid tag value.
  const items: Array<[string, number]> = rest === '' ? [['', valuesAt]] : splitList(rest, valuesAt)
  for (const [v, p] of items)
    if (!TAG_VALUE_PATTERN.test(v)) throw new SelectorError(p, 'a tag value', describe(v))
  return { kind: 'tag', negated, key, values: items.map(([v]) => v) }
}

function parseFirmware(text: string, at: number): FirmwareTest {
  const op = /^(<=|>=|<|>|=)/.exec(text)?.[1] as FirmwareOp | undefined
  const value = op ? text.slice(op.length) : text
  const key = semverKey(value)
  if (op) {
    if (key === null)
      throw new SelectorError(at + op.length, `a semantic version after '${op}'`, describe(value))
    return { op, value, key }
  }
  if (key !== null) return { op: '=', value, key }
  if (!TAG_VALUE_PATTERN.test(value)) throw new SelectorError(at, 'a firmware version', describe(value))
  return { op: 'exact', value, key: '' }
}

// ---- in-memory predicate --------------------------------------------------------------------

const globCache = new Map<string, RegExp>()
function globRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern)
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
        .join('.*')}$`,
      's',
    )
    if (globCache.size > 1000) globCache.clear()
    globCache.set(pattern, re)
  }
  return re
}

function firmwareMatches(t: FirmwareTest, version: string | null): boolean {
  if (version === null) return false
  if (t.op === 'exact') return version === t.value
  const key = semverKey(version)
  if (key === null) return false
  switch (t.op) {
    case '<':
      return key < t.key
    case '<=':
      return key <= t.key
    case '>':
      return key > t.key
    case '>=':
      return key >= t.key
    case '=':
      return key === t.key
  }
}

function termMatches(term: Term, d: Device, status: DeviceStatus): boolean {
  switch (term.kind) {
    case 'type':
      return d.typeId !== null && term.ids.includes(d.typeId)
    case 'group':
      return term.ids.some((g) => d.groups.includes(g))
    case 'id':
      return term.patterns.some((p) => globRegExp(p).test(d.id))
    case 'tag': {
      if (!Object.hasOwn(d.tags, term.key)) return false
      const v = d.tags[term.key]
      return term.values === null || (v !== undefined && term.values.includes(v))
    }
    case 'firmware':
      return term.tests.some((t) => firmwareMatches(t, d.firmwareVersion))
    case 'online':
      return status.online === term.online
  }
}

/** True when the device (with its connection status) satisfies every term. */
export function matches(selector: Selector, device: Device, status: DeviceStatus): boolean {
  return selector.terms.every((t) => termMatches(t, device, status) !== t.negated)
}

// ---- SQL ----------------------------------------------------------------------------------

/** A WHERE clause over `devices d` (schema: migrations.ts); values only ever travel as parameters. */
export interface SqlWhere {
  sql: string
  params: Array<string | number>
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

/**
 * Each term compiles to an expression that is never NULL (NULL columns are tested first),
 * so that NOT gives the same answer as the predicate's negation. Group and tag tests are
 * `d.id IN (subquery)` so SQLite can drive them from the (group_id) and (key, value) indexes.
 */
function termSql(term: Term, params: Array<string | number>): string {
  switch (term.kind) {
    case 'type':
      params.push(...term.ids)
      return `(d.type_id IS NOT NULL AND d.type_id IN (${placeholders(term.ids.length)}))`
    case 'group':
      params.push(...term.ids)
      return `d.id IN (SELECT device_id FROM device_groups WHERE group_id IN (${placeholders(term.ids.length)}))`
    case 'id':
      // Ids and patterns hold no GLOB metacharacter other than '*' (ID_PATTERN, GLOB_PATTERN).
      params.push(...term.patterns)
      return `(${term.patterns.map(() => 'd.id GLOB ?').join(' OR ')})`
    case 'tag':
      params.push(term.key)
      if (term.values === null) return 'd.id IN (SELECT device_id FROM device_tags WHERE key = ?)'
      params.push(...term.values)
      return `d.id IN (SELECT device_id FROM device_tags WHERE key = ? AND value IN (${placeholders(term.values.length)}))`
    case 'firmware': {
      const parts = term.tests.map((t) => {
        if (t.op === 'exact') {
          params.push(t.value)
          return '(d.firmware_version IS NOT NULL AND d.firmware_version = ?)'
        }
        params.push(t.key)
        return `(d.firmware_key IS NOT NULL AND d.firmware_key ${t.op} ?)`
      })
      return `(${parts.join(' OR ')})`
    }
    case 'online':
      params.push(1)
      return `d.id ${term.online ? '' : 'NOT '}IN (SELECT device_id FROM device_status WHERE online = ?)`
  }
}

export function selectorToSql(selector: Selector): SqlWhere {
  const params: Array<string | number> = []
  if (selector.terms.length === 0) return { sql: '1 = 1', params }
  const sql = selector.terms
    .map((t) => (t.negated ? `NOT (${termSql(t, params)})` : termSql(t, params)))
    .join(' AND ')
  return { sql, params }
}
