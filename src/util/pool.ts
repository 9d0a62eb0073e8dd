/**
 * Runs `fn` over `items` with at most `concurrency` at once; results in the items' order. `settled` is called with
 * each index as soon as it and every index before it are done, so that output can follow the plan's order while
 * the work runs out of order.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  settled: (result: R, index: number) => void = () => {},
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const finished: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let flushed = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T, index);
      finished[index] = true;
      while (flushed < items.length && finished[flushed]) {
        settled(results[flushed] as R, flushed);
        flushed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
