/**
 * Lookups by key made once, for loops over sites: a `find` or `some` over every site inside a loop over sites is
 * quadratic (25 million comparisons at 5,000 sites, each run).
 */

/** The key of a site and key type. */
export function siteKey(siteId: string, keyType: string): string {
  return `${siteId} ${keyType}`;
}

/** The first item of each key: what `items.find((item) => keyOf(item) === key)` gives, without a scan per key. */
export function firstByKey<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T> {
  const first = new Map<string, T>();
  for (const item of items) {
    const key = keyOf(item);
    if (!first.has(key)) first.set(key, item);
  }
  return first;
}

/** The items of each key, in their order. */
export function groupByKey<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}
