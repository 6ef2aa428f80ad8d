import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFixture, type Fixture } from './fixture.js'

describe('API: devices, device types, groups', () => {
  let f: Fixture
  let token: string
  before(async () => {
    f = await createFixture()
    token = f.tokens.operator
  })
  after(() => f.close())

  test('create, read, update, delete a device with ETags', async () => {
    const created = await f.send('POST', '/api/devices', {
      token,
      body: { id: 'dev-1', name: 'Boiler', tags: { floor: '3' } },
    })
    assert.equal(created.status, 201, created.body)
    assert.equal(created.headers.etag, '"1"')
    assert.equal(created.headers.location, '/api/devices/dev-1')
    assert.equal(created.json.name, 'Boiler')
    assert.deepEqual(created.json.tags, { floor: '3' })

    const got = await f.send('GET', '/api/devices/dev-1', { token })
    assert.equal(got.status, 200)
    assert.equal(got.headers.etag, '"1"')
    assert.equal(got.json.version, 1)

    const patched = await f.send('PATCH', '/api/devices/dev-1', {
      token,
      body: { name: 'Boiler 2' },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(patched.status, 200, patched.body)
    assert.equal(patched.headers.etag, '"2"')
    assert.equal(patched.json.name, 'Boiler 2')

    const stale = await f.send('PATCH', '/api/devices/dev-1', {
      token,
      body: { name: 'lost update' },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(stale.status, 412)
    assert.equal(stale.json.code, 'STRATA_REGISTRY_CONFLICT')

    const listMatch = await f.send('PATCH', '/api/devices/dev-1', {
      token,
      body: { enabled: false },
      headers: { 'if-match': '"7", "2"' },
    })
    assert.equal(listMatch.status, 200, listMatch.body)
    assert.equal(listMatch.headers.etag, '"3"')

    const unconditional = await f.send('PATCH', '/api/devices/dev-1', { token, body: { enabled: true } })
    assert.equal(unconditional.status, 200)
    assert.equal(unconditional.json.version, 4)

    for (const bad of ['1', 'W/"4"', '"abc"', '"0"', '', '"4",']) {
      const r = await f.send('PATCH', '/api/devices/dev-1', { token, body: {}, headers: { 'if-match': bad } })
      assert.equal(r.status, 400, `If-Match ${bad}: ${r.body}`)
      assert.equal(r.json.field, 'headers.if-match')
    }

    const delStale = await f.send('DELETE', '/api/devices/dev-1', { token, headers: { 'if-match': '"1"' } })
    assert.equal(delStale.status, 412)
    const del = await f.send('DELETE', '/api/devices/dev-1', { token, headers: { 'if-match': '"4"' } })
    assert.equal(del.status, 204)
    assert.equal(del.body, '')
    const gone = await f.send('GET', '/api/devices/dev-1', { token })
    assert.equal(gone.status, 404)
    assert.equal(gone.json.code, 'STRATA_REGISTRY_NOT_FOUND')
    const delStar = await f.send('DELETE', '/api/devices/dev-1', { token, headers: { 'if-match': '*' } })
    assert.equal(delStar.status, 404)
  })

  test('duplicate id is 409, unknown group 404, bad field 400 with the field named', async () => {
    assert.equal((await f.send('POST', '/api/devices', { token, body: { id: 'dup' } })).status, 201)
    const dup = await f.send('POST', '/api/devices', { token, body: { id: 'dup' } })
    assert.equal(dup.status, 409)
    assert.equal(dup.json.code, 'STRATA_REGISTRY_EXISTS')
    const badTag = await f.send('POST', '/api/devices', { token, body: { id: 'x1', tags: { floor: 'a b' } } })
    assert.equal(badTag.status, 400)
    assert.equal(badTag.json.code, 'STRATA_REGISTRY_INVALID')
    assert.match(String(badTag.json.field), /^tags/)
    const badId = await f.send('POST', '/api/devices', { token, body: { id: 'no spaces' } })
    assert.equal(badId.status, 400)
    assert.equal(badId.json.field, 'body.id')
  })

  test('paging and fleet selectors', async () => {
    const devices = Array.from({ length: 7 }, (_, i) => ({
      id: `page-${i}`,
      tags: { floor: String(i % 2) },
    }))
    for (const body of devices)
      assert.equal((await f.send('POST', '/api/devices', { token, body })).status, 201)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = `selector=${encodeURIComponent('id:page-*')}&limit=3${cursor ? `&cursor=${cursor}` : ''}`
      const page = await f.send('GET', `/api/devices?${q}`, { token })
      assert.equal(page.status, 200, page.body)
      const items = page.json.items as { id: string }[]
      assert.ok(items.length <= 3)
      seen.push(...items.map((d) => d.id))
      cursor = page.json.nextCursor as string | null
      pages++
    } while (cursor)
    assert.equal(pages, 3)
    assert.deepEqual(seen, devices.map((d) => d.id).sort())

    const odd = await f.send('GET', `/api/devices?selector=${encodeURIComponent('tag:floor=1 id:page-*')}`, {
      token,
    })
    assert.deepEqual(
      (odd.json.items as { id: string }[]).map((d) => d.id),
      ['page-1', 'page-3', 'page-5'],
    )

    const bad = await f.send('GET', `/api/devices?selector=${encodeURIComponent('type:a colour:red')}`, {
      token,
    })
    assert.equal(bad.status, 400)
    assert.equal(bad.json.code, 'STRATA_REGISTRY_SELECTOR')
    assert.match(String(bad.json.message), /column 8/)

    const badCursor = await f.send('GET', '/api/devices?cursor=bm9wZQ', { token })
    assert.equal(badCursor.status, 400)
    const badLimit = await f.send('GET', '/api/devices?limit=0', { token })
    assert.equal(badLimit.status, 400)
    assert.equal(badLimit.json.field, 'querystring.limit')
    const unknownParam = await f.send('GET', '/api/devices?selectr=x', { token })
    assert.equal(unknownParam.status, 400)
  })

  test('status of a device, never seen', async () => {
    await f.send('POST', '/api/devices', { token, body: { id: 'st-1' } })
    const st = await f.send('GET', '/api/devices/st-1/status', { token })
    assert.deepEqual(st.json, { online: false, lastSeen: null })
    assert.equal((await f.send('GET', '/api/devices/nope/status', { token })).status, 404)
  })

  test('device types and groups: CRUD, in use, group membership', async () => {
    const type = await f.send('POST', '/api/device-types', {
      token,
      body: { id: 'thermostat', telemetry: [{ metric: 'temp', valueType: 'number', unit: '°C' }] },
    })
    assert.equal(type.status, 201, type.body)
    assert.equal(type.headers.etag, '"1"')
    const group = await f.send('POST', '/api/groups', { token, body: { id: 'hall', description: 'Hall' } })
    assert.equal(group.status, 201)
    const dev = await f.send('POST', '/api/devices', {
      token,
      body: { id: 'th-1', typeId: 'thermostat', groups: ['hall'] },
    })
    assert.equal(dev.status, 201, dev.body)

    const types = await f.send('GET', '/api/device-types', { token })
    assert.deepEqual(
      (types.json.items as { id: string }[]).map((t) => t.id),
      ['thermostat'],
    )
    assert.equal(types.json.nextCursor, null)

    const inUse = await f.send('DELETE', '/api/device-types/thermostat', { token })
    assert.equal(inUse.status, 409)
    assert.equal(inUse.json.code, 'STRATA_REGISTRY_IN_USE')

    const renamed = await f.send('PATCH', '/api/groups/hall', {
      token,
      body: { name: 'Main hall' },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(renamed.status, 200)
    assert.equal((await f.send('GET', '/api/groups/hall', { token })).json.name, 'Main hall')
    assert.equal((await f.send('DELETE', '/api/groups/hall', { token })).status, 204)
    assert.deepEqual((await f.send('GET', '/api/devices/th-1', { token })).json.groups, [])
    assert.equal(Array.isArray((await f.send('GET', '/api/groups', { token })).json.items), true)

    const patchedType = await f.send('PATCH', '/api/device-types/thermostat', {
      token,
      body: { name: 'Thermostat' },
    })
    assert.equal(patchedType.status, 200)
    assert.equal(patchedType.headers.etag, '"2"')
  })
})
