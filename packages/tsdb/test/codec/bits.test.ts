/** The bit writer and reader: any sequence of widths reads back; reads past the end fail cleanly. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { BitReader, BitWriter } from '../../src/codec/bits.js'
import { ChunkFormatError } from '../../src/index.js'
import { SEED } from './helpers.js'

type Field = { kind: 'bits'; width: number; value: number } | { kind: 'number'; width: number; value: number }

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 32 }).chain((width) =>
    fc.record({
      kind: fc.constant('bits' as const),
      width: fc.constant(width),
      value: fc.integer({ min: 0, max: 2 ** width - 1 }),
    }),
  ),
  fc.integer({ min: 33, max: 53 }).chain((width) =>
    fc.record({
      kind: fc.constant('number' as const),
      width: fc.constant(width),
      value: fc.bigInt({ min: 0n, max: 2n ** BigInt(width) - 1n }).map(Number),
    }),
  ),
)

describe('BitWriter and BitReader', () => {
  test('any sequence of fields of 0..53 bits reads back exactly', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 200 }), (fields) => {
        const w = new BitWriter(4) // tiny, so that growing is exercised
        let bits = 0
        for (const f of fields) {
          if (f.kind === 'bits') w.write(f.value, f.width)
          else w.writeNumber(f.value, f.width)
          bits += f.width
        }
        assert.equal(w.bitLength, bits)
        const bytes = w.finish()
        assert.equal(bytes.length, Math.ceil(bits / 8))
        const r = new BitReader(bytes, 0, bytes.length)
        for (const f of fields)
          assert.equal(f.kind === 'bits' ? r.read(f.width) : r.readNumber(f.width), f.value)
        r.end('test section')
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  test('write keeps only the low n bits of its value', () => {
    const w = new BitWriter()
    w.write(0xffffffff, 3)
    w.write(-1, 5)
    w.write(0x1ff, 4)
    assert.deepEqual([...w.finish()], [0xff, 0xf0])
  })

  test('varbits: 6-bit length then the value', () => {
    const w = new BitWriter()
    for (const x of [0, 1, 1000, 2 ** 32, 2 ** 53 - 1]) w.writeVarBits(x)
    const bytes = w.finish()
    const r = new BitReader(bytes, 0, bytes.length)
    for (const x of [0, 1, 1000, 2 ** 32, 2 ** 53 - 1]) assert.equal(r.readVarBits(), x)
  })

  test('reading past the end throws ChunkFormatError, never loops on zeros', () => {
    const r = new BitReader(Uint8Array.of(0xab), 0, 1)
    assert.equal(r.read(8), 0xab)
    assert.throws(() => {
      for (let i = 0; i < 1000; i++) r.read(8)
    }, ChunkFormatError)
  })

  test('end() rejects a section read short, read long, or with non-zero padding', () => {
    const bytes = Uint8Array.of(0b1010_0000, 0)
    const long = new BitReader(bytes, 0, 1)
    long.read(9)
    assert.throws(() => long.end('s'), /ends early/)
    const short = new BitReader(bytes, 0, 2)
    short.read(3)
    assert.throws(() => short.end('s'), /trailing bytes/)
    const dirty = new BitReader(bytes, 0, 1)
    dirty.read(1)
    assert.throws(() => dirty.end('s'), /padding/)
    const clean = new BitReader(bytes, 0, 1)
    clean.read(3)
    clean.end('s')
  })
})
