/**
 * What the CA's renewal window (ARI, RFC 9773) and what is served say about one lineage (pure). See
 * docs/operations.md ("The CA's schedule").
 */
import { failed, passed, type Finding } from '../model/finding.js';

/** The renewal window of one certificate: the CA's, or taken from the lifetime when the CA gave none. */
export interface RenewalWindow {
  start: Date;
  end: Date;
  /** `ari`: the CA's renewalInfo; `lifetime`: 2/3 to 3/4 of the certificate's lifetime. */
  from: 'ari' | 'lifetime';
  /** Why the CA set the window as it did (its explanationURL), when it said. */
  explanationUrl?: string | undefined;
  /** Why the CA's window is not known (no renewalInfo in the directory, unreachable, `ari: false`). */
  without?: string | undefined;
}

/** The lineage's state, one word: the metric incap_cert_lineage_state and the failure hook follow it. */
export type LineageState =
  'waiting' | 'in-window' | 'acme-client-late' | 'early-renewal-requested' | 'edge-behind';

export const LINEAGE_STATES: readonly LineageState[] = [
  'waiting',
  'in-window',
  'acme-client-late',
  'early-renewal-requested',
  'edge-behind',
];

/** How long after the window ended a lineage that still holds the certificate counts as late. */
export const LATE_AFTER_MS = 12 * 3_600_000;

export interface LineageInput {
  /** The lineage's name (Certbot's `live/NAME`). */
  name: string;
  /** Which ACME client renews it, and for Certbot the version that last wrote its renewal conf. */
  client: 'certbot' | 'other';
  certbotVersion?: string | undefined;
  /** The certificate the lineage holds now. */
  notBefore: Date;
  notAfter: Date;
  window: RenewalWindow;
  /**
   * An earlier window the CA gave for this same certificate (the cache), to tell a window moved into the past from
   * one that ended as planned.
   */
  earlierWindow?: { start: Date; end: Date } | undefined;
  /**
   * Sites that serve (or Imperva holds for them) a certificate older than the lineage's, past the verify grace:
   * one clause each ("site 123 serves …").
   */
  behind: readonly string[];
  now: Date;
}

export interface LineageVerdict {
  state: LineageState;
  findings: Finding[];
}

/** The window taken from the lifetime when the CA gives none: from 2/3 to 3/4 of it. */
export function lifetimeWindow(notBefore: Date, notAfter: Date, without: string): RenewalWindow {
  const from = notBefore.getTime();
  const life = notAfter.getTime() - from;
  return {
    start: new Date(from + (life * 2) / 3),
    end: new Date(from + (life * 3) / 4),
    from: 'lifetime',
    without,
  };
}

/** Certbot follows ARI by itself from 4.1 on; an older one renews only on its own schedule or when forced. */
export function certbotFollowsAri(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (match === null) return false;
  const major = Number(match[1]);
  return major > 4 || (major === 4 && Number(match[2]) >= 1);
}

/** The window moved into the past: it ends before a normal one starts (2/3 of the lifetime), or moved earlier. */
function movedIntoPast(input: LineageInput): boolean {
  const { window, now, notBefore, notAfter, earlierWindow } = input;
  if (window.from !== 'ari' || window.start.getTime() > now.getTime()) return false;
  if (earlierWindow !== undefined && window.start.getTime() < earlierWindow.start.getTime()) return true;
  const normalStart = notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3;
  return window.end.getTime() <= normalStart;
}

function renewCommand(input: LineageInput, force: boolean): string {
  if (input.client !== 'certbot') return `renew the certificate ${input.name} with its ACME client`;
  return `certbot renew --cert-name ${input.name}${force ? ' --force-renewal' : ''}`;
}

/** The lineage's findings: one `ari-window` line, then each problem. */
export function judgeLineage(input: LineageInput): LineageVerdict {
  const { name, window, now } = input;
  const findings: Finding[] = [];
  const span = `${window.start.toISOString()} to ${window.end.toISOString()}`;
  const source =
    window.from === 'ari'
      ? 'the CA'
      : `the lifetime (2/3 to 3/4; the CA's schedule is not known: ${window.without ?? 'not asked'})`;
  findings.push(passed('ari-window', name, `${name}: renewal window ${span}, from ${source}`));
  let state: LineageState = now.getTime() < window.start.getTime() ? 'waiting' : 'in-window';

  if (movedIntoPast(input)) {
    state = 'early-renewal-requested';
    const why = window.explanationUrl === undefined ? '' : ` (the CA explains: ${window.explanationUrl})`;
    const follows = input.client === 'certbot' && certbotFollowsAri(input.certbotVersion);
    findings.push(
      failed(
        'early-renewal-requested',
        name,
        `${name}: the CA moved the renewal window into the past (${span}) and asks for renewal now${why}`,
        renewCommand(input, !follows),
      ),
    );
  } else if (now.getTime() >= window.end.getTime() + LATE_AFTER_MS) {
    state = 'acme-client-late';
    findings.push(
      failed(
        'acme-client-late',
        name,
        `${name}: the renewal window ended ${window.end.toISOString()}${window.from === 'lifetime' ? " (3/4 of the lifetime: the CA's schedule is not known)" : ''} and the lineage still holds the certificate it was for (expires ${input.notAfter.toISOString()})`,
        renewCommand(input, false),
      ),
    );
  }
  if (input.behind.length > 0) {
    if (state === 'waiting' || state === 'in-window') state = 'edge-behind';
    findings.push(
      failed(
        'edge-behind',
        name,
        `${name}: the lineage was renewed but ${input.behind.join('; ')}`,
        'incap-cert sync',
      ),
    );
  }
  return { state, findings };
}
