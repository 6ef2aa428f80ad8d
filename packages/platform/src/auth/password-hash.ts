import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes in the form `$scrypt$N=16384,r=8,p=1$<salt>$<hash>` (base64).
 * scrypt (RFC 7914) is memory-hard, so a stolen password file resists GPU
 * guessing; the parameters travel with each hash so they can be raised later
 * without invalidating old entries.
 */
const DEFAULT = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 }

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

export async function hashPassword(password: string | Buffer): Promise<string> {
  const salt = randomBytes(DEFAULT.saltLength)
  const key = await scryptAsync(
    Buffer.from(password),
    salt,
    DEFAULT.keyLength,
    DEFAULT.N,
    DEFAULT.r,
    DEFAULT.p,
  )
  return `$scrypt$N=${DEFAULT.N},r=${DEFAULT.r},p=${DEFAULT.p}$${salt.toString('base64')}$${key.toString('base64')}`
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
