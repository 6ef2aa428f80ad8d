/**
 * HTTP ingest: `POST /api/devices/{id}/telemetry`, for devices that do not speak MQTT. The path
 * mirrors the MQTT topic `devices/{id}/telemetry` (as AWS IoT's `POST /topics/{topic}` does) and
 * the device authenticates with its own token in the Authorization header, never in the URL
 * (ThingsBoard's `/api/v1/{token}/telemetry` puts the secret where proxies log it).
 *
 * Same path as MQTT from there on (ingest/pipeline.ts): the format comes from Content-Type, the
 * payload is decoded whole or refused whole, and the 200 is sent only once the points are in the
 * engine's write-ahead log: a 200 means stored. The token is checked in onRequest, before the
 * body is read, with the same failure windows and dummy hash as MQTT CONNECT (one DeviceSecrets
 * for both). Requests are rate-limited per source address by the API's limiter (a device token
 * is not an API key, so it falls in the address's bucket).
 */
import { DEFAULT_TELEMETRY_LIMITS, formatOf, TelemetryFormatError } from '@strata/protocol'
import type { FastifyError, FastifyRequest } from 'fastify'
import type { DeviceTokenAuth } from '../../auth/device-token.js'
import type { PlatformMetrics } from '../../metrics.js'
import { bearerOf } from '../auth.js'
import type { ApiInstance, ApiServices } from '../context.js'
import { ApiError, forbidden, unauthenticated } from '../errors.js'
import { IdParams } from '../schemas.js'
import { IngestResultSchema } from './telemetry-schemas.js'

/** The largest body: the telemetry limit of every format (1 MiB), as for an MQTT payload. */
export const INGEST_BODY_LIMIT = DEFAULT_TELEMETRY_LIMITS.maxBytes

/** The authenticated device of a request, set by the onRequest hook. */
const deviceOf = new WeakMap<FastifyRequest, string>()

const sourceOf = (request: FastifyRequest): string => request.url.split('?')[0] ?? request.url

function deviceAuthHook(tokens: DeviceTokenAuth, metrics: PlatformMetrics) {
  const refuse = (reason: 'bad_credentials' | 'not_authorized', err: ApiError): ApiError => {
    metrics.authFailures.inc({ transport: 'http', reason })
    return err
  }
  return async (request: FastifyRequest): Promise<void> => {
    const bearer = bearerOf(request)
    if (bearer === undefined)
      throw refuse(
        'bad_credentials',
        unauthenticated('this route needs the device token: Authorization: Bearer sdt_…'),
      )
    // Not validated yet (params are checked after onRequest): only the claim of an id to check against.
    const claimed = (request.params as { id?: unknown }).id
    const result = await tokens.verify(Buffer.from(bearer), typeof claimed === 'string' ? claimed : '')
    // Unknown, wrong, another device's and revoked tokens answer alike: no oracle.
    if (!result.ok)
      throw refuse(
        'bad_credentials',
        unauthenticated("the device token is unknown, revoked or not this device's"),
      )
    const enabled = tokens.deviceEnabled(result.deviceId)
    if (enabled === undefined)
      throw refuse(
        'bad_credentials',
        unauthenticated("the device token is unknown, revoked or not this device's"),
      )
    if (!enabled) throw refuse('not_authorized', forbidden(`device '${result.deviceId}' is disabled`))
    deviceOf.set(request, result.deviceId)
  }
}

export async function ingestRoutes(app: ApiInstance, services: ApiServices): Promise<void> {
  const { telemetry, deviceTokens, metrics } = services
  if (telemetry === undefined || deviceTokens === undefined) return
  await app.register(async (scope: ApiInstance) => {
    // Every body is read as bytes, whatever its type, and the format decided in the handler:
    // JSON must reach the decoder as bytes too (strict UTF-8, its own limits and messages).
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
    scope.setErrorHandler((err: FastifyError, request) => {
      if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err
      const tooLarge = new TelemetryFormatError(
        'STRATA_TELEMETRY_TOO_LARGE',
        `the body is over the limit of ${INGEST_BODY_LIMIT} bytes`,
      )
      const deviceId = deviceOf.get(request)
      if (deviceId !== undefined) telemetry.refuse(deviceId, sourceOf(request), tooLarge)
      throw new ApiError(413, tooLarge.code, tooLarge.message)
    })
    scope.post(
      '/api/devices/:id/telemetry',
      {
        // The device's token is checked by the route's own hook, not by an API scope.
        config: { scope: 'public' },
        bodyLimit: INGEST_BODY_LIMIT,
        onRequest: deviceAuthHook(deviceTokens, metrics),
        schema: {
          tags: ['telemetry'],
          summary: 'Send telemetry as a device (HTTP instead of MQTT)',
          description:
            "Authorization: Bearer <the device's token, sdt_…>; the token must be this device's. The body is " +
            'one telemetry message in the format its Content-Type names: application/json, ' +
            'application/senml+json, application/senml+cbor or application/vnd.strata.batch (docs/topics.md), ' +
            'at most 1 MiB. 200 once every point is durable; 400/413 for a refused payload ' +
            '(STRATA_TELEMETRY_*), 415 for another content type, 429 with Retry-After when storage is ' +
            'behind, 503 when the write failed (nothing is acknowledged: retry).',
          params: IdParams,
          security: [{ bearer: [] }],
          response: { 200: IngestResultSchema },
        },
      },
      async (request, reply) => {
        const deviceId = deviceOf.get(request)
        if (deviceId === undefined) throw unauthenticated()
        const source = sourceOf(request)
        const contentType = request.headers['content-type']
        let format: ReturnType<typeof formatOf>
        try {
          if (contentType === undefined || contentType.trim() === '')
            throw new TelemetryFormatError(
              'STRATA_TELEMETRY_UNSUPPORTED',
              'a telemetry body needs a Content-Type: application/json, application/senml+json, application/senml+cbor or application/vnd.strata.batch',
            )
          format = formatOf(contentType, undefined)
        } catch (err) {
          if (!(err instanceof TelemetryFormatError)) throw err
          telemetry.refuse(deviceId, source, err)
          throw new ApiError(415, err.code, err.message, 'headers.content-type')
        }
        const body = request.body
        const payload = Buffer.isBuffer(body) ? body : Buffer.alloc(0)
        const result = telemetry.submit({
          deviceId,
          format,
          payload,
          acknowledged: true,
          holdable: false,
          source,
        })
        switch (result.kind) {
          case 'refused': {
            const { code, message } = result.error
            throw new ApiError(code === 'STRATA_TELEMETRY_TOO_LARGE' ? 413 : 400, code, message, 'body')
          }
          case 'busy': {
            // Kept by the error handler, which adds its own headers to those already set.
            const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000))
            reply.header('retry-after', String(seconds))
            throw new ApiError(429, 'STRATA_API_BUSY', `telemetry storage is behind: retry in ${seconds} s`)
          }
          case 'accepted':
            try {
              await result.durable
            } catch (err) {
              request.log.error({ err, deviceId }, 'telemetry write failed')
              throw new ApiError(
                503,
                'STRATA_API_UNAVAILABLE',
                'the telemetry could not be stored and was not acknowledged: retry',
              )
            }
            return reply.code(200).send({ points: result.points })
        }
      },
    )
  })
}
