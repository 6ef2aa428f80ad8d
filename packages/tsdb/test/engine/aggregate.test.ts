/**
 * Aggregates against a naive reference on random data (seeded fast-check):
 * random batches over four hours, with seals (flush) and reopens between
 * them, so that a query meets sealed chunks taken whole by their summaries,
 * chunks decoded because a bucket or the range cuts them, head windows, and
 * late points merged at read.
 */
import { test } from 'node:test'
import fc from 'fast-check'
import { AGGREGATE_FUNCTIONS, type EnginePoint, TimeSeriesEngine } from '../../src/index.js'
import {
  assertSameAggregate,
  assertSamePoints,
  HOUR,
  Model,
  readAggregate,
  readRaw,
  T0,
  withDir,
} from './helpers.js'

const SEED = 0x4a66
const SERIES = ['dev-a/t', 'dev-a/h', 'dev-b/t']

const nanWithPayload = new Float64Array(new BigUint64Array([0x7ff8_0000_dead_beefn]).buffer)[0] as number

const value = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((i) => i / 10) },
  { weight: 3, arbitrary: fc.double({ min: -1e200, max: 1e200, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, nanWithPayload, -0, 0, Infinity, -Infinity) },
)

const point = fc.record({
  series: fc.constantFrom(...SERIES),
  // Four hours, with bursts of equal timestamps (replacements) now and then.
  ts: fc.oneof(
    fc.integer({ min: 0, max: 4 * HOUR - 1 }),
    fc.integer({ min: 0, max: 20 }).map((i) => i * 1000),
  ),
  value,
})

const step = fc.record({
  points: fc.array(point, { minLength: 1, maxLength: 80 }),
  after: fc.constantFrom('nothing', 'nothing', 'flush', 'reopen'),
})

const query = fc.record({
  from: fc.integer({ min: -HOUR, max: 4 * HOUR }),
  span: fc.integer({ min: 1, max: 6 * HOUR }),
  bucketMs: fc.oneof(
    fc.constantFrom(1000, 60_000, 15 * 60_000, HOUR, 2 * HOUR, 86_400_000),
    fc.integer({ min: 1, max: 3 * HOUR }),
  ),
  fn: fc.constantFrom(...AGGREGATE_FUNCTIONS),
})

test('aggregates and raw reads match a naive reference (seeded)', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 6 }),
      fc.array(query, { minLength: 1, maxLength: 6 }),
      async (steps, queries) => {
        await withDir(async (dir) => {
          const options = { fsync: false, sealCheckMs: 0 }
          let engine = await TimeSeriesEngine.open(dir, options)
          const model = new Model()
          try {
            for (const s of steps) {
              const points: EnginePoint[] = s.points.map((p) => ({ ...p, ts: T0 + p.ts }))
              await engine.write(points)
              model.write(points)
              if (s.after === 'flush') await engine.flush()
              if (s.after === 'reopen') {
                await engine.close()
                engine = await TimeSeriesEngine.open(dir, options)
              }
            }
            for (const series of SERIES)
              assertSamePoints(await readRaw(engine, series), model.raw(series), series)
            for (const q of queries) {
              const from = T0 + q.from
              const to = from + q.span
              const got = await readAggregate(engine, SERIES, from, to, q.bucketMs, q.fn)
              for (const series of SERIES) {
                const what = `${q.fn} of ${series} over [${q.from}, +${q.span}) by ${q.bucketMs} ms`
                assertSameAggregate(
                  got.get(series) ?? [],
                  model.aggregate(series, from, to, q.bucketMs, q.fn),
                  what,
                )
              }
            }
          } finally {
            await engine.close()
          }
        })
      },
    ),
    { seed: SEED, numRuns: 80 },
  )
})
