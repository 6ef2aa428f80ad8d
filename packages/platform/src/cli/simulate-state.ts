/**
 * The device tokens `strata simulate` issued, kept between runs so that a second run reuses
 * them instead of piling up new credentials: one JSON file (mode 0600: it holds secrets) in
 * the CLI's config directory, keyed by API URL and then device id, so that simulators
 * against two platforms do not mix their tokens.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { ConfigError } from '../errors.js'

export interface SavedToken {
  token: string
  credentialId: string
  issuedAt: string
}

interface StateFile {
  version: 1
  /** API URL → device id → token. */
  platforms: Record<string, Record<string, SavedToken>>
}

/** $STRATA_CONFIG_DIR, else $XDG_CONFIG_HOME/strata, else ~/.config/strata. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_CONFIG_DIR) return env.STRATA_CONFIG_DIR
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'strata')
}

export const defaultStatePath = (env: NodeJS.ProcessEnv = process.env): string =>
  join(configDir(env), 'simulator-tokens.json')

const isToken = (v: unknown): v is SavedToken =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SavedToken).token === 'string' &&
  typeof (v as SavedToken).credentialId === 'string'

export class TokenStore {
  readonly #path: string
  readonly #state: StateFile

  private constructor(path: string, state: StateFile) {
    this.#path = path
    this.#state = state
  }

  get path(): string {
    return this.#path
  }

  /** Reads the file; a missing one is an empty store, an unreadable or corrupt one a usage error naming it. */
  static async open(path: string): Promise<TokenStore> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
        return new TokenStore(path, { version: 1, platforms: {} })
      throw new ConfigError(`cannot read the simulator's token file ${path}: ${(cause as Error).message}`, {
        cause,
      })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw new ConfigError(`the simulator's token file ${path} is not JSON: remove it to start afresh`, {
        cause,
      })
    }
    const platforms = (parsed as Partial<StateFile> | null)?.platforms
    if (typeof platforms !== 'object' || platforms === null)
      throw new ConfigError(`the simulator's token file ${path} is not one: remove it to start afresh`)
    return new TokenStore(path, { version: 1, platforms })
  }

  get(apiUrl: string, deviceId: string): SavedToken | undefined {
    const saved = this.#state.platforms[apiUrl]?.[deviceId]
    return isToken(saved) ? saved : undefined
  }

  set(apiUrl: string, deviceId: string, token: SavedToken): void {
    this.#state.platforms[apiUrl] ??= {}
    ;(this.#state.platforms[apiUrl] as Record<string, SavedToken>)[deviceId] = token
  }

  delete(apiUrl: string, deviceId: string): void {
    delete this.#state.platforms[apiUrl]?.[deviceId]
  }

  /** Writes the whole file, 0600, through a temporary file: a crash never leaves half of it. */
  async save(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 })
    const temp = `${this.#path}.${process.pid}.tmp`
    await writeFile(temp, `${JSON.stringify(this.#state, null, 2)}\n`, { mode: 0o600 })
    await chmod(temp, 0o600) // the mode given to writeFile is masked by the umask
    await rename(temp, this.#path)
  }
}
