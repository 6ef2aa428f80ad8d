/**
 * What the management commands print. Results go to stdout (`--json`: the API's JSON as is;
 * otherwise an aligned table or `key: value` lines); notes and warnings go to stderr, so
 * that `TOKEN=$(strata device token create d1)` captures the token alone.
 */

export type Cell = string | number | boolean | null | undefined

/** A column: its header and how to get its text from a row. */
export type Column<T> = [header: string, cell: (row: T) => Cell]

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** A note for the person at the terminal, on stderr. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`)
}

export function text(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return String(value)
}

/** `{floor: '3', room: 'a'}` as `floor=3,room=a`. */
export const tagsText = (tags: Record<string, string> | undefined): string =>
  Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')

/** Aligned columns under upper-case headers; `empty` goes to stderr when there are no rows. */
export function printTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>, empty: string): void {
  if (rows.length === 0) {
    note(empty)
    return
  }
  const cells = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => text(f(r))))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)))
  const lines = cells.map((line) =>
    line
      .map((c, i) => (i === line.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** `key: value` lines with the values aligned. */
export function printFields(fields: ReadonlyArray<readonly [key: string, value: Cell]>): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1
  process.stdout.write(`${fields.map(([k, v]) => `${`${k}:`.padEnd(width)} ${text(v)}`).join('\n')}\n`)
}
