/** The pace runs share in the state folder (src/state/pace.ts), as a test sets it up. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes stateDir/pace.json as a run would have, its 429 `agoMs` before now. */
export function writePace(stateDir: string, perSecond: number, agoMs: number): void {
  writeFileSync(
    join(stateDir, 'pace.json'),
    JSON.stringify({ version: 1, perSecond, at: new Date(Date.now() - agoMs).toISOString() }),
    { mode: 0o600 },
  );
}

/**
 * The timer's next run comes hours after a throttled one: by then the pace it shared is older than 10 minutes and
 * not followed. A test that runs sync again at once ages it so.
 */
export function agePace(stateDir: string): void {
  if (existsSync(join(stateDir, 'pace.json'))) writePace(stateDir, 0.5, 11 * 60_000);
}
