/**
 * TypeBox schemas of what the API accepts and returns. One schema is the request validation,
 * the handler's TypeScript type and the OpenAPI document at once. Request bodies refuse
 * unknown fields (`additionalProperties: false`) so a misspelt field is an error, not a
 * silent no-op. The schemas check shape and bounds; the services still check meaning (a
 * group exists, a PEM parses) and answer with their own codes.
 */
import { type Static, type TSchema, Type } from 'typebox'
import { ROLES, SCOPES } from '../access/model.js'
import { CREDENTIAL_KINDS, GRANT_ACCESS } from '../identity/model.js'
import type { JsonObject } from '../registry/model.js'
import {
  ID_PATTERN,
  INGEST_STRATEGIES,
  MAX_NAME,
  MAX_QUEUED_POINTS,
  MAX_RETENTION_DAYS,
  MAX_SAMPLE_EVERY,
  VALUE_TYPES,
} from '../registry/model.js'

const strict = { additionalProperties: false } as const

export const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: 128, description: 'an id' })
export const IdParams = Type.Object({ id: Id }, strict)
export const UsernameParams = Type.Object(
  { username: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', maxLength: 64 }) },
  strict,
)
const IsoTime = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' })
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Name = Type.String({ maxLength: MAX_NAME })

/** Any JSON object; the registry checks depth, finiteness and size. */
export const JsonObjectSchema = Type.Unsafe<JsonObject>(Type.Record(Type.String(), Type.Unknown()))
const Tags = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }))
const Ids = Type.Array(Id, { maxItems: 64 })

export const ErrorBodySchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { description: 'An error; `code` is stable, see docs/api.md' },
)

export const Meta = {
  version: Type.Integer({ minimum: 1, description: 'grows by one per update; the ETag' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
}

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(
      Type.String({ description: 'pass as `cursor` for the next page; null on the last' }),
    ),
  })

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size, default 100' })),
  cursor: Type.Optional(Type.String({ maxLength: 1024, description: '`nextCursor` of the previous page' })),
}

// ---- registry --------------------------------------------------------------------------

export const DeviceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  typeId: Nullable(Type.String()),
  groups: Type.Array(Type.String()),
  tags: Type.Record(Type.String(), Type.String()),
  metadata: JsonObjectSchema,
  enabled: Type.Boolean(),
  firmwareVersion: Nullable(Type.String()),
  desiredConfig: Type.Object({ version: Type.Integer(), config: JsonObjectSchema }),
  ...Meta,
})

const deviceFields = {
  name: Type.Optional(Name),
  typeId: Type.Optional(Nullable(Id)),
  groups: Type.Optional(Ids),
  tags: Type.Optional(Tags),
  metadata: Type.Optional(JsonObjectSchema),
  enabled: Type.Optional(Type.Boolean()),
  firmwareVersion: Type.Optional(Nullable(Type.String({ maxLength: 128 }))),
  desiredConfig: Type.Optional(JsonObjectSchema),
}
export const NewDeviceBody = Type.Object({ id: Id, ...deviceFields }, strict)
export const DevicePatchBody = Type.Object(deviceFields, strict)

export const DeviceListQuery = Type.Object(
  {
    selector: Type.Optional(
      Type.String({ maxLength: 4096, description: 'fleet selector, e.g. `type:thermostat tag:floor=3`' }),
    ),
    ...PageQuery,
  },
  strict,
)

export const DeviceStatusSchema = Type.Object({ online: Type.Boolean(), lastSeen: Nullable(IsoTime) })

const TelemetrySpecSchema = Type.Object(
  {
    metric: Type.String({ maxLength: 128 }),
    unit: Type.Optional(Type.String({ maxLength: MAX_NAME })),
    valueType: Type.Enum([...VALUE_TYPES]),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    alarm: Type.Optional(Type.Boolean({ description: 'never sampled or shed by back-pressure' })),
  },
  strict,
)

