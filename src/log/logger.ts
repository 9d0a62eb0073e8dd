import {
  closeSync,
  constants,
  createWriteStream,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { printable } from '../util/printable.js';
import { guardStreams } from './guard.js';
import { Redactor } from './redact.js';

/** What the core needs of a logger. */
export interface Log {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const CONSOLE_PREFIX: Record<string, string> = { warn: 'warning: ', error: 'error: ', debug: 'debug: ' };

/** A line (and any string of its metadata) longer than this is cut — after redaction, so no cut hides a secret. */
export const MAX_LINE = 4000;

/** Marks a line for the console only (Logger.print): never written to the log file. */
const OUTPUT_ONLY = Symbol('output only');

/** close() waits at most this long for the log file (a hung disk must not hold the hook's exit). */
const CLOSE_CEILING_MS = 5_000;

/** Cuts every string of a redacted log entry to MAX_LINE characters. */
function limitLine<T extends object>(info: T): T {
  for (const key of Reflect.ownKeys(info)) {
    const value = (info as Record<string | symbol, unknown>)[key];
    if (typeof value === 'string' && value.length > MAX_LINE) {
      (info as Record<string | symbol, unknown>)[key] =
        `${value.slice(0, MAX_LINE)}… (${value.length - MAX_LINE} more characters)`;
    }
  }
  return info;
}

/**
 * The one logger of a run. Console: info (and, with --verbose, debug) to stdout, warnings and errors to stderr, one
 * line each — Certbot shows a hook's stdout and logs anything on its stderr as a warning
 * (docs/acme-clients.md). File: JSON lines with a timestamp, mode 0600, opened without following a
 * symlink. Redaction runs first, before any transport sees a line, and only then are long lines cut; the run
 * registers every secret it learns with `redactor`. Output that fails (stdout or stderr closed or full, the log file's
 * disk full) is dropped, never thrown: it must not end the run before the failure is queued and the exit code set.
 */
export interface ConsoleStreams {
  stdout: Writable;
  stderr: Writable;
}

export class Logger implements Log {
  readonly redactor = new Redactor();
  private readonly stdout: winston.transport;
  private readonly winston: winston.Logger;
  private file: { path: string; stream: WriteStream; transport: winston.transport } | undefined;
  /**
   * Who wrote a log-file line: the command, this process and one id per run, so that the lines of a Certbot hook and
   * of the timer's run, interleaved in one file, can be told apart (docs/operations.md).
   */
  private verbose = false;
  private readonly run: { command?: string; pid: number; runId: string } = {
    pid: process.pid,
    runId: randomUUID().slice(0, 8),
  };

  constructor(streams: ConsoleStreams = { stdout: process.stdout, stderr: process.stderr }) {
    guardStreams([streams.stdout, streams.stderr]);
    const redactor = this.redactor;
    const redact = winston.format((info) =>
      limitLine(Object.assign(info, redactor.redactValue({ ...info }))),
    );
    // Every console line, whatever it quotes, is made printable here, in one place (src/util/printable.ts).
    const line = winston.format.printf(
      (info) =>
        `${CONSOLE_PREFIX[info.level] ?? ''}${printable(String(info.message).replace(/\s*\n\s*/g, ' '))}`,
    );
    const only = (levels: string[]) =>
      winston.format((info) => (levels.includes(info.level) ? info : false))();
    this.stdout = new winston.transports.Stream({
      stream: streams.stdout,
      level: 'info',
      format: winston.format.combine(only(['info', 'debug']), line),
    });
    const stderr = new winston.transports.Stream({
      stream: streams.stderr,
      level: 'warn',
      format: winston.format.combine(only(['warn', 'error']), line),
    });
    this.winston = winston.createLogger({
      level: 'debug',
      levels: { error: 0, warn: 1, info: 2, debug: 3 },
      format: redact(),
      transports: [this.stdout, stderr],
    });
    // A transport's error is re-emitted here; without a listener it would be thrown.
    this.winston.on('error', () => {});
  }

  /** Debug lines, on the console and in the log file, only with --verbose. */
  setVerbose(verbose: boolean): void {
    this.verbose = verbose;
    this.stdout.level = verbose ? 'debug' : 'info';
    if (this.file !== undefined) this.file.transport.level = this.stdout.level;
  }

  /** Nothing on stdout (--quiet, --json): warnings and errors still go to stderr, everything to the log file. */
  setQuiet(quiet: boolean): void {
    this.stdout.silent = quiet;
  }

  /** Names the command in every log-file line from now on. */
  setCommand(command: string): void {
    this.run.command = command;
  }

  /**
   * A table or other output for the reader, not a record of the run: stdout only (silent under --quiet and --json),
   * never the log file, where a row per line would bury what happened.
   */
  print(lines: readonly string[]): void {
    // Through winston (not written to stdout here) so that the table keeps its place among the lines before it.
    for (const line of lines) this.winston.info(line, { [OUTPUT_ONLY]: true });
  }

  /**
   * Adds the JSON-lines file. A file that cannot be written is a warning (console only), not a reason to skip the
   * upload. The file is opened by us, not by name in winston: O_NOFOLLOW (a symlink planted where root writes its
   * log is refused, not followed), O_NONBLOCK (a FIFO there cannot stall the open), and only a regular file (mode
   * 0600) or a character device such as /dev/null is written to.
   */
  attachFile(file: string | undefined): void {
    if (file === undefined || this.file !== undefined) return;
    let fd: number | undefined;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      fd = openSync(
        file,
        constants.O_WRONLY |
          constants.O_APPEND |
          constants.O_CREAT |
          constants.O_NOFOLLOW |
          constants.O_NONBLOCK,
        0o600,
      );
      const info = fstatSync(fd);
      const refused = info.isFile()
        ? notOurs(info)
        : info.isCharacterDevice()
          ? undefined
          : 'not a regular file';
      if (refused !== undefined) throw Object.assign(new Error(refused), { code: refused });
      if (info.isFile()) fchmodSync(fd, 0o600);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      const code = (error as NodeJS.ErrnoException).code;
      this.warn(
        code === 'ELOOP'
          ? `log file ${file} is a symlink; it is not followed (root writes there); logging to the console only`
          : `cannot write log file ${file} (${code ?? 'unknown error'}); logging to the console only`,
      );
      return;
    }
    const stream = createWriteStream('', { fd, flags: 'a' });
    const transport = new winston.transports.Stream({
      stream,
      level: this.verbose ? 'debug' : 'info',
      format: winston.format.combine(
        winston.format((info) => (OUTPUT_ONLY in info ? false : Object.assign(info, this.run)))(),
        winston.format.timestamp(),
        winston.format.json(),
      ),
    });
    const entry = { path: file, stream, transport };
    let failed = false;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // A full disk, an I/O error: stop writing the file, say so once on the console, and carry on.
      if (failed) return;
      failed = true;
      if (this.file === entry) this.file = undefined;
      this.winston.remove(transport);
      this.warn(
        `cannot write log file ${file} (${error.code ?? error.message}); logging to the console only`,
      );
    });
    this.file = entry;
    this.winston.add(transport);
  }

  info(message: string, meta?: Record<string, unknown>): void {
    this.winston.info(message, meta);
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.winston.warn(message, meta);
  }
  error(message: string, meta?: Record<string, unknown>): void {
    this.winston.error(message, meta);
  }
  debug(message: string, meta?: Record<string, unknown>): void {
    this.winston.debug(message, meta);
  }

  /** Waits until the log file has everything written (or has failed, or CLOSE_CEILING_MS have passed). */
  async close(): Promise<void> {
    const file = this.file;
    if (file === undefined) return;
    // Let winston hand over what was logged last before the file leaves it.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.file !== file) return;
    this.file = undefined;
    this.winston.remove(file.transport);
    const { stream } = file;
    if (stream.destroyed || stream.writableFinished) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, CLOSE_CEILING_MS);
      timer.unref();
      stream.once('finish', done);
      stream.once('error', done);
      stream.once('close', done);
      stream.end();
    });
  }
}

/**
 * Why root must not write to this log file, if it must not: one owned by another user (who chose what root appends
 * to, and reads it), or one with another name elsewhere (a hard link: appending, and the chmod to 0600, would change
 * the file behind that other name, /etc/passwd as well as any).
 */
function notOurs(info: Stats): string | undefined {
  const me = process.getuid?.() ?? 0;
  if (info.uid !== 0 && info.uid !== me) return `owned by user ${info.uid}`;
  if (info.nlink > 1) return `hard-linked: ${info.nlink} names`;
  return undefined;
}
