/** Shared by the x509*.test.ts files: temporary CA directories and the openssl peer. */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const made: string[] = []

after(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A fresh temporary directory, removed when the test file ends. */
export async function tempDir(prefix = 'strata-x509-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Runs openssl in `cwd`; resolves with stdout, rejects (with stderr) on a non-zero exit. */
export async function openssl(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('openssl', args, { cwd })
  return stdout
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)))
}

/** Flips the bits of the DER byte at `index` (negative: from the end) and re-armours it. */
export function flipDerByte(pem: string, index: number): string {
  const [, label = '', body = ''] = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END/.exec(pem) ?? []
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64')
  const at = index < 0 ? der.length + index : index
  der[at] = (der[at] ?? 0) ^ 0xff
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
