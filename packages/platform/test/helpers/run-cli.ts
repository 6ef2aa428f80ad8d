import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { STRATA_BIN } from './strata-process.js'

export interface CliResult {
  code: number | string
  stdout: string
  stderr: string
}

/**
 * Runs the `strata` command with `input` on stdin (not a TTY, as in CI) and
 * resolves when it exits. Bounded: a command that does not exit within
 * `timeoutMs` is killed, so a hang fails the test instead of stalling it.
 */
export function runStrata(args: string[], input = '', timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STRATA_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.stdin.end(input)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? signal ?? -1, stdout, stderr })
    })
  })
}

/** The CLI's error shape (docs/errors.md): exactly one line `strata: ...` on stderr, no stack trace. */
export function assertOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`)
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`)
  assert.match(lines[0] ?? '', /^strata: /)
  assert.match(lines[0] ?? '', pattern)
  assert.doesNotMatch(result.stderr, /\n\s+at |unexpected error/, 'no stack trace')
}
