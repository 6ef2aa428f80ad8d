/** AbortSignal plumbing shared by every Promise API of the SDK. */

/**
 * A promise that settles like `executor`'s, or rejects with `signal.reason` once the signal
 * aborts. `executor` returns its clean-up, run when the promise settles either way.
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  executor: (resolve: (value: T) => void, reject: (err: unknown) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    let settled = false
    let cleanup: () => void = () => {}
    const finish = (): void => {
      settled = true
      signal?.removeEventListener('abort', onAbort)
      cleanup()
    }
    const onAbort = (): void => {
      if (settled) return
      finish()
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    cleanup = executor(
      (value) => {
        if (settled) return
        finish()
        resolve(value)
      },
      (err) => {
        if (settled) return
        finish()
        reject(err)
      },
    )
    if (settled) cleanup()
  })
}

/** `signal` and a timeout, whichever aborts first. */
export function withTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
