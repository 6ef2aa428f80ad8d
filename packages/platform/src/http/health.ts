import { createServer, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Broker, Logger } from '@strata/broker'
import { closeServer, type Listener, listen, urlHost } from '../transports/listener.js'

export interface HealthSource {
  broker: Broker
  /** Set once every listener is up; /ready answers 503 before, and while shutting down. */
  ready(): boolean
  version: string
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

/** Echo at most this much of a request path in an error: the URL may be up to Node's 16 KiB header limit. */
const MAX_ECHOED_PATH = 200

/**
 * Answers a request Node's parser refused (oversized headers or URL,
 * malformed syntax) with a 4xx before closing, as Node's docs suggest for
 * 'clientError', instead of a bare reset the client cannot interpret.
 */
function refuseMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy()
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'HPE_URI_TOO_LONG'
        ? '414 URI Too Long'
        : '400 Bad Request'
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  // Not destroy() at once: closing with unread input sends a TCP reset, which
  // can discard the answer before the client reads it. Bounded for a peer
  // that never closes its side.
  const timer = setTimeout(() => socket.destroy(), 2000)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
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
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(
        res,
        405,
        { error: 'STRATA_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed here: use GET or HEAD` },
        { allow: 'GET, HEAD' },
      )
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
    const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}...` : path
    json(res, 404, { error: 'STRATA_NOT_FOUND', message: `no route ${shown}: try /health or /ready` })
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    logger.debug({ err: err.message, code: err.code }, 'bad HTTP request')
    refuseMalformed(err, socket)
  })
  server.on('error', (err) => {
    if (server.listening) logger.error({ err: err.message }, 'HTTP listener error')
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
