/**
 * X.500 names as far as device identity needs them: the common name, which carries the
 * device id in certificates the platform issues.
 */
import { invalid } from './errors.js'
import type { x509 } from './peculiar.js'

/** RFC 5280 appendix A, ub-common-name. */
export const MAX_COMMON_NAME = 64

/**
 * The name's common name, or null. With several CNs the last, most specific one counts
 * (as in Go's crypto/x509): identity is matched by fingerprint anyway, never by this.
 */
export function commonNameOf(name: x509.Name): string | null {
  const values = name.getField('CN')
  return values.at(-1) ?? null
}

/** Throws X509Error INVALID unless `commonName` fits in a certificate's CN. */
export function assertCommonName(commonName: unknown): asserts commonName is string {
  if (typeof commonName !== 'string' || commonName.length === 0) {
    throw invalid('commonName: expected a non-empty string')
  }
  if (commonName.length > MAX_COMMON_NAME) {
    throw invalid(
      `commonName: ${commonName.length} characters, more than the ${MAX_COMMON_NAME} X.509 allows`,
    )
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(commonName)) {
    throw invalid('commonName: control characters are not allowed')
  }
}

/**
 * A subject holding only this CN, in @peculiar/x509's JSON form: building it from a
 * 'CN=...' string would let a device id with a comma or '+' inject other attributes.
 */
export function subjectOf(commonName: string): x509.JsonName {
  return [{ CN: [commonName] }]
}
