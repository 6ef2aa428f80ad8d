/**
 * The secrets devices present. Each carries a recognisable prefix (so a leaked one is easy to
 * grep for, as with GitHub's tokens) and, for device tokens, the credential id: the broker
 * finds the one hash to check without trying every credential of the device.
 *
 *   device token  sdt_<16 hex: credential id>_<43 base64url chars: 256 random bits>
 *   claim token   scl_<43 base64url chars>
 */
import { randomBytes } from 'node:crypto'

const SECRET = /^[A-Za-z0-9_-]{43}$/
const HEX16 = /^[0-9a-f]{16}$/

export function newId(prefix: 'tok' | 'crt' | 'grt'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`
}

function secret(): string {
  return randomBytes(32).toString('base64url')
}

export function newDeviceToken(credentialId: string): string {
  return `sdt_${credentialId.slice(4)}_${secret()}`
}

/** The credential id inside a device token, or undefined if it is not shaped like one. */
export function parseDeviceToken(token: string): { credentialId: string } | undefined {
  if (token.length !== 4 + 16 + 1 + 43 || !token.startsWith('sdt_') || token[20] !== '_') return undefined
  const hex = token.slice(4, 20)
  if (!HEX16.test(hex) || !SECRET.test(token.slice(21))) return undefined
  return { credentialId: `tok_${hex}` }
}

export function newClaimToken(): string {
  return `scl_${secret()}`
}

export function isClaimToken(token: string): boolean {
  return token.length === 47 && token.startsWith('scl_') && SECRET.test(token.slice(4))
}
