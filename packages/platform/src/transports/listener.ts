import type { AddressInfo, Server } from 'node:net'
import { StrataError } from '../errors.js'

/** A running listener: what `strata up` prints, and how to stop it. */
export interface Listener {
  /** Human name: MQTT, MQTT over TLS, WebSocket... */
  name: string
  /** e.g. mqtt://0.0.0.0:1883 */
  url: string
  port: number
  /** Stops accepting; resolves once the server is closed. */
  close(): Promise<void>
  /** TLS listeners: trust this CA list for client certificates from the next handshake on. */
  setTrustedCas?(cas: readonly string[]): void
}

/** `host` is a name that does not resolve, or an IP address no interface of this machine has. */
const HOST_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EADDRNOTAVAIL'])

/**
 * Listens and turns the common failures into one clear line that names
 * the port (or host) and the flag to change it, instead of a stack trace.
 */
export function listen(
  server: Server,
  port: number,
  host: string,
  name: string,
  flag: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      if (err.code === 'EADDRINUSE') {
        reject(
          new StrataError(
            'STRATA_PORT_IN_USE',
            `port ${port} (${name}) is already in use on ${host}: choose another with ${flag} N (0 picks a free port)`,
            { cause: err },
          ),
        )
      } else if (err.code === 'EACCES') {
        reject(
          new StrataError(
            'STRATA_PORT_DENIED',
            `not allowed to listen on port ${port} (${name}): choose a port above 1023 with ${flag} N`,
            { cause: err },
          ),
        )
      } else if (HOST_ERRORS.has(err.code ?? '')) {
        reject(
          new StrataError(
            'STRATA_HOST_UNAVAILABLE',
            `cannot listen on host ${host} (${name}): it is not an address of this machine (${err.code}); ` +
              'set --host to one of its IP addresses, 0.0.0.0 for all of them or 127.0.0.1 for this machine only',
            { cause: err },
          ),
        )
      } else reject(err)
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
