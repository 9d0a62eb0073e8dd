import type { Log } from './logger.js';

/**
 * A Log that sends what `overrides` names elsewhere and the rest to `log`. (Spreading a Logger would lose its
 * methods: they live on its prototype.)
 */
export function deriveLog(log: Log, overrides: Partial<Log>): Log {
  return {
    info: overrides.info ?? ((message, meta) => log.info(message, meta)),
    warn: overrides.warn ?? ((message, meta) => log.warn(message, meta)),
    error: overrides.error ?? ((message, meta) => log.error(message, meta)),
    debug: overrides.debug ?? ((message, meta) => log.debug(message, meta)),
  };
}

/** What goes nowhere. */
export const silent = (): void => {};
