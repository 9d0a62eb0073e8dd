import type { Writable } from 'node:stream';

/**
 * Output that cannot be written is not a failure of the run: stdout or stderr closed (`>&-`), full (`>/dev/full`),
 * or a reader that went away (`incap-cert status | head -1`, EPIPE). Without a listener, such a write error is thrown
 * from the stream and ends the process with a stack trace, before the failure is queued and with the wrong exit
 * code. With this one, the stream stops (Node destroys it after its first error, later writes are dropped) and the
 * run carries on: the uploads, the queue, the log file and the exit code stand. The run's logger (src/log/logger.ts)
 * guards its streams as it is made, before main writes anything. Returns the streams that have failed so far.
 */
export function guardStreams(
  streams: readonly Writable[] = [process.stdout, process.stderr],
): () => readonly Writable[] {
  const failed: Writable[] = [];
  for (const stream of streams) {
    if (guarded.has(stream)) continue;
    guarded.add(stream);
    stream.on('error', () => {
      if (!failed.includes(stream)) failed.push(stream);
    });
  }
  return () => failed;
}

const guarded = new WeakSet<Writable>();
