import { writeSync } from 'node:fs';
import { guardStreams } from './guard.js';

/**
 * Writes `text` straight to stdout (1) or stderr (2), for the runs that end before the full command line loads
 * (`--version`, a hook run with nothing to upload, a mapped dry run): `process.stdout` alone loads node:stream and
 * node:net, ~2 ms of a ~25 ms run. Output that cannot be written is dropped, as guardStreams drops it: a reader
 * gone (EPIPE), the descriptor closed (EBADF), the disk full. A pipe that would block (EAGAIN: a non-blocking
 * descriptor, its reader slow) gets the rest through the stream, which waits for it.
 */
export function writeDirect(fd: 1 | 2, text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    guardStreams();
    (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
  }
}
