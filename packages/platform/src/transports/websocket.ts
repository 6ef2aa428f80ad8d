import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { TLSSocket, TlsOptions } from 'node:tls'
import type { Broker, ConnectionInfo, Logger } from '@strata/broker'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { closeServer, type Listener, listen, urlHost } from './listener.js'
import { tlsConnectionInfo } from './tls.js'

/**
 * MQTT over WebSocket (MQTT 5.0 section 6, 3.1.1 section 6): binary frames
 * carry the MQTT byte stream; the subprotocol is "mqtt" ("mqttv3.1" from old
 * clients). Any path is accepted, like Mosquitto (clients default to /mqtt).
 */
export async function startWebSocketListener(
  broker: Broker,
  port: number,
  host: string,
  logger: Logger,
  tls?: TlsOptions,
): Promise<Listener> {
  const secure = tls !== undefined
  const server = secure ? createHttpsServer(tls) : createHttpServer()
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
    res.end('MQTT over WebSocket: upgrade required (subprotocol "mqtt")\n')
  })
  const wss = new WebSocketServer({
    server,
    // [MQTT-6.0.0-3]: the server selects "mqtt" when the client offers it.
    handleProtocols: (protocols) => {
      for (const p of ['mqtt', 'mqttv3.1']) if (protocols.has(p)) return p
      return false
    },
    perMessageDeflate: false,
  })
  wss.on('connection', (ws, req: IncomingMessage) => {
    req.socket.setNoDelay(true)
    let info: ConnectionInfo | undefined = {
      transport: 'ws',
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      remotePort: req.socket.remotePort,
    }
    if (secure) info = tlsConnectionInfo(req.socket as TLSSocket, 'wss')
    if (!info) {
      logger.warn({ remoteAddress: req.socket.remoteAddress }, 'client certificate refused')
      return ws.terminate()
    }
    const stream = createWebSocketStream(ws)
    // A WebSocket error surfaces on the stream too; the broker handles that.
    ws.on('error', (err) => logger.debug({ err: err.message }, 'WebSocket error'))
    broker.handle(stream, info)
  })
  // ws re-emits the HTTP server's errors here, a failure to listen too: that one is listen()'s to report.
  wss.on('error', (err) => {
    if (server.listening) logger.error({ err: err.message }, 'WebSocket server error')
  })
  const name = secure ? 'MQTT over secure WebSocket' : 'MQTT over WebSocket'
  const bound = await listen(server, port, host, name, secure ? '--wss-port' : '--ws-port')
  return {
    name,
    url: `${secure ? 'wss' : 'ws'}://${urlHost(host)}:${bound}/mqtt`,
    port: bound,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      wss.close()
      await closeServer(server)
    },
    ...(tls !== undefined && 'setSecureContext' in server
      ? { setTrustedCas: (cas: readonly string[]) => server.setSecureContext({ ...tls, ca: [...cas] }) }
      : {}),
  }
}
