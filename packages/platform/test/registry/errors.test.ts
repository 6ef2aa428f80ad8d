import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { REGISTRY_ERROR_CODES } from '../../src/registry/errors.js'

// Like the platform's catalogue test: the registry's codes and docs/registry.md agree.
test('every registry error code is documented in docs/registry.md, and only those', async () => {
  const doc = await readFile(new URL('../../../../docs/registry.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| `(STRATA_REGISTRY_[A-Z_]+)`\s*\|/gm)].map((m) => m[1])
  assert.deepEqual([...documented].sort(), [...REGISTRY_ERROR_CODES].sort())
})
