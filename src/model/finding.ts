/**
 * One verdict about the host, the account or a site, in the one shape that `check`, `status` and `canary` print
 * and put in their --json documents as `findings`. A finding that is not ok carries the command that fixes it.
 */
export interface Finding {
  /** What was judged, as a stable word: `deploy-hook`, `scheduler`, `renewal-conf`, `site`, … */
  kind: string;
  /** Which one: a path, a site id, a lineage name. */
  subject: string;
  ok: boolean;
  /** One plain sentence, naming the file, the site or the field. */
  message: string;
  /** The command (or the one edit) that fixes it; null when there is nothing to fix. */
  fix: string | null;
}

export function passed(kind: string, subject: string, message: string): Finding {
  return { kind, subject, ok: true, message, fix: null };
}

export function failed(kind: string, subject: string, message: string, fix: string): Finding {
  return { kind, subject, ok: false, message, fix };
}

/** The finding as one line of text output: the verdict, then the fix where there is one. */
export function findingLine(finding: Finding): string {
  return `${finding.ok ? 'ok' : 'problem'}: ${finding.message}${finding.fix === null ? '' : `; fix: ${finding.fix}`}`;
}

/** Whether any finding is a problem (the command then exits 1). */
export function anyFailed(findings: readonly Finding[]): boolean {
  return findings.some((finding) => !finding.ok);
}
