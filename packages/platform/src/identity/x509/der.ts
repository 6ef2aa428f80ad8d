/**
 * The little DER reading the libraries do not expose: where an element ends (to refuse
 * trailing bytes, which would make our fingerprint differ from the one TLS computes) and
 * the exact bytes of a signed structure's first field (the to-be-signed part, which must be
 * verified as sent, not as re-encoded). X.690 section 8.1.
 */

export interface DerElement {
  tag: number
  /** Offset of the contents, after tag and length. */
  contentStart: number
  /** Offset just after the element. */
  end: number
}

/** Reads the element starting at `offset`; null if the bytes are not a definite-length element. */
export function readElement(der: Uint8Array, offset: number): DerElement | null {
  const tag = der[offset]
  const first = der[offset + 1]
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) return null
  let length = first
  let contentStart = offset + 2
  if (first & 0x80) {
    const count = first & 0x7f
    // 0x80 is BER's indefinite length, which DER forbids; four bytes is more than we accept.
    if (count === 0 || count > 4) return null
    length = 0
    for (let i = 0; i < count; i++) {
      const byte = der[contentStart + i]
      if (byte === undefined) return null
      length = length * 256 + byte
    }
    contentStart += count
  }
  const end = contentStart + length
  return end <= der.length ? { tag, contentStart, end } : null
}

const SEQUENCE = 0x30

/**
 * For a SIGNED{...} structure (certificate, CSR): the DER of its first field, or null when
 * `der` is not one SEQUENCE that starts with a SEQUENCE and fills the whole buffer.
 */
export function signedPart(der: Uint8Array): Uint8Array | null {
  const outer = readElement(der, 0)
  if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) return null
  const inner = readElement(der, outer.contentStart)
  if (!inner || inner.tag !== SEQUENCE || inner.end > outer.end) return null
  return der.subarray(outer.contentStart, inner.end)
}

/** True when `der` is exactly one SEQUENCE, with nothing after it. */
export function isSingleSequence(der: Uint8Array): boolean {
  const outer = readElement(der, 0)
  return outer !== null && outer.tag === SEQUENCE && outer.end === der.length
}
