import { createServer, type ServerResponse } from 'node:http'
import type { Broker, Logger } from '@strata/broker'
import { closeServer, type Listener, listen, urlHost } from '../transports/listener.js'

export interface HealthSource {
  broker: Broker
  /** Set once every listener is up; /ready answers 503 before, and while shutting down. */
  ready(): boolean
  version: string
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/**
 * The HTTP listener. Today it serves health only: GET /health (liveness: the
 * process answers) and GET /ready (readiness: listeners up, not shutting
 * down), each with the broker's counters. The REST API joins it in issue 3.
 */
export async function startHttpListener(
  source: HealthSource,
  port: number,
  host: string,
  logger: Logger,
): Promise<Listener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, {
        error: 'STRATA_METHOD_NOT_ALLOWED',
        message: `${req.method} is not allowed here`,
      })
    }
    if (path === '/health' || path === '/ready') {
      const ready = source.ready()
      const status = path === '/health' || ready ? 200 : 503
      return json(res, status, {
        status: status === 200 ? 'ok' : 'unavailable',
        ready,
        version: source.version,
        broker: source.broker.stats(),
      })
    }
    json(res, 404, { error: 'STRATA_NOT_FOUND', message: `no route ${path}: try /health or /ready` })
  })
  server.on('clientError', (err, socket) => {
    logger.debug({ err: err.message }, 'bad HTTP request')
    socket.destroy()
  })
  const bound = await listen(server, port, host, 'HTTP', '--http-port')
  return {
    name: 'HTTP (health)',
    url: `http://${urlHost(host)}:${bound}/health`,
    port: bound,
    close: () => {
      server.closeAllConnections()
      return closeServer(server)
    },
  }
}
