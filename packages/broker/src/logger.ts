import type { Logger } from './options.js'

const noop = (): void => {}

/** The default when no logger is given: logs nothing. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}
