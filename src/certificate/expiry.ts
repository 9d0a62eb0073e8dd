/**
 * When a certificate counts as expiring (pure). The default window is a third of the certificate's lifetime, at
 * most 14 days: 30 days' notice is pointless for a 6-day Let's Encrypt certificate (it would always warn), and a
 * third of 90 days (30) is later than an ACME client's own renewal, so the cap keeps warnings meaning "renewal is
 * failing", not "renewal is due".
 */

export const DAY_MS = 86_400_000;
/** The default window never exceeds this. */
export const MAX_DEFAULT_WARN_MS = 14 * DAY_MS;

/**
 * How long before notAfter a certificate counts as expiring: `warnDays` when given (config `warnDays`), else a
 * third of its lifetime (notAfter − notBefore) capped at 14 days. Never negative.
 */
export function warnWindowMs(notBefore: Date, notAfter: Date, warnDays?: number): number {
  if (warnDays !== undefined && Number.isFinite(warnDays)) return Math.max(0, warnDays * DAY_MS);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  if (!Number.isFinite(lifetime) || lifetime <= 0) return 0;
  return Math.min(MAX_DEFAULT_WARN_MS, lifetime / 3);
}

/** Whole days left until notAfter, rounded down (0 in its last day, negative once expired). */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** Whether `now` is inside the warning window (or past notAfter). */
export function isExpiring(notBefore: Date, notAfter: Date, now: Date, warnDays?: number): boolean {
  return notAfter.getTime() - now.getTime() <= warnWindowMs(notBefore, notAfter, warnDays);
}
