/** The most a run keeps back from its uploads for what follows them (the onFailure command). */
export const MAX_RESERVE_MS = 60_000;

export interface Deadlines {
  /** When the uploads (requests, retries, waits for a pace) must be over. */
  uploadsEndAt: number;
  /** When the whole run must be over, the onFailure command included. */
  endsAt: number;
}

/**
 * A run's deadline is the deadline: the uploads end a reserve before it (a fifth of it, at most 60 s), and what
 * follows them (the onFailure command) has that reserve. Without it, a hook whose uploads took the whole
 * hookDeadlineSeconds then ran onFailure past lego's 2-minute kill (docs/acme-clients.md).
 */
export function deadlinesOf(startMs: number, deadlineMs: number): Deadlines {
  const reserve = Math.min(deadlineMs / 5, MAX_RESERVE_MS);
  return { uploadsEndAt: startMs + deadlineMs - reserve, endsAt: startMs + deadlineMs };
}
