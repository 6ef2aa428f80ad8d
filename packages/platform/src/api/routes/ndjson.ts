/**
 * Streamed answers as NDJSON (application/x-ndjson: one JSON object a line), written as the
 * engine's batches come. Back-pressure: the lines are pulled through a Readable with a small
 * buffer, so nothing is read from the engine until the socket has taken what came before. A client
 * that goes away aborts the request's signal (stopping a read in progress) and Fastify destroys
 * the stream, which returns the engine's iterator. An error after the first line cannot change the
 * status any more: it is written as a last line `{"error": {code, message}}`, and a stream without
 * its `{"done": true, ...}` line is incomplete.
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { jsonNumbers } from '../../query/json.js'
import type { GroupBatch, SeriesBatch } from '../../query/telemetry-queries.js'
import { mapError } from '../errors.js'

/** Bytes buffered ahead of the socket before the engine is read again. */
const HIGH_WATER_MARK = 64 * 1024

export const NDJSON = 'application/x-ndjson; charset=utf-8'

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished)
      controller.abort(new DOMException('the client closed the connection', 'AbortError'))
  })
  return controller.signal
}

/** One data line: `{"device"|"group", "metric", "ts": [...], "values": [...]}`. */
export function batchLine(b: SeriesBatch | GroupBatch): string {
  const who =
    b.kind === 'series' ? `"device":${JSON.stringify(b.device)}` : `"group":${JSON.stringify(b.group)}`
  return `{${who},"metric":${JSON.stringify(b.metric)},"ts":${jsonNumbers(b.timestamps)},"values":${jsonNumbers(b.values)}}\n`
}

/**
 * Sends `header`, a line per batch, then `trailer()` (read after the batches: it may report what
 * the iteration found, like the next page).
 */
export function sendNdjson(
  request: FastifyRequest,
  reply: FastifyReply,
  signal: AbortSignal,
  header: object,
  batches: AsyncIterable<SeriesBatch | GroupBatch>,
  trailer: () => object,
): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    yield `${JSON.stringify(header)}\n`
    try {
      for await (const b of batches) yield batchLine(b)
    } catch (err) {
      if (signal.aborted) return
      const mapped = mapError(err)
      if (mapped.serverFault) request.log.error({ err }, 'telemetry stream failed')
      yield `${JSON.stringify({ error: { code: mapped.body.code, message: mapped.body.message } })}\n`
      return
    }
    yield `${JSON.stringify({ done: true, ...trailer() })}\n`
  }
  const stream = Readable.from(lines(), { objectMode: false, highWaterMark: HIGH_WATER_MARK })
  return reply.header('content-type', NDJSON).header('cache-control', 'no-store').send(stream)
}
