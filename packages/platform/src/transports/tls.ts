import { createServer, type TLSSocket, type TlsOptions } from 'node:tls'
import type { Broker, ConnectionInfo, Logger } from '@strata/broker'
import { closeServer, type Listener, listen, urlHost } from './listener.js'

export { loadTlsOptions } from './tls-files.js'

/**
 * What the broker learns about a TLS client. A certificate is passed on only
 * when it verified against the configured CA; a client that presents one that
 * does not verify is refused rather than silently treated as anonymous.
 */
export function tlsConnectionInfo(socket: TLSSocket, transport: 'tls' | 'wss'): ConnectionInfo | undefined {
  const info: ConnectionInfo = {
    transport,
    remoteAddress: socket.remoteAddress ?? 'unknown',
    remotePort: socket.remotePort,
  }
  const peer = socket.getPeerCertificate()
  const presented = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0
  if (!presented) return info
  if (!socket.authorized) return undefined
  info.certificate = peer
  return info
}

/** MQTT over TLS (mqtts), with optional client-certificate authentication. */
export async function startTlsListener(
  broker: Broker,
  port: number,
  host: string,
  tls: TlsOptions,
  logger: Logger,
): Promise<Listener> {
  const server = createServer(tls, (socket) => {
    socket.setNoDelay(true)
    const info = tlsConnectionInfo(socket, 'tls')
    if (!info) {
      logger.warn(
        { remoteAddress: socket.remoteAddress, reason: socket.authorizationError },
        'client certificate refused',
      )
      return socket.destroy()
    }
    broker.handle(socket, info)
  })
  server.on('error', (err) => {
    if (server.listening) logger.error({ err: err.message }, 'MQTT over TLS listener error')
  })
  server.on('tlsClientError', (err, socket) =>
    logger.debug({ err: err.message, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'),
  )
  const bound = await listen(server, port, host, 'MQTT over TLS', '--mqtts-port')
  return {
    name: 'MQTT over TLS',
    url: `mqtts://${urlHost(host)}:${bound}`,
    port: bound,
    close: () => closeServer(server),
    setTrustedCas: (cas) => server.setSecureContext({ ...tls, ca: [...cas] }),
  }
}
