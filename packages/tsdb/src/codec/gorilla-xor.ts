/**
 * Gorilla's XOR value compression, Pelkonen et al., VLDB 2015, section 4.1.2:
 * the first value in full, then each value XORed with the previous one:
 *   '0'                       identical to the previous value
 *   '10' + bits               the meaningful bits fit the previous window
 *                             (at least as many leading and trailing zeros)
 *   '11' + 5 + 6 + bits       a new window: leading zeros (capped at 31),
 *                             meaningful length (64 written as 0), the bits
 * Works on bit patterns, so it is exact for every double (NaN payloads, -0,
 * subnormals). The fallback for full-precision floats, and the reference the
 * benchmark compares against.
 */
import type { BitReader, BitWriter } from './bits.js'
import { ChunkFormatError } from './errors.js'
import { HI, LO } from './float-bits.js'

/** Trailing zeros of a non-zero int32. */
const ctz = (x: number): number => 31 - Math.clz32(x & -x)

/** Writes the `len` bits of the 64-bit value (xh, xl) that start `shift` bits from the right. */
function writeWindow(w: BitWriter, xh: number, xl: number, shift: number, len: number): void {
  let sh: number
  let sl: number
  if (shift === 0) {
    sh = xh
    sl = xl
  } else if (shift < 32) {
    sl = (xl >>> shift) | (xh << (32 - shift))
    sh = xh >>> shift
  } else {
    sl = xh >>> (shift - 32)
    sh = 0
  }
  if (len > 32) {
    w.write(sh, len - 32)
    w.write(sl, 32)
  } else w.write(sl, len)
}

/** Encodes the n ≥ 1 doubles whose halves are u[0, 2n). */
export function writeXor(w: BitWriter, u: Uint32Array, n: number): void {
  let ph = u[HI] as number
  let pl = u[LO] as number
  w.write(ph, 32)
  w.write(pl, 32)
  let prevLead = 64 // no window yet: forces '11' on the first change
  let prevTrail = 0
  for (let i = 1; i < n; i++) {
    const h = u[2 * i + HI] as number
    const l = u[2 * i + LO] as number
    const xh = h ^ ph
    const xl = l ^ pl
    ph = h
    pl = l
    if ((xh | xl) === 0) {
      w.write(0, 1)
      continue
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl)
    if (lead > 31) lead = 31
    const trail = xl !== 0 ? ctz(xl) : 32 + ctz(xh)
    if (lead >= prevLead && trail >= prevTrail) {
      w.write(0b10, 2)
      writeWindow(w, xh, xl, prevTrail, 64 - prevLead - prevTrail)
    } else {
      const len = 64 - lead - trail
      w.write(0b11, 2)
      w.write(lead, 5)
      w.write(len & 63, 6)
      writeWindow(w, xh, xl, trail, len)
      prevLead = lead
      prevTrail = trail
    }
  }
}

/** Decodes n ≥ 1 doubles into the halves u[0, 2n). */
export function readXor(r: BitReader, u: Uint32Array, n: number): void {
  let h = r.read(32)
  let l = r.read(32)
  u[HI] = h
  u[LO] = l
  let lead = -1
  let trail = 0
  let len = 0
  for (let i = 1; i < n; i++) {
    if (r.read(1) === 1) {
      if (r.read(1) === 1) {
        lead = r.read(5)
        len = r.read(6) || 64
        trail = 64 - lead - len
        if (trail < 0) throw new ChunkFormatError(`XOR window of ${lead} + ${len} bits is wider than 64`)
      } else if (lead < 0) throw new ChunkFormatError('XOR value reuses a window before any was set')
      let sh = 0
      let sl: number
      if (len > 32) {
        sh = r.read(len - 32)
        sl = r.read(32)
      } else sl = r.read(len)
      if (trail === 0) {
        h ^= sh
        l ^= sl
      } else if (trail < 32) {
        h ^= (sh << trail) | (sl >>> (32 - trail))
        l ^= sl << trail
      } else h ^= sl << (trail - 32)
    }
    u[2 * i + HI] = h
    u[2 * i + LO] = l
  }
}
