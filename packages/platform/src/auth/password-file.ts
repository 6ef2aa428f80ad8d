import { createHash, randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { StrataError } from '../errors.js'
import { hashPassword, isPasswordHash, verifyPassword } from './password-hash.js'

/**
 * The MQTT users file, one `username:hash` per line (`#` starts a comment),
 * like mosquitto_passwd's. It is the credential source until the device
 * registry replaces it (issue 3). Written by `strata passwd`.
 */
export class PasswordFile {
  private constructor(
    readonly path: string,
    private readonly users: Map<string, string>,
  ) {}

  /** Loads the file; a missing file is an empty user list. */
  static async load(path: string): Promise<PasswordFile> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new PasswordFile(path, new Map())
      throw new StrataError(
        'STRATA_PASSWORD_FILE_INVALID',
        `cannot read ${path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      )
    }
    return new PasswordFile(path, parsePasswordFile(text, path))
  }

  get size(): number {
    return this.users.size
  }

  usernames(): string[] {
    return [...this.users.keys()].sort()
  }

  has(username: string): boolean {
    return this.users.has(username)
  }

  async verify(username: string, password: Buffer): Promise<boolean> {
    const hash = this.users.get(username)
    if (hash === undefined) return false
    return verifyPassword(password, hash)
  }

  async set(username: string, password: string): Promise<void> {
    validateUsername(username)
    if (password.length === 0)
      throw new StrataError('STRATA_PASSWORD_FILE_INVALID', 'the password must not be empty')
    this.users.set(username, await hashPassword(password))
  }

  delete(username: string): boolean {
    return this.users.delete(username)
  }

  /** Writes the file atomically (temp file + rename), readable by its owner only. */
  async save(): Promise<void> {
    const lines = ['# Strata MQTT users: username:scrypt hash. Edit with `strata passwd`.']
    for (const [user, hash] of this.users) lines.push(`${user}:${hash}`)
    const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`
    await writeFile(tmp, `${lines.join('\n')}\n`, { mode: 0o600 })
    await rename(tmp, this.path)
  }
}

export function validateUsername(username: string): void {
  if (username.length === 0 || username.length > 256 || /[:\s]/.test(username) || username.includes('\0')) {
    throw new StrataError(
      'STRATA_PASSWORD_FILE_INVALID',
      `invalid username ${JSON.stringify(username)}: 1 to 256 characters, no ':' and no whitespace`,
    )
  }
}

export function parsePasswordFile(text: string, path: string): Map<string, string> {
  const users = new Map<string, string>()
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const colon = line.indexOf(':')
    const user = line.slice(0, colon)
    const hash = line.slice(colon + 1)
    if (colon <= 0 || !isPasswordHash(hash)) {
      throw new StrataError(
        'STRATA_PASSWORD_FILE_INVALID',
        `${path}:${index + 1}: expected "username:$scrypt$..." (use \`strata passwd\` to add users)`,
      )
    }
    users.set(user, hash)
  })
  return users
}

/**
 * Remembers recently verified credentials so a fleet reconnecting after an
 * outage does not cost one scrypt (tens of ms of CPU) per connection. Keys
 * are keyed hashes with a per-process secret: the cache holds no password.
 */
export class VerifiedCredentialCache {
  private readonly secret = randomBytes(32)
  private readonly entries = new Map<string, number>()

  constructor(
    private readonly maxEntries = 100_000,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  private key(username: string, password: Buffer): string {
    return createHash('sha256')
      .update(this.secret)
      .update(username)
      .update('\0')
      .update(password)
      .digest('base64')
  }

  has(username: string, password: Buffer): boolean {
    const key = this.key(username, password)
    const expires = this.entries.get(key)
    if (expires === undefined) return false
    if (expires < Date.now()) {
      this.entries.delete(key)
      return false
    }
    return true
  }

  add(username: string, password: Buffer): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(this.key(username, password), Date.now() + this.ttlMs)
  }

  clear(): void {
    this.entries.clear()
  }
}
