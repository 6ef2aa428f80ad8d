import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Deque } from '../../src/deque.js'

test('Deque keeps FIFO order across compactions', () => {
  const d = new Deque<number>()
  let next = 0
  let expected = 0
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) d.push(next++)
    for (let i = 0; i < 70; i++) assert.equal(d.shift(), expected++)
  }
  assert.equal(d.length, next - expected)
  assert.equal(d.peek(), expected)
  assert.deepEqual([...d].slice(0, 2), [expected, expected + 1])
  while (d.length > 0) assert.equal(d.shift(), expected++)
  assert.equal(d.shift(), undefined)
})
