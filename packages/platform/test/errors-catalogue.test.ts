import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { STORE_ERROR_CODES } from '@strata/broker'
import { TELEMETRY_ERROR_CODES } from '@strata/protocol'
import { DEVICE_ERROR_CODES } from '../../device/src/errors.js'
// tsdb's codes are read from source: its package exports only part of them.
import { ARCHIVE_ERROR_CODES } from '../../tsdb/src/archive/errors.js'
import { TSDB_ERROR_CODES } from '../../tsdb/src/codec/errors.js'
import { ENGINE_ERROR_CODES } from '../../tsdb/src/engine/errors.js'
import { WAL_ERROR_CODES } from '../../tsdb/src/wal/errors.js'
import { ACCESS_ERROR_CODES } from '../src/access/errors.js'
import { API_ERROR_CODES } from '../src/api/errors.js'
import { PLATFORM_ERROR_CODES } from '../src/errors.js'
import { DEVICE_REQUEST_ERROR_CODES } from '../src/identity/mqtt-requests.js'
import { X509_ERROR_CODES } from '../src/identity/x509/index.js'
import { INGEST_ERROR_CODES } from '../src/ingest/flags.js'
import { QUERY_ERROR_CODES } from '../src/query/errors.js'
import { REGISTRY_ERROR_CODES } from '../src/registry/errors.js'

// Like Fastify's FST_ERR catalogue test: the codes in code and in docs agree.
test('every error code is documented in docs/errors.md, and only those', async () => {
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| `(STRATA_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1])
  assert.deepEqual(
    [...documented].sort(),
    [
      ...PLATFORM_ERROR_CODES,
      ...STORE_ERROR_CODES,
      ...REGISTRY_ERROR_CODES,
      ...ACCESS_ERROR_CODES,
      ...X509_ERROR_CODES,
      ...DEVICE_REQUEST_ERROR_CODES,
      ...API_ERROR_CODES,
      ...TELEMETRY_ERROR_CODES,
      ...INGEST_ERROR_CODES,
      ...QUERY_ERROR_CODES,
      ...WAL_ERROR_CODES,
      ...TSDB_ERROR_CODES,
      ...ENGINE_ERROR_CODES,
      ...ARCHIVE_ERROR_CODES,
      ...DEVICE_ERROR_CODES,
    ].sort(),
  )
})
