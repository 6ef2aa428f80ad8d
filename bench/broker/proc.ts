// Process plumbing for the benchmark: child tracking and cleanup, CPU pinning, ports, /proc readers.
import { type ChildProcess, execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

/** Every child the benchmark starts goes here, so that no exit path leaves one running. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

export function trackDir(dir: string): string {
  tempDirs.add(dir)
  return dir
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

function cleanup(): void {
  for (const c of children) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}

/** Kills every tracked child and removes temp dirs on exit, SIGINT, SIGTERM and uncaught errors. */
export function installCleanup(): void {
  process.on('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping brokers and workers`)
      cleanup()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => {
    console.error(err)
    cleanup()
    process.exit(1)
  })
}

const TASKSET = '/usr/bin/taskset'
export const canPin = existsSync(TASKSET)

/** The command line that runs `cmd args` on one core (or unpinned if taskset is missing). */
export function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return canPin ? [TASKSET, ['-c', String(core), cmd, ...args]] : [cmd, args]
}

/** Pins every thread of a running process (used for the parent itself). */
export function pinProcess(pid: number, core: number): void {
  if (canPin) execFileSync(TASKSET, ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' })
}

/** A port that was free a moment ago (the broker binds it next; a clash fails readiness loudly). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Readiness = a TCP connect succeeds. Fails early if the process exits first. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`)
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`not listening on ${port} after ${timeoutMs} ms`)
}

/** Resident set size in KiB, from /proc/PID/status. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : Number.NaN
}

/** User + system CPU seconds of a process (all its threads), from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** Machine-wide CPU seconds in user, nice and system mode (all cores), and steal. From /proc/stat. */
export function machineCpu(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  return { busy: ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0)) / 100, steal: (f[7] ?? 0) / 100 }
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(t)
}

/**
 * On a shared machine other jobs come and go: wait (bounded) for a quiet second before a trial,
 * so that brokers are compared under the same conditions. Returns the last load seen (% of a core).
 */
export async function waitForQuiet(maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs
  let load = Number.NaN
  do {
    const m0 = machineCpu()
    const c0 = process.cpuUsage()
    await sleep(1000)
    const c1 = process.cpuUsage(c0)
    load = (machineCpu().busy - m0.busy - (c1.user + c1.system) / 1e6) * 100
    if (load < 25) return load
  } while (performance.now() < deadline)
  return load
}
