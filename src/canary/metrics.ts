import type { RenewalPathSample } from '../model/report.js';
import type { PathCheck } from './run.js';

/**
 * What the metrics file says of one check (src/metrics/textfile.ts): each lineage's time of check, and each name's
 * pass (1) or not (0). A name that needs no check (not-needed) or could not be checked (unchecked) has no sample:
 * 0 would page someone for a path that is not broken, 1 would claim one that was never proven.
 */
export function renewalPathSample(checks: readonly PathCheck[], at: Date): RenewalPathSample {
  return {
    at,
    lineages: [...new Set(checks.map((check) => check.lineage))],
    names: checks
      .filter((check) => check.name !== '' && check.verdict !== 'not-needed' && check.verdict !== 'unchecked')
      .map(({ lineage, name, verdict }) => ({ lineage, name, ok: verdict === 'pass' })),
  };
}
