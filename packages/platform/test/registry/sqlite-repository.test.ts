import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { openSqliteRegistry } from '../../src/registry/sqlite-repository.js'
import { repositorySuite } from './repository-suite.js'

repositorySuite('sqlite :memory:', async () => openSqliteRegistry({ path: ':memory:' }))

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
repositorySuite('sqlite file (WAL)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-registry-'))
  dirs.push(dir)
  return openSqliteRegistry({ path: join(dir, 'registry.db') })
})
