import { constants, type promises as fsp } from 'node:fs'
import { open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreCorruptError } from './errors.js'

/**
 * Journal files: `journal-<generation>.log`, each beginning with a 16-byte
 * header. Compaction writes generation N+1 as `<name>.tmp`, fsyncs it and
 * renames it into place, so a named journal file is always whole; the
 * highest generation is the journal and lower ones are leftovers of a
 * compaction that was killed before it deleted them.
 *
 *   header = "STRJ" | version u16 LE | reserved u16 | generation u48 LE | reserved u16
 */
export const HEADER_SIZE = 16
const MAGIC = 'STRJ'
const VERSION = 1
const NAME = /^journal-(\d{12})\.log$/

export type FileHandle = fsp.FileHandle

export const journalName = (generation: number): string =>
  `journal-${String(generation).padStart(12, '0')}.log`

export function encodeHeader(generation: number): Buffer {
  const b = Buffer.alloc(HEADER_SIZE)
  b.write(MAGIC, 0, 'latin1')
  b.writeUInt16LE(VERSION, 4)
  b.writeUIntLE(generation, 8, 6)
  return b
}

export async function readHeader(fh: FileHandle, file: string): Promise<{ generation: number }> {
  const b = Buffer.alloc(HEADER_SIZE)
  const { bytesRead } = await fh.read(b, 0, HEADER_SIZE, 0)
  if (bytesRead < HEADER_SIZE || b.toString('latin1', 0, 4) !== MAGIC) {
    throw new StoreCorruptError(file, 0, 'not a Strata journal (bad header)')
  }
  const version = b.readUInt16LE(4)
  if (version !== VERSION) throw new StoreCorruptError(file, 4, `unsupported journal version ${version}`)
  return { generation: b.readUIntLE(8, 6) }
}

/** Journal generations present in the directory, ascending; removes `.tmp` leftovers of a killed compaction. */
export async function listGenerations(dir: string): Promise<number[]> {
  const generations: number[] = []
  for (const name of await readdir(dir)) {
    const m = NAME.exec(name)
    if (m?.[1] !== undefined) generations.push(Number(m[1]))
    else if (name.startsWith('journal-') && name.endsWith('.tmp')) await rm(join(dir, name), { force: true })
  }
  return generations.sort((a, b) => a - b)
}

/**
 * Creates an empty journal the crash-safe way: header into a temporary
 * file, fsync, rename, fsync the directory.
 */
export async function createJournal(dir: string, generation: number, sync: boolean): Promise<void> {
  const path = join(dir, journalName(generation))
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.write(encodeHeader(generation), 0, HEADER_SIZE, 0)
    if (sync) await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  if (sync) await syncDir(dir)
}

/** Makes a rename or a new file in `dir` durable (POSIX: the directory entry needs its own fsync). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Copies src[from, to) to dst at `at` in chunks (no big buffer, no long pause); returns the new end. */
export async function copyRange(
  src: FileHandle,
  from: number,
  to: number,
  dst: FileHandle,
  at: number,
  chunkSize = 1024 * 1024,
): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(1, to - from)))
  let pos = from
  while (pos < to) {
    const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, to - pos), pos)
    if (bytesRead === 0) throw new Error(`unexpected end of journal at ${pos} while copying up to ${to}`)
    await writeAll(dst, buf.subarray(0, bytesRead), at)
    pos += bytesRead
    at += bytesRead
  }
  return at
}

/** fh.write may write less than asked (a signal, a full disk): loop until all is written or it throws. */
export async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done)
    if (bytesWritten === 0) throw new Error('write wrote 0 bytes')
    done += bytesWritten
  }
}
