/**
 * PEM armour (RFC 7468), read strictly: exactly one block, of the expected type, with valid
 * base64. Our own small reader rather than @peculiar/x509's, which also accepts bare hex or
 * base64 and decodes a stray "AAAA" between markers to three zero bytes: a caller pasting
 * the wrong file should hear which file it was.
 */
import { invalid } from './errors.js'

/** Larger than any certificate or CSR a device sends; bounds the work a request can cause. */
export const MAX_PEM_CHARS = 64 * 1024

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END ([A-Z0-9 ]{1,40})-----/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Decodes the single PEM block of `text`. `types` are the labels accepted (e.g.
 * 'CERTIFICATE REQUEST' and the older 'NEW CERTIFICATE REQUEST'); `what` names the thing
 * in messages. Throws X509Error INVALID.
 */
export function decodeSinglePem(text: unknown, types: readonly string[], what: string): Buffer {
  if (typeof text !== 'string') throw invalid(`${what}: expected PEM text, got ${typeof text}`)
  if (text.length > MAX_PEM_CHARS) {
    throw invalid(`${what}: PEM text is ${text.length} characters, more than the ${MAX_PEM_CHARS} accepted`)
  }
  const expected = `-----BEGIN ${types[0]}-----`
  // Counting the markers first keeps the block pattern from rescanning the text per marker.
  const begins = text.split('-----BEGIN ').length - 1
  if (begins === 0) {
    throw invalid(`${what}: no PEM block found (expected text starting with '${expected}')`)
  }
  if (begins > 1) throw invalid(`${what}: expected exactly one PEM block, found ${begins}`)
  const block = BLOCK.exec(text)
  if (!block) throw invalid(`${what}: the PEM block has no matching '-----END ...-----' line`)
  const [, label = '', body = '', endLabel] = block
  if (label !== endLabel) throw invalid(`${what}: PEM block BEGIN ${label} ends with END ${endLabel}`)
  if (!types.includes(label)) throw invalid(`${what}: expected a '${expected}' block, found '${label}'`)
  if (body.includes(':')) throw invalid(`${what}: PEM headers (encrypted or legacy PEM) are not supported`)
  const base64 = body.replace(/\s+/g, '')
  if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
    throw invalid(`${what}: the PEM block's body is not valid base64`)
  }
  return Buffer.from(base64, 'base64')
}

/** Canonical PEM: 64-column base64 lines, LF endings, a final newline. */
export function encodePem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
