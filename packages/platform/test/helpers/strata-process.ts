import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export const STRATA_BIN = new URL('../../bin/strata.js', import.meta.url).pathname

export interface StrataProcess {
  child: ChildProcess
  dataDir: string
  /** Listener ports by name as logged ("MQTT", "MQTT over WebSocket", "HTTP (API)"...). */
  ports: Map<string, number>
  /** Every JSON log line seen so far. */
  logs: Array<Record<string, unknown>>
  stderr: () => string
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
}

export async function tempDir(prefix = 'strata-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/**
 * Runs `strata up` as a real process on port 0 everywhere, and resolves when
 * it logs "Strata is up" (or rejects with its stderr if it exits first).
 */
export async function startStrata(
  args: string[] = [],
  dataDir?: string,
  timeoutMs = 20_000,
): Promise<StrataProcess> {
  const dir = dataDir ?? (await tempDir())
  const child = spawn(
    process.execPath,
    [
      STRATA_BIN,
      'up',
      '--data-dir',
      dir,
      '--host',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--ws-port',
      '0',
      '--http-port',
      '0',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  const proc: StrataProcess = {
    child,
    dataDir: dir,
    ports: new Map(),
    logs: [],
    stderr: () => stderr,
    exited,
  }
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`strata did not start within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    )
    lines.on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      proc.logs.push(entry)
      if (typeof entry.listener === 'string' && typeof entry.port === 'number')
        proc.ports.set(entry.listener, entry.port)
      if (entry.msg === 'Strata is up') {
        clearTimeout(timer)
        resolve()
      }
    })
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`strata exited (${code}) before starting: ${stderr}`))
    })
  })
  return proc
}

/** Sends a signal and waits for the exit code. */
export async function stopStrata(
  proc: StrataProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | string> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal)
  return proc.exited
}
