/** setTimeout caps delays at 2^31-1 ms (24.8 days); Session Expiry goes up to 136 years. */
const MAX_DELAY = 0x7fffffff

/** An unref'd timeout of any length; the returned handle can be passed to clearTimeout. */
export function longTimeout(ms: number, fire: () => void, set: (t: NodeJS.Timeout) => void): void {
  const delay = Math.max(0, Math.min(ms, MAX_DELAY))
  const timer = setTimeout(() => {
    if (ms > MAX_DELAY) longTimeout(ms - MAX_DELAY, fire, set)
    else fire()
  }, delay)
  timer.unref()
  set(timer)
}
