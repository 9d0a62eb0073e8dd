/**
 * V8's heap heuristics, set for memory rather than throughput, before a run that may make thousands of requests.
 *
 * A run allocates ~80 KB per request (most of it got and node:http), nearly all of it garbage within milliseconds.
 * V8's defaults answer that with a young generation that grows to 32 MiB and an old generation allowed to reach
 * several times its live size before it is collected; how soon it gets there depends on timing, so the same run
 * peaked anywhere between 95 and 160 MiB (5,000 sites). incap-cert is I/O-bound: two heuristic numbers trade a
 * little CPU for a bounded heap:
 * - semi-space-growth-factor=1: the young generation keeps its initial size (1 MiB per semi-space) instead of
 *   doubling to 16; a young collection of a few dead requests is cheap.
 * - heap-growing-percent=30: after a full collection the old generation may grow 30 % over what was live before
 *   the next one starts, rather than up to 4×.
 * Measured by scripts/bench.ts (peak memory, CPU per upload). An operator who starts node with a flag of their own
 * for either part (its command line or NODE_OPTIONS) keeps theirs.
 *
 * Node documents that V8 flags set after start-up may do nothing or worse. These two are plain numbers V8 reads
 * each time it decides (growing the young generation; setting the old generation's limit after a full
 * collection); none changes threads or state (--single-threaded-gc, for one, crashes when set late). They are set
 * only on the V8 they were checked on (Node 20's 11.3): another V8 may not know them (it would print a warning) or
 * read them differently, and runs with its defaults. No garbage collection is forced, here or anywhere.
 */
export const HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'] as const;

/** Each flag, and the flags by which an operator who sized that part of the heap says so (theirs stand). */
const OPERATOR_SAYS: Record<(typeof HEAP_FLAGS)[number], RegExp> = {
  '--semi-space-growth-factor=1':
    /^--(?:semi[-_]space[-_]growth[-_]factor|(?:max|min)[-_]semi[-_]space[-_]size)\b/,
  '--heap-growing-percent=30': /^--heap[-_]growing[-_]percent\b/,
};

/** The V8 the flags were checked on (process.versions.v8 starts with it). */
export const HEAP_FLAGS_V8 = '11.3.';

/** The flags node was started with: its command line, then NODE_OPTIONS. */
function operatorFlags(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].filter(
    (flag) => flag !== '',
  );
}

/**
 * Sets HEAP_FLAGS, on the V8 they were checked on, except where the operator started node with a flag of their own
 * for that part of the heap; returns the flags set. `v8` is node:v8, passed in so that a hook run with nothing to
 * upload never loads it.
 */
export function tuneHeap(
  v8: { setFlagsFromString(flag: string): void },
  v8Version: string = process.versions.v8,
  given: readonly string[] = operatorFlags(),
): string[] {
  if (!v8Version.startsWith(HEAP_FLAGS_V8)) return [];
  const set = HEAP_FLAGS.filter((flag) => !given.some((theirs) => OPERATOR_SAYS[flag].test(theirs)));
  for (const flag of set) v8.setFlagsFromString(flag);
  return set;
}
