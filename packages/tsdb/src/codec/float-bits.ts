/**
 * Float64 bit patterns as two 32-bit halves: index HI and LO of the pair at 2i
 * in a Uint32Array view of a Float64Array. The view's layout follows the
 * platform's byte order, so the halves' positions are detected once here.
 */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

export const HI = littleEndian ? 1 : 0
export const LO = littleEndian ? 0 : 1

/** The 32-bit halves of a Float64Array's elements (2 per element), sharing its memory. */
export function halves(f: Float64Array): Uint32Array {
  return new Uint32Array(f.buffer, f.byteOffset, f.length * 2)
}
