import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  statSync,
  type Stats,
} from 'node:fs';
import { CertificateError } from '../model/errors.js';

/**
 * Reads a certificate or key file that must be a regular file (through symlinks: Certbot's live/ links into
 * archive/) of at most `cap` bytes. A FIFO, a device or a folder is refused before it is opened — opening a FIFO
 * waits for a writer — and the file is opened non-blocking and checked again on its descriptor, so that nothing
 * swapped in between can hang the run; at most `cap + 1` bytes are read whatever the file claims.
 */
export function readPemFile(
  file: string,
  role: string,
  cap: number,
  /** Judges the file opened (its owner and mode on the descriptor); throws a CertificateError to refuse it. */
  judge?: (info: Stats) => void,
): Buffer {
  let fd: number;
  try {
    refuseUnlessFile(file, role, statSync(file), cap);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw openError(file, role, error);
  }
  try {
    const info = fstatSync(fd);
    refuseUnlessFile(file, role, info, cap);
    judge?.(info);
    // Not the size fstat gave: a file may grow while it is read (or, in /proc, claim 0 bytes).
    const buffer = Buffer.allocUnsafe(cap + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        throw new CertificateError(
          `${role} ${file} is larger than ${describeSize(cap)}; it cannot be a ${role}`,
        );
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw openError(file, role, error);
  } finally {
    closeSync(fd);
  }
}

function refuseUnlessFile(file: string, role: string, info: Stats, cap: number): void {
  if (info.isDirectory()) throw new CertificateError(`${role} ${file} is a folder, not a file`);
  if (!info.isFile()) {
    throw new CertificateError(`${role} ${file} is a ${fileKind(info)}, not a regular file`);
  }
  if (info.size > cap) {
    throw new CertificateError(`${role} ${file} is larger than ${describeSize(cap)}; it cannot be a ${role}`);
  }
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isSocket()) return 'socket';
  return 'special file';
}

function describeSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function openError(file: string, role: string, error: unknown): CertificateError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    let target: string | undefined;
    try {
      if (lstatSync(file).isSymbolicLink()) target = readlinkSync(file);
    } catch {
      // not there at all
    }
    return new CertificateError(
      target === undefined
        ? `${role} ${file} does not exist`
        : `${role} ${file} is a dangling symlink (its target ${target} does not exist)`,
    );
  }
  if (code === 'EACCES') {
    return new CertificateError(
      `${role} ${file} cannot be read: permission denied (run as the user Certbot runs as)`,
    );
  }
  if (code === 'EISDIR') return new CertificateError(`${role} ${file} is a folder, not a file`);
  if (code === 'ELOOP') return new CertificateError(`${role} ${file} is a symlink loop`);
  return new CertificateError(`${role} ${file} cannot be read (${code ?? 'unknown error'})`);
}
