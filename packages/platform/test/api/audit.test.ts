import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFixture, type Fixture, PASSWORDS } from './fixture.js'

interface Entry {
  seq: number
  actor: string
  action: string
  targetKind: string
  targetId: string
  details: Record<string, unknown>
}

describe('API: audit', () => {
  let f: Fixture
  before(async () => {
    f = await createFixture()
  })
  after(() => f.close())

  const entries = async (query = ''): Promise<Entry[]> => {
    const r = await f.send('GET', `/api/audit${query}`, { token: f.tokens.admin })
    assert.equal(r.status, 200, r.body)
    return r.json.items as Entry[]
  }

  test('every mutation is recorded with its actor, and no secret is', async () => {
    const secrets: string[] = Object.values(PASSWORDS)
    await f.send('POST', '/api/devices', { token: f.tokens.operator, body: { id: 'a-1', tags: { k: 'v' } } })
    await f.send('PATCH', '/api/devices/a-1', { token: f.tokens.operator, body: { name: 'renamed' } })
    const key = await f.send('POST', '/api/api-keys', {
      token: f.tokens.operator,
      body: { name: 'ci', scopes: ['devices:write'] },
    })
    secrets.push(String(key.json.key))
    const keyId = (key.json.apiKey as { id: string }).id
    await f.send('DELETE', '/api/devices/a-1', { token: String(key.json.key) })
    await f.send('POST', '/api/device-types', { token: f.tokens.operator, body: { id: 'a-type' } })
    await f.send('POST', '/api/groups', { token: f.tokens.operator, body: { id: 'a-group' } })
    const tok = await f.send('POST', '/api/devices', { token: f.tokens.operator, body: { id: 'a-2' } })
    assert.equal(tok.status, 201)
    const issued = await f.send('POST', '/api/devices/a-2/credentials', {
      token: f.tokens.operator,
      body: { kind: 'token' },
    })
    secrets.push(String(issued.json.token))
    const tpl = await f.send('POST', '/api/provisioning-templates', {
      token: f.tokens.operator,
      body: { id: 'tpl' },
    })
    secrets.push(String(tpl.json.claimToken))
    await f.send('PATCH', '/api/users/viewer', {
      token: f.tokens.admin,
      body: { password: 'a-new-viewer-password' },
    })
    secrets.push('a-new-viewer-password', f.tokens.admin, f.tokens.operator, f.tokens.viewer)

    const all = await entries('?limit=1000')
    const find = (action: string, targetId: string) =>
      all.find((e) => e.action === action && e.targetId === targetId)
    assert.equal(find('user.create', 'admin')?.actor, 'system')
    assert.equal(find('device.create', 'a-1')?.actor, 'user:operator')
    assert.equal(find('device-type.create', 'a-type')?.actor, 'user:operator')
    assert.equal(find('group.create', 'a-group')?.actor, 'user:operator')
    assert.deepEqual(find('device.create', 'a-1')?.details.fields, ['id', 'tags'])
    assert.deepEqual(find('device.update', 'a-1')?.details.fields, ['name'])
    assert.equal(find('apikey.create', keyId)?.actor, 'user:operator')
    assert.equal(find('device.delete', 'a-1')?.actor, `apikey:${keyId}`)
    assert.equal(
      find('credential.issue', (issued.json.credential as { id: string }).id)?.actor,
      'user:operator',
    )
    assert.equal(find('template.create', 'tpl')?.targetKind, 'template')
    assert.deepEqual(find('user.update', 'viewer')?.details, { fields: ['password'] })

    const text = JSON.stringify(all)
    for (const s of secrets) assert.ok(!text.includes(s), `audit log contains a secret: ${s.slice(0, 8)}…`)

    // Newest first; filters and paging.
    assert.ok((all[0]?.seq ?? 0) > (all.at(-1)?.seq ?? 0))
    const forA1 = await entries('?targetKind=device&targetId=a-1')
    assert.deepEqual(
      forA1.map((e) => e.action),
      ['device.delete', 'device.update', 'device.create'],
    )
    const byKey = await entries(`?actor=apikey:${keyId}`)
    assert.equal(byKey.length, 1)
    const first = await f.send('GET', '/api/audit?limit=2', { token: f.tokens.admin })
    assert.equal((first.json.items as unknown[]).length, 2)
    assert.equal(typeof first.json.nextCursor, 'string')
    const second = await f.send('GET', `/api/audit?limit=2&cursor=${first.json.nextCursor}`, {
      token: f.tokens.admin,
    })
    const [next] = second.json.items as Entry[]
    const [, last] = first.json.items as Entry[]
    assert.ok(next && last && next.seq < last.seq)
  })

  test('failed mutations are not recorded', async () => {
    const before = (await entries('?limit=1000')).length
    await f.send('POST', '/api/devices', { token: f.tokens.viewer, body: { id: 'nope' } })
    await f.send('POST', '/api/devices', { token: f.tokens.operator, body: { id: 'bad id' } })
    await f.send('DELETE', '/api/devices/never-was', { token: f.tokens.operator })
    assert.equal((await entries('?limit=1000')).length, before)
  })
})
