// Strata driven by a client no one here wrote: Debian's mosquitto_pub and
// mosquitto_sub (mosquitto-clients 2.0), at protocol levels 3.1.1 and 5.
import assert from 'node:assert/strict'
import { after, before, describe, type TestContext, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { requireTool } from '../helpers/peers.js'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import {
  addUser,
  collect,
  connect,
  port,
  type RunningTool,
  runTool,
  sleep,
  spawnTool,
  waitUntil,
} from './lib.js'

const USER = 'mosquitto-peer'
const PASS = 'peer-pass-1'
const VERSIONS = ['mqttv311', 'mqttv5'] as const
type Version = (typeof VERSIONS)[number]

interface SubLine {
  retained: boolean
  qos: number
  topic: string
  props: string
  payload: string
}

// One line per message, fields separated by a character no payload uses.
const FORMAT = 'MSG|%r|%q|%t|%P|%p'

function parse(stdout: string): SubLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('MSG|'))
    .map((l) => {
      const [, r, q, topic, props, ...rest] = l.split('|')
      return {
        retained: r === '1',
        qos: Number(q),
        topic: topic ?? '',
        props: props ?? '',
        payload: rest.join('|'),
      }
    })
}

describe('mosquitto_pub / mosquitto_sub against strata up', { timeout: 60_000 }, () => {
  let proc: StrataProcess
  let mqttPort: number

  before(async () => {
    const dir = await tempDir()
    await addUser(dir, USER, PASS)
    proc = await startStrata(['--sys-interval', '1'], dir)
    mqttPort = port(proc, 'MQTT')
  })
  after(async () => {
    if (proc) assert.equal(await stopStrata(proc), 0, `strata: ${proc.stderr()}`)
  })

  const common = (version: Version): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(mqttPort),
    '-u',
    USER,
    '-P',
    PASS,
    '-V',
    version,
  ]

  /** Starts mosquitto_sub in debug mode and waits for its SUBACK. */
  async function subscribe(version: Version, args: string[]): Promise<RunningTool> {
    const sub = spawnTool('mosquitto_sub', [...common(version), '-d', '-F', FORMAT, ...args])
    await sub.waitFor(/received SUBACK/)
    return sub
  }

  function tools(t: TestContext): boolean {
    return Boolean(requireTool(t, 'mosquitto_pub') && requireTool(t, 'mosquitto_sub'))
  }

  async function mqttjs(version: Version): Promise<MqttClient> {
    return connect(`mqtt://127.0.0.1:${mqttPort}`, {
      protocolVersion: version === 'mqttv5' ? 5 : 4,
      username: USER,
      password: PASS,
    })
  }

  for (const version of VERSIONS) {
    for (const qos of [0, 1, 2]) {
      // [MQTT-3.8.4-8] delivered at min(published, granted) QoS;
      // [MQTT-4.6.0-6] each topic is an ordered topic; QoS 2 exactly once (4.3.3).
      test(`${version} QoS ${qos}: 20 messages arrive exactly once, in order, at QoS ${qos}`, async (t) => {
        if (!tools(t)) return
        const topic = `it/mosq/${version}/q${qos}`
        const sub = await subscribe(version, ['-q', String(qos), '-t', topic, '-C', '20', '-W', '15'])
        const payloads = Array.from({ length: 20 }, (_, i) => `m-${i}`)
        // -l publishes one message per line of stdin over one connection.
        const pub = await runTool(
          'mosquitto_pub',
          [...common(version), '-q', String(qos), '-t', topic, '-l'],
          `${payloads.join('\n')}\n`,
        )
        assert.equal(pub.code, 0, pub.stderr)
        const done = await sub.exited
        assert.equal(done.code, 0, `mosquitto_sub: ${done.stdout}\n${done.stderr}`)
        const got = parse(done.stdout)
        assert.deepEqual(
          got.map((m) => m.payload),
          payloads,
        )
        for (const m of got) {
          assert.equal(m.qos, qos)
          assert.equal(m.topic, topic)
          assert.equal(m.retained, false)
        }
      })
    }

    // [MQTT-3.3.1-5] a retained message is stored; 3.1.1 [MQTT-3.3.1-6] / 5.0
    // [MQTT-3.3.1-9] it is sent to a later subscriber; 3.1.1 [MQTT-3.3.1-10]
    // [MQTT-3.3.1-11] / 5.0 [MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty one deletes it.
    test(`${version}: a retained message reaches a later subscriber; -r -n deletes it`, async (t) => {
      if (!tools(t)) return
      const topic = `it/mosq/${version}/retained`
      const pub = await runTool('mosquitto_pub', [
        ...common(version),
        '-q',
        '1',
        '-r',
        '-t',
        topic,
        '-m',
        'kept',
      ])
      assert.equal(pub.code, 0, pub.stderr)

      const late = await subscribe(version, ['-q', '1', '-t', topic, '-C', '1', '-W', '10'])
      const first = await late.exited
      assert.equal(first.code, 0, first.stderr)
      assert.deepEqual(
        parse(first.stdout).map((m) => [m.payload, m.retained]),
        [['kept', true]],
      )

      const del = await runTool('mosquitto_pub', [...common(version), '-q', '1', '-r', '-n', '-t', topic])
      assert.equal(del.code, 0, del.stderr)
      // Nothing retained any more: the subscriber times out (-W) with no message.
      const after = await subscribe(version, ['-q', '1', '-t', topic, '-C', '1', '-W', '2'])
      const second = await after.exited
      assert.deepEqual(parse(second.stdout), [], 'the empty retained message deleted it')
    })

    // [MQTT-3.1.2-8] the will is published when the connection closes without
    // DISCONNECT; [MQTT-3.1.2-10] a clean DISCONNECT removes it.
    test(`${version}: the will is published after SIGKILL, not after a clean exit`, async (t) => {
      if (!tools(t)) return
      const willTopic = `it/mosq/${version}/will`
      const watcher = await mqttjs(version)
      const wills = collect(watcher)
      await watcher.subscribeAsync(willTopic, { qos: 1 })
      try {
        const will = ['--will-topic', willTopic, '--will-payload', 'gone', '--will-qos', '1']
        const killed = await subscribe(version, [...will, '-t', `it/mosq/${version}/idle`, '-k', '30'])
        killed.child.kill('SIGKILL')
        await killed.exited
        await waitUntil(() => wills.length === 1, 'the will after SIGKILL')
        assert.equal(wills[0]?.payload.toString(), 'gone')

        // -C 1: it exits after one message, sending DISCONNECT first.
        const idle = `it/mosq/${version}/idle2`
        const clean = await subscribe(version, [...will, '--will-payload', 'clean', '-t', idle, '-C', '1'])
        await watcher.publishAsync(idle, 'bye', { qos: 1 })
        const exit = await clean.exited
        assert.equal(exit.code, 0, exit.stderr)
        await sleep(1_000)
        assert.deepEqual(
          wills.map((w) => w.payload.toString()),
          ['gone'],
          'no will after a clean DISCONNECT',
        )
      } finally {
        await watcher.endAsync()
      }
    })

    test(`${version}: a wrong password is refused with a non-zero exit code`, async (t) => {
      if (!requireTool(t, 'mosquitto_pub')) return
      const args = common(version)
      args[args.indexOf(PASS)] = 'wrong-password'
      const pub = await runTool('mosquitto_pub', [...args, '-t', 'it/mosq/denied', '-m', 'x'])
      assert.notEqual(pub.code, 0)
      // 3.1.1 return code 4 / 5.0 reason code 0x86, as mosquitto_pub words them.
      assert.match(pub.stderr, /not authori[sz]ed|bad user ?name or password/i)
    })
  }

  // [MQTT-3.3.2-17] the server forwards every User Property unaltered;
  // [MQTT-3.3.2-18] in order.
  test('mqttv5: -D publish user-property reaches an mqtt.js v5 subscriber and mosquitto_sub %P', async (t) => {
    if (!tools(t)) return
    const topic = 'it/mosq/mqttv5/props'
    const client = await mqttjs('mqttv5')
    const got = collect(client)
    await client.subscribeAsync(topic, { qos: 1 })
    const sub = await subscribe('mqttv5', ['-q', '1', '-t', topic, '-C', '1', '-W', '10'])
    try {
      const pub = await runTool('mosquitto_pub', [
        ...common('mqttv5'),
        '-q',
        '1',
        '-t',
        topic,
        '-m',
        'with-props',
        '-D',
        'publish',
        'user-property',
        'site',
        'plant-7',
        '-D',
        'publish',
        'user-property',
        'line',
        'A',
      ])
      assert.equal(pub.code, 0, pub.stderr)
      await waitUntil(() => got.length === 1, 'the message at the mqtt.js subscriber')
      // mqtt.js decodes them into a null-prototype object; compare the entries, in order.
      assert.deepEqual(Object.entries(got[0]?.packet.properties?.userProperties ?? {}), [
        ['site', 'plant-7'],
        ['line', 'A'],
      ])
      const done = await sub.exited
      assert.equal(done.code, 0, done.stderr)
      assert.deepEqual(
        parse(done.stdout).map((m) => [m.payload, m.props]),
        [['with-props', 'site:plant-7 line:A']],
      )
    } finally {
      await client.endAsync()
      sub.child.kill('SIGKILL')
    }
  })

  test('$SYS/broker/uptime is readable (--sys-interval 1)', async (t) => {
    if (!requireTool(t, 'mosquitto_sub')) return
    const sub = await runTool('mosquitto_sub', [
      ...common('mqttv311'),
      '-t',
      '$SYS/broker/uptime',
      '-C',
      '1',
      '-W',
      '5',
      '-F',
      FORMAT,
    ])
    assert.equal(sub.code, 0, sub.stderr)
    const [line] = parse(sub.stdout)
    assert.equal(line?.topic, '$SYS/broker/uptime')
    assert.match(line?.payload ?? '', /^\d+( seconds)?$/, 'uptime in seconds, as Mosquitto prints it')
  })
})
