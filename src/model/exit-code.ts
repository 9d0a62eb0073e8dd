import { constants } from 'node:os';
import { ExitCode, IncapCertError } from './errors.js';
import { isReport } from './report.js';

/**
 * The one place where an outcome becomes an exit code: a report, or the error that ended a run before it had one.
 * A run stopped by a signal (however it ended) exits 128 + the signal's number; then usage (2), certificate (3), a failed site or an unhealthy
 * state (1), else 0.
 */
export function exitCodeOf(outcome: unknown, stoppedBy?: NodeJS.Signals): number {
  const signal = isReport(outcome) ? (outcome.interrupted ?? stoppedBy) : stoppedBy;
  if (signal !== undefined) return 128 + (constants.signals[signal] ?? 15);
  if (isReport(outcome)) {
    const codes = outcome.problems.map((problem) => problem.exitCode as number);
    if (outcome.unhealthy || outcome.sites.some((site) => site.action === 'failed'))
      codes.push(ExitCode.SiteFailed);
    for (const code of [ExitCode.Usage, ExitCode.Certificate, ExitCode.SiteFailed]) {
      if (codes.includes(code)) return code;
    }
    return ExitCode.Ok;
  }
  return outcome instanceof IncapCertError ? outcome.exitCode : ExitCode.SiteFailed;
}
