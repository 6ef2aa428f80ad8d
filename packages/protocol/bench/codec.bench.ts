/**
 * Codec micro benchmark: ours vs mqtt-packet, parse and encode, packets/s.
 * Run: npm run bench:codec   (env ROUNDS=n, MS=per-measurement milliseconds)
 *
 * Parsing is measured on a realistic stream: many packets concatenated and
 * cut into 64 KiB chunks, so packets straddle chunk boundaries as they do on
 * a socket. Each scenario runs ROUNDS times with ours and mqtt-packet
 * interleaved; medians and the ratio ours/mqtt-packet are printed.
 */
import mqttPacket from 'mqtt-packet'
import { encodePacket, type Packet, PacketParser, type ProtocolVersion } from '../src/index.js'

const ROUNDS = Number(process.env.ROUNDS ?? 7)
const MS = Number(process.env.MS ?? 150)
const CHUNK = 64 * 1024

interface Scenario {
  name: string
  version: ProtocolVersion
  ours: Packet
  theirs: Record<string, unknown>
}

const payload = Buffer.alloc(64, 0x61)
const publish0: Packet = {
  type: 'publish',
  topic: 'sensors/device-0042/temperature',
  payload,
  qos: 0,
  retain: false,
  dup: false,
}

const scenarios: Scenario[] = [
  {
    name: 'PUBLISH QoS 0, 64 B, 3.1.1',
    version: 4,
    ours: publish0,
    theirs: { cmd: 'publish', topic: publish0.topic, payload, qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH QoS 0, 64 B, 5.0 + 2 props',
    version: 5,
    ours: { ...publish0, properties: { contentType: 'application/json', messageExpiryInterval: 60 } },
    theirs: {
      cmd: 'publish',
      topic: publish0.topic,
      payload,
      qos: 0,
      retain: false,
      dup: false,
      properties: { contentType: 'application/json', messageExpiryInterval: 60 },
    },
  },
  {
    name: 'PUBLISH QoS 1, 64 B, 3.1.1',
    version: 4,
    ours: { ...publish0, qos: 1, packetId: 4242 },
    theirs: {
      cmd: 'publish',
      topic: publish0.topic,
      payload,
      qos: 1,
      messageId: 4242,
      retain: false,
      dup: false,
    },
  },
  {
    name: 'CONNECT 3.1.1 (user, password, will)',
    version: 4,
    ours: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 60,
      clientId: 'device-0042',
      username: 'device-0042',
      password: Buffer.from('secret-password'),
      will: { topic: 'devices/device-0042/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
    theirs: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: 'device-0042',
      username: 'device-0042',
      password: Buffer.from('secret-password'),
      will: { topic: 'devices/device-0042/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
  },
  {
    name: 'SUBSCRIBE 3.1.1, 3 filters',
    version: 4,
    ours: {
      type: 'subscribe',
      packetId: 7,
      subscriptions: [
        { topicFilter: 'sensors/+/temperature', qos: 1 },
        { topicFilter: 'commands/device-0042/#', qos: 1 },
        { topicFilter: '$SYS/broker/uptime', qos: 0 },
      ],
    },
    theirs: {
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'sensors/+/temperature', qos: 1 },
        { topic: 'commands/device-0042/#', qos: 1 },
        { topic: '$SYS/broker/uptime', qos: 0 },
      ],
    },
  },
]

let sink = 0

/** Runs fn (which handles `per` packets) repeatedly for ~MS ms; returns packets/s. */
function measure(fn: () => void, per: number): number {
  // Short warm-up so each measurement starts with optimised code.
  for (let i = 0; i < 3; i++) fn()
  let n = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(MS) * 1_000_000n
  let elapsed = 0n
  do {
    fn()
    n += per
    elapsed = process.hrtime.bigint() - start
  } while (elapsed < budget)
  return n / (Number(elapsed) / 1e9)
}

function chunksOf(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  // Each chunk is its own allocation, as a socket read would be.
  for (let i = 0; i < bytes.length; i += CHUNK) out.push(Buffer.from(bytes.subarray(i, i + CHUNK)))
  return out
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`

function run(): void {
  console.log(
    `node ${process.version}, ${ROUNDS} rounds x ${MS} ms, parse stream in ${CHUNK / 1024} KiB chunks`,
  )
  const rows: string[][] = [['scenario', 'op', 'ours', 'mqtt-packet', 'ours/mqtt-packet']]
  for (const s of scenarios) {
    const opts = { protocolVersion: s.version }
    const ourBytes = encodePacket(s.ours, s.version)
    const theirBytes = mqttPacket.generate(s.theirs as unknown as mqttPacket.Packet, opts)
    if (!ourBytes.equals(theirBytes) && s.version === 4) throw new Error(`${s.name}: encoders disagree`)
    const count = Math.max(1000, Math.floor((1 << 21) / ourBytes.length))
    const stream = chunksOf(Buffer.concat(Array.from({ length: count }, () => ourBytes)))
    const isConnect = s.ours.type === 'connect'

    const oursParse = () => {
      const parser = new PacketParser(isConnect ? {} : { protocolVersion: s.version })
      let n = 0
      for (const c of stream) parser.push(c, () => n++)
      if (n !== count) throw new Error(`ours parsed ${n} of ${count}`)
      sink += n
    }
    const theirsParse = () => {
      const parser = mqttPacket.parser(opts)
      let n = 0
      parser.on('packet', () => n++)
      for (const c of stream) parser.parse(c)
      if (n !== count) throw new Error(`mqtt-packet parsed ${n} of ${count}`)
      sink += n
    }
    const BATCH = 1000
    const oursEncode = () => {
      for (let i = 0; i < BATCH; i++) sink += encodePacket(s.ours, s.version).length
    }
    const theirsEncode = () => {
      for (let i = 0; i < BATCH; i++)
        sink += mqttPacket.generate(s.theirs as unknown as mqttPacket.Packet, opts).length
    }

    const r = { op: [] as number[], tp: [] as number[], oe: [] as number[], te: [] as number[] }
    for (let round = 0; round < ROUNDS; round++) {
      // Interleave, alternating who goes first, so drift on a shared machine hits both.
      if (round % 2 === 0) {
        r.op.push(measure(oursParse, count))
        r.tp.push(measure(theirsParse, count))
        r.oe.push(measure(oursEncode, BATCH))
        r.te.push(measure(theirsEncode, BATCH))
      } else {
        r.tp.push(measure(theirsParse, count))
        r.op.push(measure(oursParse, count))
        r.te.push(measure(theirsEncode, BATCH))
        r.oe.push(measure(oursEncode, BATCH))
      }
    }
    rows.push([
      s.name,
      'parse',
      fmt(median(r.op)),
      fmt(median(r.tp)),
      `${(median(r.op) / median(r.tp)).toFixed(2)}x`,
    ])
    rows.push([
      '',
      'encode',
      fmt(median(r.oe)),
      fmt(median(r.te)),
      `${(median(r.oe) / median(r.te)).toFixed(2)}x`,
    ])
  }
  const widths = (rows[0] as string[]).map((_, i) =>
    Math.max(...rows.map((row) => (row[i] as string).length)),
  )
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] as number)).join('  '))
  if (sink === 0) console.log('')
}

run()
