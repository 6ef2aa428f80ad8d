import assert from 'node:assert/strict'
import { request } from 'node:http'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createBroker, MemoryStore } from '@strata/broker'
import { pino } from 'pino'
import { createApiServer, startApiListener } from '../../src/api/server.js'
import type { Listener } from '../../src/transports/listener.js'
import { createFixture, type Fixture } from './fixture.js'

// /health and /ready at the edge of a real listener: whatever arrives, a clear 4xx (never a
// 500, never a reset without an answer) and the listener keeps serving. The same cases as
// the health-only listener's (test/health-edge.test.ts) that this API replaces.

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function send(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => {
        body += d.toString()
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Writes raw bytes and resolves with whatever comes back before the server closes. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1')
    })
    // A reset after the answer (the server stops reading a huge request) still counts as answered.
    socket.on('error', (err) => (reply ? resolve(reply) : reject(err)))
    socket.on('close', () => resolve(reply))
    socket.end(bytes)
  })
}

describe('API listener: /health and /ready at the edge', () => {
  let f: Fixture
  let listener: Listener
  let port: number
  let ready = false
  let closeBroker: () => Promise<void>

  before(async () => {
    const logger = pino({ level: 'silent' })
    const broker = await createBroker({ store: new MemoryStore(), logger, sysInterval: 0 })
    closeBroker = () => broker.close()
    f = await createFixture({ users: false })
    const app = await createApiServer({
      registry: f.registry,
      identity: f.identity,
      access: f.access,
      audit: f.audit,
      metrics: f.metrics,
      health: { ready: () => ready, version: 'test', broker: () => broker.stats() },
      logger,
    })
    listener = await startApiListener(app, 0, '127.0.0.1', logger)
    port = listener.port
  })

  after(async () => {
    await listener.close()
    await f.close()
    await closeBroker()
  })

  test('/ready is 503 until ready, then 200; /health is 200 throughout; both carry broker stats', async () => {
    const notReady = await send(port, 'GET', '/ready')
    assert.equal(notReady.status, 503)
    assert.equal((JSON.parse(notReady.body) as { status: string }).status, 'unavailable')
    const health = await send(port, 'GET', '/health')
    assert.equal(health.status, 200)
    const body = JSON.parse(health.body) as {
      ready: boolean
      version: string
      broker: { clientsConnected: number }
    }
    assert.equal(body.ready, false)
    assert.equal(body.version, 'test')
    assert.equal(body.broker.clientsConnected, 0)
    ready = true
    assert.equal((await send(port, 'GET', '/ready')).status, 200)
  })

  test('HEAD answers like GET, without a body', async () => {
    const reply = await send(port, 'HEAD', '/health')
    assert.equal(reply.status, 200)
    assert.equal(reply.body, '')
    assert.match(String(reply.headers['content-type']), /application\/json/)
  })

  test('POST, PUT and DELETE are 405 with an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const reply = await send(port, method, '/health')
      assert.equal(reply.status, 405, method)
      assert.equal(reply.headers.allow, 'GET, HEAD')
      assert.equal((JSON.parse(reply.body) as { code: string }).code, 'STRATA_API_METHOD_NOT_ALLOWED')
    }
  })

  test('a query string is ignored', async () => {
    const reply = await send(port, 'GET', '/ready?verbose=1&x=%ZZ')
    assert.equal(reply.status, 200)
    assert.equal((JSON.parse(reply.body) as { ready: boolean }).ready, true)
  })

  test('an unknown path is 404 and echoes at most a short prefix of it', async () => {
    const reply = await send(port, 'GET', `/${'a'.repeat(8000)}`)
    assert.equal(reply.status, 404)
    assert.equal((JSON.parse(reply.body) as { code: string }).code, 'STRATA_API_NO_ROUTE')
    assert.ok(reply.body.length < 400, `body of ${reply.body.length} bytes`)
  })

  test('a malformed %-escape in the path is 400 in the API error shape', async () => {
    const reply = await send(port, 'GET', '/api/devices/%ZZ')
    assert.equal(reply.status, 400)
    assert.equal((JSON.parse(reply.body) as { code: string }).code, 'STRATA_API_INVALID_REQUEST')
  })

  test('a URL larger than the header limit is 431, not a reset', async () => {
    const reply = await raw(port, `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
    assert.match(reply, /^HTTP\/1\.1 431 /)
  })

  test('a malformed request line is 400', async () => {
    assert.match(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 /)
  })

  test('still serves after all of that', async () => {
    assert.equal((await send(port, 'GET', '/health')).status, 200)
  })

  test('a port in use is one clear error naming the port and the flag', async () => {
    const app = await createApiServer({
      registry: f.registry,
      identity: f.identity,
      access: f.access,
      audit: f.audit,
      metrics: f.metrics,
      health: { ready: () => true, version: 'test' },
      logger: pino({ level: 'silent' }),
    })
    try {
      await assert.rejects(
        startApiListener(app, port, '127.0.0.1', pino({ level: 'silent' })),
        (err: Error) => {
          assert.equal((err as { code?: string }).code, 'STRATA_PORT_IN_USE')
          assert.match(err.message, new RegExp(`port ${port}.*--http-port`))
          return true
        },
      )
    } finally {
      await app.close()
    }
  })
})
