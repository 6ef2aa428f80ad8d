/**
 * Semantic versions (https://semver.org/#spec-item-11) reduced to a sort key: a string
 * whose plain byte order (SQLite BINARY collation, PostgreSQL COLLATE "C", JS `<`) is
 * semver precedence. The registry stores the key beside the firmware version, so the
 * selector's `firmware:<2.0.0` is an indexed range scan instead of a function call per row.
 */
const SEMVER =
  /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-((?:0|[1-9]\d{0,19}|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d{0,19}|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/

const pad = (digits: string, width: number): string => digits.padStart(width, '0')

/**
 * The sort key of `version`, or null when it is not a semantic version. Core numbers are
 * capped at 9 digits and numeric pre-release identifiers at 20 so that they pad to a
 * fixed width. Build metadata is ignored, as precedence ignores it [semver 10].
 */
export function semverKey(version: string): string | null {
  if (version.length > 128) return null
  const m = SEMVER.exec(version)
  if (!m) return null
  const core = `${pad(m[1] ?? '0', 9)}.${pad(m[2] ?? '0', 9)}.${pad(m[3] ?? '0', 9)}`
  const pre = m[4]
  // A release sorts after all its pre-releases [semver 11.3]: '~' > '-'.
  if (pre === undefined) return `${core}~`
  // Numeric identifiers sort before alphanumeric ones, numerically; alphanumeric ones in
  // ASCII order; a shorter list that is a prefix sorts first [semver 11.4]. The separator
  // '!' sorts below every identifier character, which gives the prefix rule.
  const ids = pre.split('.').map((id) => (/^\d+$/.test(id) ? `0${pad(id, 20)}` : `1${id}`))
  return `${core}-${ids.join('!')}`
}
