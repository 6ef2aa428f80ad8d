#!/usr/bin/env node
// Runs every test file under packages/*/test and bench/test with node's test runner and tsx.
// Node 20's --test does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [path-substring ...]
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const roots = [...readdirSync('packages').map((p) => join('packages', p, 'test')), join('bench', 'test')]
const files = []
const walk = (dir) => {
  let entries
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  for (const name of entries) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (name.endsWith('.test.ts')) files.push(path)
  }
}
roots.forEach(walk)
const filters = process.argv.slice(2)
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files
if (selected.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
)
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