/** Shape only; which field goes with which strategy is the registry's check (a clear 400 naming the field). */
const IngestPolicySchema = Type.Object(
  {
    strategy: Type.Enum([...INGEST_STRATEGIES], {
      description:
        'while storage lags: buffer (acks wait), sample (every Nth point), shed (drop, lowest priority first)',
    }),
    sampleEvery: Type.Optional(
      Type.Integer({ minimum: 2, maximum: MAX_SAMPLE_EVERY, description: "strategy 'sample': default 10" }),
    ),
    priority: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 9, description: "strategy 'shed': 0 is shed first; default 5" }),
    ),
    maxQueuedPoints: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_QUEUED_POINTS,
        description:
          "points waiting for storage before this type's messages are refused; default the platform's high-water mark",
      }),
    ),
  },
  { ...strict, description: 'back-pressure policy (docs/topics.md)' },
)

const retentionDays = (what: string) =>
  Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_RETENTION_DAYS,
      description: `days ${what} are kept; default the platform's telemetry.retention`,
    }),
  )
const RetentionSchema = Type.Object(
  {
    rawDays: retentionDays('raw points'),
    minuteDays: retentionDays('1-minute rollups'),
    hourDays: retentionDays('1-hour rollups'),
  },
  {
    ...strict,
    description:
      'retention per resolution, dropped by whole days, months and years; applies to series created after it is set (docs/registry.md)',
  },
)

export const DeviceTypeSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  telemetry: Type.Array(TelemetrySpecSchema),
  defaultConfig: JsonObjectSchema,
  ingest: IngestPolicySchema,
  retention: Nullable(RetentionSchema),
  ...Meta,
})
const deviceTypeFields = {
  name: Type.Optional(Name),
  telemetry: Type.Optional(Type.Array(TelemetrySpecSchema, { maxItems: 1000 })),
  defaultConfig: Type.Optional(JsonObjectSchema),
  ingest: Type.Optional(IngestPolicySchema),
  retention: Type.Optional(Nullable(RetentionSchema)),
}
export const NewDeviceTypeBody = Type.Object({ id: Id, ...deviceTypeFields }, strict)
export const DeviceTypePatchBody = Type.Object(deviceTypeFields, strict)

export const GroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  ...Meta,
})
const groupFields = {
  name: Type.Optional(Name),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
}
export const NewGroupBody = Type.Object({ id: Id, ...groupFields }, strict)
export const GroupPatchBody = Type.Object(groupFields, strict)

// ---- access ----------------------------------------------------------------------------

const RoleSchema = Type.Enum([...ROLES])
export const ScopeSchema = Type.Enum([...SCOPES])
const Password = Type.String({ minLength: 1, maxLength: 4096, description: 'at least 12 characters' })
const Username = Type.String({ maxLength: 64 })

export const UserSchema = Type.Object({
  username: Type.String(),
  role: RoleSchema,
  enabled: Type.Boolean(),
  ...Meta,
})
export const NewUserBody = Type.Object({ username: Username, password: Password, role: RoleSchema }, strict)
export const UserPatchBody = Type.Object(
  {
    password: Type.Optional(Password),
    role: Type.Optional(RoleSchema),
    enabled: Type.Optional(Type.Boolean()),
  },
  strict,
)
export const SetupBody = Type.Object(
  { token: Type.String({ maxLength: 256 }), username: Username, password: Password },
  strict,
)
export const LoginBody = Type.Object({ username: Username, password: Password }, strict)
export const PasswordChangeBody = Type.Object({ currentPassword: Password, newPassword: Password }, strict)
export const LoginResultSchema = Type.Object({ token: Type.String(), expiresAt: IsoTime, user: UserSchema })

export const PrincipalSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('user'),
    username: Type.String(),
    role: RoleSchema,
    scopes: Type.Array(ScopeSchema),
  }),
  Type.Object({
    kind: Type.Literal('apikey'),
    keyId: Type.String(),
    owner: Type.String(),
    scopes: Type.Array(ScopeSchema),
  }),
])

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  owner: Type.String(),
  scopes: Type.Array(ScopeSchema),
  createdAt: IsoTime,
  expiresAt: Nullable(IsoTime),
  lastUsedAt: Nullable(IsoTime),
  revokedAt: Nullable(IsoTime),
})
export const NewApiKeyBody = Type.Object(
  {
    name: Type.String({ maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length }),
    expiresAt: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'ISO 8601; null: never' }))),
    owner: Type.Optional(Username),
  },
  strict,
)
export const CreatedApiKeySchema = Type.Object({
  apiKey: ApiKeySchema,
  key: Type.String({ description: 'the secret, shown this once' }),
})
export const ApiKeyListQuery = Type.Object(
  { owner: Type.Optional(Type.String({ maxLength: 64, description: 'needs users:read unless yourself' })) },
  strict,
)

