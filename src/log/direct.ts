import { writeSync } from 'node:fs';
import { guardStreams } from './guard.js';

/** The descriptors whose stream took over after a write would have blocked: all their later output goes there. */
const streamed = new Set<1 | 2>();

/**
 * Writes `text` straight to stdout (1) or stderr (2), for the runs that end before the full command line loads
 * (`--version`, a hook run with nothing to upload, a mapped dry run): `process.stdout` alone loads node:stream and
 * node:net, ~2 ms of a ~25 ms run. Output that cannot be written is dropped, as guardStreams drops it: a reader
 * gone (EPIPE), the descriptor closed (EBADF), the disk full. A pipe that would block (EAGAIN: a non-blocking
 * descriptor, its reader slow) gets the rest through the stream, which waits for it — and so does every later write
 * to that descriptor: written straight, it would overtake what the stream still holds (lines out of order, cut).
 */
export function writeDirect(fd: 1 | 2, text: string): void {
  if (streamed.has(fd)) {
    streamOf(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    guardStreams();
    streamed.add(fd);
    streamOf(fd).write(bytes.subarray(done));
  }
}

function streamOf(fd: 1 | 2): NodeJS.WriteStream {
  return fd === 1 ? process.stdout : process.stderr;
}
