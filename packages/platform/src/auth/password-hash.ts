import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes in the form `$scrypt$N=16384,r=8,p=1$<salt>$<hash>` (base64).
 * scrypt (RFC 7914) is memory-hard, so a stolen password file resists GPU
 * guessing; the parameters travel with each hash so they can be raised later
 * without invalidating old entries.
 */
const DEFAULT = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 }
/**
 * For secrets Strata generates itself (device and claim tokens: 256 random bits). Their strength
 * is the entropy, not the hash's cost: nobody can guess 2^256 values however cheap each guess,
 * even holding the database. A cheap scrypt keeps a whole fleet reconnecting after a restart
 * (each device's first CONNECT verifies its token once) from taking an hour of CPU: about 2 ms
 * instead of 42 ms per check on this project's machine (docs/benchmarks.md).
 */
const GENERATED = { ...DEFAULT, N: 1024 }

function scryptAsync(
  password: Buffer,
  salt: Buffer,
  keyLength: number,
  N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

/** A hash for a secret a person chose (a password): memory-hard, about 40 ms. */
export function hashPassword(password: string | Buffer): Promise<string> {
  return hashWith(password, DEFAULT)
}

/** A hash for a secret Strata generated with 256 random bits (a device or claim token). */
export function hashGeneratedSecret(secret: string | Buffer): Promise<string> {
  return hashWith(secret, GENERATED)
}

async function hashWith(secret: string | Buffer, params: typeof DEFAULT): Promise<string> {
  const salt = randomBytes(params.saltLength)
  const key = await scryptAsync(Buffer.from(secret), salt, params.keyLength, params.N, params.r, params.p)
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

const HASH = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

export function isPasswordHash(text: string): boolean {
  return HASH.test(text)
}

/** Constant-time check of a password against a hash made by hashPassword. */
export async function verifyPassword(password: Buffer, hash: string): Promise<boolean> {
  const m = HASH.exec(hash)
  if (!m) return false
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const salt = Buffer.from(m[4] as string, 'base64')
  const expected = Buffer.from(m[5] as string, 'base64')
  // Refuse parameters that would let a crafted file exhaust memory or CPU.
  if (N > 2 ** 20 || r > 32 || p > 16 || expected.length < 16 || expected.length > 64) return false
  const key = await scryptAsync(password, salt, expected.length, N, r, p)
  return timingSafeEqual(key, expected)
}
