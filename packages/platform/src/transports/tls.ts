import { readFile } from 'node:fs/promises'
import { createServer, type TLSSocket, type TlsOptions } from 'node:tls'
import type { Broker, ConnectionInfo, Logger } from '@strata/broker'
import type { TlsConfig } from '../config/schema.js'
import { StrataError } from '../errors.js'
import { closeServer, type Listener, listen, urlHost } from './listener.js'

/** Reads the PEM files named in the config into Node's TLS options. */
export async function loadTlsOptions(tls: TlsConfig): Promise<TlsOptions> {
  if (!tls.cert || !tls.key) {
    throw new StrataError(
      'STRATA_TLS_FILES',
      'TLS needs both tls.cert and tls.key (--tls-cert FILE --tls-key FILE)',
    )
  }
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file)
    } catch (cause) {
      throw new StrataError(
        'STRATA_TLS_FILES',
        `cannot read the TLS ${what} ${file}: ${(cause as Error).message}`,
        {
          cause,
        },
      )
    }
  }
  const options: TlsOptions = { cert: await read(tls.cert, 'certificate'), key: await read(tls.key, 'key') }
  if (tls.ca) {
    options.ca = await read(tls.ca, 'CA bundle')
    options.requestCert = true
    options.rejectUnauthorized = tls.requireClientCert
  }
  return options
}

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
  server.on('tlsClientError', (err, socket) =>
    logger.debug({ err: err.message, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'),
  )
  const bound = await listen(server, port, host, 'MQTT over TLS', '--mqtts-port')
  return {
    name: 'MQTT over TLS',
    url: `mqtts://${urlHost(host)}:${bound}`,
    port: bound,
    close: () => closeServer(server),
  }
}
