import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { PasswordFile, VerifiedCredentialCache } from '../src/auth/password-file.js'
import { hashPassword, verifyPassword } from '../src/auth/password-hash.js'
import { StrataError } from '../src/errors.js'
import { tempDir } from './helpers/strata-process.js'

describe('password hashing (scrypt)', () => {
  test('verifies the right password only, with a fresh salt per hash', async () => {
    const a = await hashPassword('s3cret')
    const b = await hashPassword('s3cret')
    assert.notEqual(a, b)
    assert.match(a, /^\$scrypt\$N=16384,r=8,p=1\$/)
    assert.equal(await verifyPassword(Buffer.from('s3cret'), a), true)
    assert.equal(await verifyPassword(Buffer.from('s3cret!'), a), false)
    assert.equal(await verifyPassword(Buffer.from(''), a), false)
  })

  test('refuses hostile parameters instead of exhausting memory', async () => {
    const hostile = `$scrypt$N=${2 ** 30},r=8,p=1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
    assert.equal(await verifyPassword(Buffer.from('x'), hostile), false)
  })
})

describe('password file', () => {
  test('round trip through save and load, file readable by its owner only', async () => {
    const path = join(await tempDir(), 'passwords')
    const file = await PasswordFile.load(path)
    assert.equal(file.size, 0)
    await file.set('sensor-01', 'pw1')
    await file.set('sensor-02', 'pw2')
    await file.save()
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.doesNotMatch(await readFile(path, 'utf8'), /pw1|pw2/)
    const again = await PasswordFile.load(path)
    assert.deepEqual(again.usernames(), ['sensor-01', 'sensor-02'])
    assert.equal(await again.verify('sensor-01', Buffer.from('pw1')), true)
    assert.equal(await again.verify('sensor-01', Buffer.from('pw2')), false)
    assert.equal(await again.verify('nobody', Buffer.from('pw1')), false)
  })

  test('a malformed line is an error naming the file and line', async () => {
    const path = join(await tempDir(), 'passwords')
    await writeFile(path, '# comment\n\nalice:plaintext\n')
    await assert.rejects(PasswordFile.load(path), (err: unknown) => {
      assert.ok(err instanceof StrataError)
      assert.equal(err.code, 'STRATA_PASSWORD_FILE_INVALID')
      assert.match(err.message, /passwords:3: expected "username:\$scrypt\$/)
      return true
    })
  })

  test('usernames with separators or whitespace are refused', async () => {
    const file = await PasswordFile.load(join(await tempDir(), 'passwords'))
    for (const bad of ['', 'a:b', 'a b', 'a\nb']) {
      await assert.rejects(file.set(bad, 'pw'), /invalid username/)
    }
    await assert.rejects(file.set('ok', ''), /must not be empty/)
  })
})

describe('verified credential cache', () => {
  test('remembers a verified pair without storing the password', () => {
    const cache = new VerifiedCredentialCache(2)
    cache.add('u', Buffer.from('p'))
    assert.equal(cache.has('u', Buffer.from('p')), true)
    assert.equal(cache.has('u', Buffer.from('q')), false)
    cache.add('v', Buffer.from('p'))
    cache.add('w', Buffer.from('p'))
    assert.equal(cache.has('u', Buffer.from('p')), false, 'oldest evicted at capacity')
  })
})
