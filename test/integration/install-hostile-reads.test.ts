/**
 * Nothing blocks on what is at a path, install included: it reads the target's machine-id (for the timer's hour) and
 * its config (for the log file logrotate turns). A FIFO at either path under --destdir would hang install for ever;
 * it is read as no such file instead. The run is killed after a bound; a run that had to be killed fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/harness.js';
import { runTimed } from '../support/held-locks.js';
import { VERSION } from '../../src/util/version.js';

function binary(): string {
  const file = join(tempDir(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho 'incap-cert ${VERSION}'\n`, { mode: 0o755 });
  return file;
}

describe('install --destdir with a FIFO where it reads', () => {
  for (const path of ['etc/machine-id', 'etc/incap-cert/config.json']) {
    it(`at ${path}: install ends, exit 0, and writes its files`, async () => {
      const root = tempDir();
      const fifo = join(root, path);
      mkdirSync(join(fifo, '..'), { recursive: true, mode: 0o755 });
      execFileSync('mkfifo', ['-m', '600', fifo]);
      const result = await runTimed(
        ['install', '--destdir', root, '--binary', binary(), '--cron'],
        {},
        {
          boundMs: 30_000,
        },
      );
      assert.equal(
        result.killed,
        false,
        `install hung on a FIFO at ${path}:\n${result.stdout}${result.stderr}`,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.ok(
        existsSync(join(root, 'usr/local/share/incap-cert/installed.json')),
        'install wrote its record',
      );
    });
  }
});
