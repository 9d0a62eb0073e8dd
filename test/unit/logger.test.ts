/**
 * The logger never throws or stalls on output that fails, opens its file without following symlinks, and cuts long
 * lines only after redaction.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { guardStreams } from '../../src/log/guard.js';
import { Logger, MAX_LINE } from '../../src/log/logger.js';
import { REDACTED } from '../../src/log/redact.js';
import { tempDir } from '../support/harness.js';

function capture() {
  const out = { stdout: '', stderr: '' };
  const stdout = new PassThrough().setEncoding('utf8');
  const stderr = new PassThrough().setEncoding('utf8');
  stdout.on('data', (chunk: string) => (out.stdout += chunk));
  stderr.on('data', (chunk: string) => (out.stderr += chunk));
  return { out, streams: { stdout, stderr } };
}

/** A stream on a full disk: every write fails with ENOSPC. */
function fullStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    },
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

// A guard against a regression that hangs (opening a FIFO blocks); not a timed assertion.
const GUARD = { timeout: 60_000 };

describe('Logger output failures', () => {
  it('console streams that fail (full, closed) neither throw nor stall close()', async () => {
    const logger = new Logger({ stdout: fullStream(), stderr: fullStream() });
    for (let index = 0; index < 50; index += 1) {
      logger.info(`line ${index}`);
      logger.error(`error ${index}`);
      await tick();
    }
    await logger.close();
  });

  it('guardStreams keeps a failed stream from throwing, and says which failed', async () => {
    const stream = fullStream();
    const failed = guardStreams([stream]);
    stream.write('x');
    await tick();
    stream.write('y'); // after the first error: destroyed, ERR_STREAM_DESTROYED, also swallowed
    await tick();
    assert.deepEqual(failed(), [stream]);
  });

  it(
    'a log file whose disk fills up: one console warning, the run carries on, close() returns',
    GUARD,
    async () => {
      const { out, streams } = capture();
      const logger = new Logger(streams);
      logger.attachFile('/dev/full');
      logger.info('one');
      logger.error('two');
      // The write error arrives when the file's stream gets to it; on a loaded machine that is a while.
      for (let wait = 0; wait < 250 && !out.stderr.includes('cannot write log file'); wait += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      logger.info('three');
      await logger.close();
      await tick();
      const warnings = out.stderr.split('\n').filter((line) => line.startsWith('warning:'));
      assert.deepEqual(warnings, [
        'warning: cannot write log file /dev/full (ENOSPC); logging to the console only',
      ]);
      assert.match(out.stdout, /one\nthree\n/);
      assert.match(out.stderr, /error: two/);
    },
  );
});

describe('Logger opens its file itself', () => {
  it('a symlink at the log path is not followed: one warning, console only, the target untouched', () => {
    const dir = tempDir();
    const target = join(dir, 'target');
    writeFileSync(target, 'precious\n', { mode: 0o644 });
    symlinkSync(target, join(dir, 'incap-cert.log'));
    const { out, streams } = capture();
    const logger = new Logger(streams);
    logger.attachFile(join(dir, 'incap-cert.log'));
    logger.info('hello');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.equal(statSync(target).mode & 0o777, 0o644);
    assert.equal(
      out.stderr,
      `warning: log file ${join(dir, 'incap-cert.log')} is a symlink; it is not followed (root writes there); logging to the console only\n`,
    );
  });

  it('a dangling symlink is not followed either: nothing is created at its target', () => {
    const dir = tempDir();
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'incap-cert.log'));
    const { out, streams } = capture();
    new Logger(streams).attachFile(join(dir, 'incap-cert.log'));
    assert.equal(existsSync(join(dir, 'elsewhere')), false);
    assert.match(out.stderr, /is a symlink; it is not followed/);
  });

  it('a FIFO at the log path does not hang the run', GUARD, () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'incap-cert.log')]);
    const { out, streams } = capture();
    new Logger(streams).attachFile(join(dir, 'incap-cert.log'));
    assert.match(
      out.stderr,
      /^warning: cannot write log file .*incap-cert\.log \(\w+\); logging to the console only\n$/,
    );
  });

  it('a new file is 0600 and gets JSON lines', async () => {
    const file = join(tempDir(), 'sub', 'incap-cert.log');
    const { streams } = capture();
    const logger = new Logger(streams);
    logger.attachFile(file);
    logger.info('hello', { siteId: '1' });
    await logger.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const { level, message, siteId } = JSON.parse(line) as Record<string, unknown>;
          return { level, message, siteId };
        }),
      [{ level: 'info', message: 'hello', siteId: '1' }],
    );
  });
});

describe('Logger cuts long lines after redaction', () => {
  const KEY = 'key-0123456789abcdef0123456789abcdef0123';

  it(`a line is at most ${MAX_LINE} characters and a note of what was cut`, async () => {
    const { out, streams } = capture();
    const logger = new Logger(streams);
    logger.error('x'.repeat(10 * MAX_LINE));
    await tick();
    const line = out.stderr.trimEnd();
    assert.ok(line.length < MAX_LINE + 100, `${line.length} characters`);
    assert.match(line, /… \(\d+ more characters\)$/);
  });

  it('a secret across the cut is removed whole, not cut into a prefix that escapes redaction', async () => {
    const { out, streams } = capture();
    const logger = new Logger(streams);
    logger.redactor.addSecret(KEY);
    const file = join(tempDir(), 'incap-cert.log');
    logger.attachFile(file);
    logger.error(`${'x'.repeat(MAX_LINE - 20)}${KEY}${'y'.repeat(100)}`);
    await logger.close();
    for (const text of [out.stderr, readFileSync(file, 'utf8')]) {
      assert.ok(!text.includes(KEY.slice(0, 8)), text.slice(-200));
      assert.ok(text.includes(REDACTED));
    }
  });
});

describe('Logger console lines are printable', () => {
  it('escapes C0 (but tab), DEL, C1 and bidirectional controls on stdout and stderr; the file keeps the text', async () => {
    const { out, streams } = capture();
    const logger = new Logger(streams);
    const file = join(tempDir(), 'incap-cert.log');
    logger.attachFile(file);
    const text = 'a\u001b[2Jb\u0000c\u007fd\u009b31me\u0085f\u202eg\u2069h\ti\rj';
    logger.info(text);
    logger.warn(text);
    await logger.close();
    const shown = 'a\\x1b[2Jb\\x00c\\x7fd\\x9b31me\\x85f\\u202eg\\u2069h\ti\\x0dj';
    assert.equal(out.stdout, `${shown}\n`);
    assert.equal(out.stderr, `warning: ${shown}\n`);
    const logged = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { message: string }).message);
    assert.deepEqual(logged, [text, text]);
  });

  it('a secret is redacted before escaping: a control character inside it does not save it', async () => {
    const { out, streams } = capture();
    const logger = new Logger(streams);
    const secret = 'key-\u009babcdefghijklmnop';
    logger.redactor.addSecret(secret);
    logger.error(`refused ${secret}`);
    await tick();
    assert.equal(out.stderr, `error: refused ${REDACTED}\n`);
  });
});
