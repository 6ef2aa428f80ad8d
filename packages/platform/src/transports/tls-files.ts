import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext, type TlsOptions } from 'node:tls'
import type { TlsConfig } from '../config/schema.js'
import { StrataError } from '../errors.js'

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function tlsError(message: string, cause?: unknown): StrataError {
  return new StrataError('STRATA_TLS_FILES', message, cause === undefined ? undefined : { cause })
}

/** OpenSSL messages end with the useful part: "error:0480006C:PEM routines::no start line" -> "no start line". */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '')
}

async function read(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (cause) {
    throw tlsError(`cannot read the TLS ${what} ${file}: ${(cause as Error).message}`, cause)
  }
}

/** The PEM certificates in a file (a chain or a CA bundle); each must parse. */
function certificates(pem: Buffer, file: string, what: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) {
    throw tlsError(
      `the TLS ${what} ${file} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)`,
    )
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block)
    } catch (cause) {
      throw tlsError(
        `the TLS ${what} ${file}: certificate ${index + 1} is unreadable: ${reason(cause)}`,
        cause,
      )
    }
  })
}

function privateKey(pem: Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch (cause) {
    // An encrypted key fails here too: Strata has no passphrase setting, so say so.
    throw tlsError(
      `the TLS key ${file} is not a usable PEM private key (${reason(cause)}); it must be unencrypted`,
      cause,
    )
  }
}

/**
 * Reads the PEM files named in the config into Node's TLS options, checking
 * them first so that a wrong file is one line naming it at start, not an
 * OpenSSL stack trace (or, for a CA bundle, every client refused later).
 */
export async function loadTlsOptions(tls: TlsConfig): Promise<TlsOptions> {
  if (!tls.cert || !tls.key) {
    throw tlsError('TLS needs both tls.cert and tls.key (--tls-cert FILE --tls-key FILE)')
  }
  const cert = await read(tls.cert, 'certificate')
  const key = await read(tls.key, 'key')
  const [leaf] = certificates(cert, tls.cert, 'certificate')
  if (leaf && !leaf.checkPrivateKey(privateKey(key, tls.key))) {
    throw tlsError(
      `the TLS key ${tls.key} does not match the certificate ${tls.cert} (its first certificate must be the server's own)`,
    )
  }
  // Client certificates are always asked for: devices present ones the platform CA issued.
  // The platform adds its own CA and the registered ones to `ca` (platform.ts).
  const options: TlsOptions = { cert, key, requestCert: true, rejectUnauthorized: tls.requireClientCert }
  if (tls.ca) {
    options.ca = await read(tls.ca, 'CA bundle')
    certificates(options.ca, tls.ca, 'CA bundle')
  }
  try {
    createSecureContext(options)
  } catch (cause) {
    const files = [tls.cert, tls.key, tls.ca].filter(Boolean).join(', ')
    throw tlsError(`the TLS files ${files} cannot be used together: ${reason(cause)}`, cause)
  }
  return options
}
