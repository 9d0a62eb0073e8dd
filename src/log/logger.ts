import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { Redactor } from './redact.js';

/** What the core needs of a logger. */
export interface Log {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const CONSOLE_PREFIX: Record<string, string> = { warn: 'warning: ', error: 'error: ', debug: 'debug: ' };

/**
 * The one logger of a run. Console: info (and, with --verbose, debug) to stdout, warnings and errors to stderr, one
 * line each — Certbot shows a hook's stdout and logs anything on its stderr as a warning
 * (docs/acme-clients.md). File: JSON lines with a timestamp, mode 0600. Redaction runs first, before
 * any transport sees a line; the run registers every secret it learns with `redactor`.
 */
export interface ConsoleStreams {
  stdout: Writable;
  stderr: Writable;
}

export class Logger implements Log {
  readonly redactor = new Redactor();
  private readonly stdout: winston.transport;
  private readonly winston: winston.Logger;
  private file: winston.transport | undefined;

  constructor(streams: ConsoleStreams = { stdout: process.stdout, stderr: process.stderr }) {
    const redactor = this.redactor;
    const redact = winston.format((info) => Object.assign(info, redactor.redactValue({ ...info })));
    const line = winston.format.printf(
      (info) => `${CONSOLE_PREFIX[info.level] ?? ''}${String(info.message).replace(/\s*\n\s*/g, ' ')}`,
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
  }

  setVerbose(verbose: boolean): void {
    this.stdout.level = verbose ? 'debug' : 'info';
  }

  /** Nothing on stdout (--quiet, --json): warnings and errors still go to stderr, everything to the log file. */
  setQuiet(quiet: boolean): void {
    this.stdout.silent = quiet;
  }

  /** Adds the JSON-lines file. A file that cannot be written is a warning, not a reason to skip the upload. */
  attachFile(file: string | undefined): void {
    if (file === undefined || this.file !== undefined) return;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      this.warn(`cannot write log file ${file} (${code}); logging to the console only`);
      return;
    }
    this.file = new winston.transports.File({
      filename: file,
      level: 'debug',
      options: { flags: 'a', mode: 0o600 },
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    });
    this.winston.add(this.file);
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

  /** Waits until the log file has everything written. */
  async close(): Promise<void> {
    const file = this.file;
    if (file === undefined) return;
    await new Promise<void>((resolve) => {
      file.once('finish', () => resolve());
      file.once('error', () => resolve());
      this.winston.remove(file);
      file.end();
    });
  }
}
