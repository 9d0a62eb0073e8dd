import type { KeyType } from '../model/certificate.js';
import { siteKey } from '../util/by-key.js';
import type { QueueEntry } from './schema.js';

function keyOf(entry: { siteId: string; authType: KeyType }): string {
  return siteKey(entry.siteId, entry.authType);
}

/**
 * Where each site and key type's entry is in `entries` (the first, should a hand-edited file hold two): finding and
 * replacing take constant time, so a change to a queue of thousands of sites is not quadratic.
 */
export class EntryIndex {
  private readonly at = new Map<string, number>();

  constructor(private readonly entries: QueueEntry[]) {
    entries.forEach((entry, index) => {
      const key = keyOf(entry);
      if (!this.at.has(key)) this.at.set(key, index);
    });
  }

  find(key: { siteId: string; authType: KeyType }): QueueEntry | undefined {
    const index = this.at.get(keyOf(key));
    return index === undefined ? undefined : this.entries[index];
  }

  /**
   * Puts `entry` in place of the entry for its site and key type. 'replace' as it is; 'keep-state' keeps a failed
   * entry's history for the same certificate (an intent does not erase a failure); 'merge' (changes written aside)
   * keeps whichever certificate expires later. An older certificate never displaces a newer one.
   */
  upsert(entry: QueueEntry, how: 'replace' | 'keep-state' | 'merge'): void {
    const key = keyOf(entry);
    const index = this.at.get(key);
    if (index === undefined) {
      this.at.set(key, this.entries.length);
      this.entries.push(entry);
      return;
    }
    const same = this.entries[index] as QueueEntry;
    if (how === 'replace') {
      this.entries[index] = entry;
      return;
    }
    if (Date.parse(same.notAfter) > Date.parse(entry.notAfter)) return;
    if (same.fingerprint === entry.fingerprint) {
      this.entries[index] =
        how === 'merge' && entry.state === 'failed'
          ? { ...entry, since: same.since, attempts: Math.max(same.attempts, entry.attempts) }
          : {
              ...same,
              explicit: same.explicit || entry.explicit,
              state: same.state === 'failed' ? 'failed' : entry.state,
            };
      return;
    }
    this.entries[index] = entry;
  }
}

/** Keeps, in order and in place, the entries `keep` says yes to: one pass, however many go. */
export function keepOnly(entries: QueueEntry[], keep: (entry: QueueEntry) => boolean): void {
  let kept = 0;
  for (const entry of entries) if (keep(entry)) entries[kept++] = entry;
  entries.length = kept;
}
