/**
 * Did you mean: the known word a mistyped one was probably meant to be. Catches a prefix (`--site` for `--site-id`),
 * a transposition (`sycn`, `stauts`) and other small slips, and the words a Certbot user types for ours.
 */

/** Certbot's words for what incap-cert calls otherwise: suggested, never taken as aliases. */
const CERTBOT_WORDS: Readonly<Record<string, string>> = {
  certificates: 'status',
  list: 'status',
  renew: 'sync',
};

/** The known word closest to `word`, when it is close enough to be what was meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  const certbot = Object.hasOwn(CERTBOT_WORDS, typed) ? CERTBOT_WORDS[typed] : undefined;
  if (certbot !== undefined && known.includes(certbot)) return certbot;
  const prefixed = known.filter((candidate) => candidate.toLowerCase().startsWith(typed));
  if (typed.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * Damerau–Levenshtein distance (the optimal string alignment form): insertions, deletions, substitutions and
 * transpositions of two neighbours each cost one.
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = rows[i];
      if (row !== undefined) row[j] = best;
    }
  }
  return at(a.length, b.length);
}
