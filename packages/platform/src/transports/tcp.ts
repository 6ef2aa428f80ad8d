import { createServer } from 'node:net'
import type { Broker, Logger } from '@strata/broker'
import { closeServer, type Listener, listen, urlHost } from './listener.js'

/** MQTT over plain TCP: a thin adapter, the broker owns the socket after accept. */
export async function startTcpListener(
  broker: Broker,
  port: number,
  host: string,
  logger: Logger,
): Promise<Listener> {
  // Nagle's algorithm holds small MQTT packets behind delayed ACKs (20-40 ms): turn it off.
  const server = createServer({ noDelay: true, keepAlive: true }, (socket) => {
    if (socket.remoteAddress === undefined) return socket.destroy()
    broker.handle(socket, {
      transport: 'tcp',
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    })
  })
  // A failure to listen is listen()'s to report (one line, then exit); log only later errors.
  server.on('error', (err) => {
    if (server.listening) logger.error({ err: err.message }, 'MQTT listener error')
  })
  const bound = await listen(server, port, host, 'MQTT', '--mqtt-port')
  return {
    name: 'MQTT',
    url: `mqtt://${urlHost(host)}:${bound}`,
    port: bound,
    close: () => closeServer(server),
  }
}
