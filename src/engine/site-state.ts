/**
 * How one mapped site stands, per key type: what this host has, what Imperva holds, what the queue owes. The one
 * judgement that `status` shows as a table and `check` as findings.
 */
import { daysLeft, isExpiring, lifetimeMs } from '../certificate/expiry.js';
import type { EdgeState } from '../edge/judge.js';
import type { KeyType } from '../model/certificate.js';
import type { Want } from '../model/want.js';
import type { RunContext } from '../run/context.js';
import type { Delivery } from '../state/delivery.js';
import type { QueueEntry } from '../state/schema.js';
import { heldOfType, judgeHeld, type Held } from './held.js';

/**
 * current: Imperva holds the local certificate (for its key type); outdated: it holds another; missing: none of
 * that key type; flagged: it holds the local certificate and flags it (a name it leaves out, a broken chain);
 * expiring: what it holds expires within the warning window; error: Imperva could not be asked.
 */
export type SiteState =
  'current' | 'outdated' | 'missing' | 'flagged' | 'expiring' | 'no-local-certificate' | 'error';

export interface SiteStatusRow {
  siteId: string;
  names: string[];
  /** The local certificate's key type, else that of what Imperva holds; null when neither is known. */
  keyType: KeyType | null;
  state: SiteState;
  /** Whole days left on what Imperva holds for this key type (the local certificate when current). */
  daysLeft: number | null;
  local: {
    lineage: string | undefined;
    serial: string;
    keyType: string;
    notAfter: string;
    fingerprint: string;
  } | null;
  imperva: {
    expirationDate: string | null;
    inputHash: string | null;
    error: string | null;
    /** What Imperva flags on the certificate it holds (state flagged). */
    flagged?: string | undefined;
  };
  queued: {
    lastError: string;
    attempts: number;
    firstFailure: string;
    lastFailure: string;
    state: string;
  } | null;
  edge?: { state: EdgeState; detail: string; notAfter: string | null } | undefined;
}

export function queuedOf(entry: QueueEntry): NonNullable<SiteStatusRow['queued']> {
  return {
    lastError: entry.lastError,
    attempts: entry.attempts,
    firstFailure: entry.firstFailure ?? entry.since,
    lastFailure: entry.lastFailure ?? entry.since,
    state: entry.state,
  };
}

export function row(
  siteId: string,
  names: string[],
  want: Want,
  held: Held | undefined,
  problem: string | undefined,
  /** The queue's entries for this site. */
  entries: readonly QueueEntry[],
  /** What this host delivered there (the delivery record): judges a legacy listing and Imperva's flags. */
  delivery: Delivery | undefined,
  ctx: Pick<RunContext, 'now' | 'config'>,
): SiteStatusRow {
  const { chain } = want;
  const entry = entries.find((candidate) => candidate.authType === chain.keyType);
  const out: SiteStatusRow = {
    siteId,
    names,
    keyType: chain.keyType,
    state: 'no-local-certificate',
    daysLeft: null,
    local: {
      lineage: want.files.lineage,
      serial: chain.serial,
      keyType: chain.keyType,
      notAfter: chain.notAfter.toISOString(),
      fingerprint: chain.fingerprint,
    },
    imperva: { expirationDate: null, inputHash: null, error: problem ?? null },
    queued: entry === undefined ? null : queuedOf(entry),
  };
  if (problem !== undefined) {
    out.state = 'error';
    return out;
  }
  if (held === undefined) return out;
  const holds = heldInfo(held, chain.keyType);
  out.imperva.expirationDate = holds?.expirationDate ?? null;
  out.imperva.inputHash = holds?.inputHash ?? null;
  const judged = judgeHeld(held, want, delivery);
  if (judged === 'missing') out.state = holds === undefined ? 'missing' : 'outdated';
  else if (judged === 'current') out.state = 'current';
  else {
    out.state = 'flagged';
    out.imperva.flagged = judged.message;
  }
  if (holds?.expirationDate != null) {
    const served = new Date(holds.expirationDate);
    out.daysLeft = daysLeft(served, ctx.now());
    // Held and local are one certificate when judged current: its own dates. Otherwise Imperva lists no issue date.
    const issued = judged === 'current' ? new Date(chain.leaf.validFrom) : undefined;
    if (out.state !== 'flagged' && heldExpiring(served, issued, chain, ctx)) out.state = 'expiring';
  }
  return out;
}

/**
 * Whether the certificate Imperva holds, which expires `expires`, is inside its warning window, measured on its own
 * lifetime (src/certificate/expiry.ts). Imperva lists a certificate's expiry, not its issue date: `issued` is known
 * when the held certificate is the local one, or the edge served it (status --live). Without it, the local
 * certificate's lifetime stands in for the held one's — the certificate it replaces came from the same ACME client —
 * never the local notBefore against the held notAfter, which makes an older certificate look short-lived.
 */
export function heldExpiring(
  expires: Date,
  issued: Date | undefined,
  local: Want['chain'],
  ctx: Pick<RunContext, 'now' | 'config'>,
): boolean {
  const lifetime = lifetimeMs(new Date(local.leaf.validFrom), local.notAfter);
  const notBefore = issued ?? new Date(expires.getTime() - lifetime);
  return isExpiring(notBefore, expires, ctx.now(), ctx.config.warnDays);
}

/** What Imperva holds of this key type (v1: its one custom certificate, whatever the type), if anything. */
function heldInfo(
  held: Held,
  keyType: KeyType,
): { expirationDate: string | null; inputHash: string | null } | undefined {
  const entry = held.source === 'v3' ? heldOfType(held, keyType) : held.status.custom;
  if (entry === undefined) return undefined;
  return {
    expirationDate: entry.expirationDate === undefined ? null : new Date(entry.expirationDate).toISOString(),
    inputHash: entry.inputHash ?? null,
  };
}

/**
 * The rows of a site this host has no certificate for: one per certificate Imperva holds there (what clients get,
 * and until when), else one saying there is none.
 */
export function heldRows(
  siteId: string,
  names: string[],
  held: Held | undefined,
  problem: string | undefined,
  entries: readonly QueueEntry[],
  ctx: Pick<RunContext, 'now' | 'config'>,
): SiteStatusRow[] {
  const blank = (keyType: KeyType | null, expiration: number | undefined, inputHash: string | undefined) => {
    const entry = entries.find((candidate) => keyType === null || candidate.authType === keyType);
    return {
      siteId,
      names,
      keyType,
      state: problem === undefined ? ('no-local-certificate' as const) : ('error' as const),
      daysLeft: expiration === undefined ? null : daysLeft(new Date(expiration), ctx.now()),
      local: null,
      imperva: {
        expirationDate: expiration === undefined ? null : new Date(expiration).toISOString(),
        inputHash: inputHash ?? null,
        error: problem ?? null,
      },
      queued: entry === undefined ? null : queuedOf(entry),
    };
  };
  if (held?.source === 'v3' && held.certificates.length > 0) {
    return held.certificates.map((one) => blank(one.keyType, one.expirationDate, one.inputHash));
  }
  if (held?.source === 'v1' && held.status.custom !== undefined) {
    return [blank(null, held.status.custom.expirationDate, held.status.custom.inputHash)];
  }
  return [blank(null, undefined, undefined)];
}
