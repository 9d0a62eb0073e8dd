/**
 * Calls `callback` when `signal` aborts; returns what takes it back. One listener per signal serves every callback,
 * kept in a Set.
 *
 * Why not `signal.addEventListener('abort', …)` per request: Node keeps an AbortSignal's listeners in a linked list,
 * and a removed node keeps pointing at the node after it. A run's signal lives as long as the run; once removed
 * nodes reach the old generation, each keeps the next request's listener — and through its closure that request's
 * stream, buffers and options — alive through every young collection, so a request's objects were promoted by the
 * thousand, old-generation garbage in a run over thousands of sites.
 *
 * Like addEventListener, a signal that has already aborted never calls back: callers check `signal.aborted` first.
 */
const callbacksOf = new WeakMap<AbortSignal, Set<() => void>>();

export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = callbacksOf.get(signal);
  if (callbacks === undefined) {
    const all = new Set<() => void>();
    callbacks = all;
    callbacksOf.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        const now = [...all];
        all.clear();
        for (const call of now) call();
      },
      { once: true },
    );
  }
  const registered = callbacks;
  registered.add(callback);
  return () => {
    registered.delete(callback);
  };
}
