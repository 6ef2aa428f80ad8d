import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hashGeneratedSecret, hashPassword, verifyPassword } from '../../src/auth/password-hash.js'

test('passwords get the memory-hard cost, generated secrets the cheap one; both verify, the wrong one does not', async () => {
  const password = await hashPassword('a person chose this')
  const token = await hashGeneratedSecret('sdt_0123456789abcdef_x')
  assert.match(password, /^\$scrypt\$N=16384,r=8,p=1\$/)
  assert.match(token, /^\$scrypt\$N=1024,r=8,p=1\$/)
  assert.equal(await verifyPassword(Buffer.from('a person chose this'), password), true)
  assert.equal(await verifyPassword(Buffer.from('sdt_0123456789abcdef_x'), token), true)
  assert.equal(await verifyPassword(Buffer.from('sdt_0123456789abcdef_y'), token), false)
})
