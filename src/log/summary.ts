import type { Log } from './logger.js';

/**
 * Lines that share one cause, said once: a single line as it is, several as one line with their count (`summary`)
 * and each line in detail only with --verbose. A missing live folder or an unreachable Imperva must not print a
 * warning per mapped site.
 */
export function tellGrouped(
  log: Log,
  level: 'warn' | 'error' | 'info',
  lines: readonly string[],
  summary: (count: number) => string,
): void {
  const [only] = lines;
  if (only === undefined) return;
  if (lines.length === 1) {
    log[level](only);
    return;
  }
  log[level](`${summary(lines.length)} (each with --verbose)`);
  for (const line of lines) log.debug(line);
}