// ---- identity --------------------------------------------------------------------------

const Label = Type.String({ maxLength: 200 })
const Pem = Type.String({ maxLength: 65536 })

export const CredentialSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  kind: Type.Enum([...CREDENTIAL_KINDS]),
  label: Type.String(),
  createdAt: IsoTime,
  revokedAt: Nullable(IsoTime),
  revokedReason: Nullable(Type.String()),
  certificate: Nullable(
    Type.Object({
      fingerprint: Type.String(),
      serial: Type.String(),
      issuerId: Type.String(),
      notBefore: IsoTime,
      notAfter: IsoTime,
      pem: Type.String(),
    }),
  ),
})
export const IssuedTokenSchema = Type.Object({
  credential: CredentialSchema,
  token: Type.String({ description: "the device's MQTT password, shown this once" }),
})
export const NewCredentialBody = Type.Union([
  Type.Object({ kind: Type.Literal('token'), label: Type.Optional(Label) }, strict),
  Type.Object(
    {
      kind: Type.Literal('certificate'),
      csrPem: Pem,
      label: Type.Optional(Label),
      validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    },
    strict,
  ),
  Type.Object(
    { kind: Type.Literal('certificate'), certificatePem: Pem, label: Type.Optional(Label) },
    strict,
  ),
])
export const RevokeBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, strict)

export const AuthoritySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  subject: Type.String(),
  notAfter: IsoTime,
  platform: Type.Boolean(),
  createdAt: IsoTime,
  certificatePem: Type.String(),
})
export const NewAuthorityBody = Type.Object({ name: Name, certificatePem: Pem }, strict)

const templateFields = {
  name: Type.Optional(Name),
  typeId: Type.Optional(Nullable(Id)),
  groups: Type.Optional(Ids),
  tags: Type.Optional(Tags),
  maxDevices: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  expiresAt: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
}
export const TemplateSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  typeId: Nullable(Type.String()),
  groups: Type.Array(Type.String()),
  tags: Type.Record(Type.String(), Type.String()),
  idPrefix: Type.String(),
  credentialKind: Type.Enum([...CREDENTIAL_KINDS]),
  maxDevices: Nullable(Type.Integer()),
  provisioned: Type.Integer(),
  expiresAt: Nullable(IsoTime),
  enabled: Type.Boolean(),
  ...Meta,
})
export const NewTemplateBody = Type.Object(
  {
    id: Id,
    ...templateFields,
    idPrefix: Type.Optional(Type.String({ maxLength: 64 })),
    credentialKind: Type.Optional(Type.Enum([...CREDENTIAL_KINDS])),
  },
  strict,
)
export const TemplatePatchBody = Type.Object(
  { ...templateFields, enabled: Type.Optional(Type.Boolean()) },
  strict,
)
export const CreatedTemplateSchema = Type.Object({
  template: TemplateSchema,
  claimToken: Type.String({ description: 'what devices claim with, shown this once' }),
})

const GrantAccessSchema = Type.Enum([...GRANT_ACCESS])
export const GrantSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  topicFilter: Type.String(),
  access: GrantAccessSchema,
  createdAt: IsoTime,
})
export const NewGrantBody = Type.Object(
  { topicFilter: Type.String({ minLength: 1, maxLength: 1024 }), access: GrantAccessSchema },
  strict,
)

// ---- audit and health ------------------------------------------------------------------

export const AuditEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: IsoTime,
  actor: Type.String(),
  action: Type.String(),
  targetKind: Type.String(),
  targetId: Type.String(),
  details: JsonObjectSchema,
})
export const AuditQuerySchema = Type.Object(
  {
    targetKind: Type.Optional(Type.String({ maxLength: 64 })),
    targetId: Type.Optional(Type.String({ maxLength: 256 })),
    actor: Type.Optional(Type.String({ maxLength: 256 })),
    ...PageQuery,
  },
  strict,
)

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  ready: Type.Boolean(),
  version: Type.String(),
  broker: Type.Optional(Type.Record(Type.String(), Type.Number())),
})

export type NewCredential = Static<typeof NewCredentialBody>
