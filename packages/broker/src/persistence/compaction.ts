import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { type FileHandle, HEADER_SIZE, writeAll } from './journal-file.js'
import { scanJournal } from './journal-reader.js'
import { LiveState } from './live-state.js'
import { RecordBuffer } from './record-codec.js'

/**
 * The pieces of compaction that do not touch the live store (LogStore
 * orchestrates them, see compactNow()). The snapshot is not taken from the
 * live mirror, which keeps changing while the snapshot is written: it is
 * rebuilt from the journal's own bytes up to a batch boundary S, which
 * nothing changes any more. The new file is then
 *
 *   header | snapshot of journal[0, S) | journal[S, end) copied verbatim
 *
 * which replays to exactly the state of the old file. Reading and writing
 * are async and in chunks, so the event loop keeps serving the broker.
 */

/** Replays journal[HEADER, upTo) of a file that was already validated into a fresh state. */
export async function rebuildState(
  fh: FileHandle,
  file: string,
  upTo: number,
  signal: AbortSignal,
): Promise<LiveState> {
  const state = new LiveState()
  await scanJournal(
    fh,
    file,
    HEADER_SIZE,
    upTo,
    (records) => {
      for (const r of records) state.apply(r)
    },
    signal,
  )
  signal.throwIfAborted()
  return state
}

/**
 * Writes `state` as records at `position` of `fh`, one COMMIT per chunk of
 * about `chunkBytes` (the file is fsynced before it is renamed into place, so
 * batch size does not matter for durability). Returns the end offset.
 */
export async function writeSnapshot(
  state: LiveState,
  keepUnreferenced: (id: number) => boolean,
  fh: FileHandle,
  position: number,
  signal: AbortSignal,
  chunkBytes = 1024 * 1024,
): Promise<number> {
  const out = new RecordBuffer(chunkBytes + 64 * 1024)
  let sinceYield = 0
  for (const record of state.records(keepUnreferenced)) {
    out.write(record)
    if (out.length >= chunkBytes) {
      position = await flushChunk(out, fh, position)
      signal.throwIfAborted()
      sinceYield = 0
    } else if (++sinceYield >= 4096) {
      // Many small records: encoding alone can take a while, let I/O in.
      await yieldToLoop()
      signal.throwIfAborted()
      sinceYield = 0
    }
  }
  if (out.length > 0) position = await flushChunk(out, fh, position)
  return position
}

async function flushChunk(out: RecordBuffer, fh: FileHandle, position: number): Promise<number> {
  out.commit()
  const bytes = out.take()
  await writeAll(fh, bytes, position)
  return position + bytes.length
}
