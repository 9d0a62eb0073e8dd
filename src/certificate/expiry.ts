import { failed, passed, type Finding } from '../model/finding.js';

/**
 * The clocks that follow the certificate (pure). Lifetimes shrink (200 days from March 2026, 100 in 2027, 47 in
 * 2029; Let's Encrypt offers 6-day certificates), so every limit is a share of the certificate's own lifetime or of
 * the time it has left, never a fixed number of days: a fixed limit right for 90 days is wrong for 6. The numbers
 * and why they are enough are in docs/operations.md ("Short-lived certificates").
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The certificate's lifetime (notAfter − notBefore); 0 when the dates are invalid or reversed. */
export function lifetimeMs(notBefore: Date, notAfter: Date): number {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 0;
}

/**
 * How long before notAfter a certificate counts as expiring: `warnDays` when given (config `warnDays`, a fixed
 * override), else a sixth of its lifetime — 1 day of a 6-day certificate, 7.5 of 45, 15 of 90. An ACME client
 * renews with about a third left, so a certificate inside the last sixth means renewal is failing, not due.
 * Never negative.
 */
export function warnWindowMs(notBefore: Date, notAfter: Date, warnDays?: number): number {
  if (warnDays !== undefined && Number.isFinite(warnDays)) return Math.max(0, warnDays * DAY_MS);
  return lifetimeMs(notBefore, notAfter) / 6;
}

/** Whole days left until notAfter, rounded down (0 in its last day, negative once expired). */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** Whether `now` is inside the warning window (or past notAfter). */
export function isExpiring(notBefore: Date, notAfter: Date, now: Date, warnDays?: number): boolean {
  return notAfter.getTime() - now.getTime() <= warnWindowMs(notBefore, notAfter, warnDays);
}

/**
 * How long a site may stay unreached (deferred by every run's deadline) before that is a failure: a quarter of the
 * time left on the certificate the site serves, at least 1 hour and at most 1 day. A 6-day certificate renewed with
 * 80 hours left may wait 20 hours; a 90-day one renewed with 30 days left, a day.
 */
export function deferralLimitMs(notAfter: Date, now: Date): number {
  const left = notAfter.getTime() - now.getTime();
  if (!Number.isFinite(left)) return HOUR_MS;
  return Math.min(DAY_MS, Math.max(HOUR_MS, left / 4));
}

/**
 * How long after our upload the edge may still serve what it replaced before that is a problem (`pending` until
 * then): a hundredth of the new certificate's lifetime, at least 1 hour (about 22 hours for 90 days, 1.4 for 6).
 */
export function pendingGraceMs(notBefore: Date, notAfter: Date): number {
  return Math.max(HOUR_MS, lifetimeMs(notBefore, notAfter) / 100);
}

/**
 * For check: whether the fixed `warnDays` exceeds a third of the shortest lifetime in use — then the certificate
 * is "expiring" from the moment the ACME client would renew it, or even from issue, and the warning means nothing.
 * No finding when warnDays is unset or no certificate is known.
 */
export function warnDaysFindings(
  warnDays: number | undefined,
  certificates: readonly { notBefore: Date; notAfter: Date; lineage: string }[],
): Finding[] {
  if (warnDays === undefined) return [];
  let shortest: { lifetime: number; lineage: string } | undefined;
  for (const { notBefore, notAfter, lineage } of certificates) {
    const lifetime = lifetimeMs(notBefore, notAfter);
    if (lifetime > 0 && (shortest === undefined || lifetime < shortest.lifetime))
      shortest = { lifetime, lineage };
  }
  if (shortest === undefined) return [];
  const days = (ms: number) => `${Number((ms / DAY_MS).toFixed(1))} days`;
  const third = shortest.lifetime / 3;
  if (warnDays * DAY_MS <= third)
    return [
      passed(
        'warn-days',
        'warnDays',
        `warnDays ${warnDays} fits the shortest lifetime in use (${days(shortest.lifetime)}, ${shortest.lineage})`,
      ),
    ];
  return [
    failed(
      'warn-days',
      'warnDays',
      `warnDays ${warnDays} exceeds a third (${days(third)}) of the shortest lifetime in use (${days(shortest.lifetime)}, ${shortest.lineage}): its certificates would count as expiring before renewal is even due`,
      "remove warnDays from the config (the default is a sixth of each certificate's lifetime) or lower it",
    ),
  ];
}
