import { MemoryStore } from '../../src/persistence/index.js'
import { storeSuite } from './store-suite.js'

// A MemoryStore reopened after close() is a restart in the same process.
storeSuite('MemoryStore', async () => {
  const store = new MemoryStore()
  return { create: () => store, cleanup: async () => {} }
})
