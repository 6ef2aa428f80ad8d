#!/usr/bin/env node
// The strata command. The TypeScript is compiled by `npm ci` (root "prepare")
// or `npm run build`; say so plainly if that has not happened.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('strata: not built yet: run "npm run build" at the repository root (npm ci does it too)')
  process.exit(1)
}
const { main } = await import(entry.href)
await main(process.argv)
