/**
 * The timer's run: the installed systemd timer and the cron line run `incap-cert sync --verify` every 6 hours, at a
 * minute and hour offset from a hash of /etc/machine-id — different across hosts, the same on every reinstall — and
 * from the hostname where there is no machine-id. Through the built CLI's `install --destdir`.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runHours, scheduleFor } from '../../src/install/schedule.js';
import { renderCron, renderTimer } from '../../src/install/render.js';
import { ROOT, runCli, tempDir } from '../support/harness.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function stub(): string {
  const file = join(tempDir(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho incap-cert ${VERSION}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A staging root for a host with this machine-id (none: no file at all; '': the empty file of a fresh image). */
function host(machineId: string | undefined): string {
  const root = tempDir();
  if (machineId !== undefined) {
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'machine-id'), `${machineId}\n`);
  }
  return root;
}

async function installed(root: string, timer: '--systemd' | '--cron'): Promise<string> {
  const result = await runCli(['install', '--destdir', root, '--binary', stub(), timer]);
  assert.equal(result.code, 0, result.stderr);
  const file = timer === '--systemd' ? 'etc/systemd/system/incap-cert-sync.timer' : 'etc/cron.d/incap-cert';
  return readFileSync(join(root, file), 'utf8');
}

function onCalendar(timer: string): string {
  const line = /^OnCalendar=(.*)$/m.exec(timer)?.[1];
  assert.ok(line !== undefined, timer);
  return line;
}

function cronTime(cron: string): string {
  const fields =
    /^(\d+ [\d,]+) \* \* \* root \/usr\/local\/bin\/incap-cert sync --verify > \/dev\/null$/m.exec(cron);
  assert.ok(fields?.[1] !== undefined, cron);
  return fields[1];
}

const A = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const B = '5c2b1e0a9f8e7d6c5b4a392817160504';

describe('the timer and the cron line: every 6 hours, at a time of each host', () => {
  it('the systemd timer: OnCalendar at the host offset, no random delay, Persistent; the service runs sync --verify', async () => {
    const root = host(A);
    const timer = await installed(root, '--systemd');
    const { minute, hour } = scheduleFor(A, 'machine-id');
    const hours = [hour, hour + 6, hour + 12, hour + 18].map((h) => String(h).padStart(2, '0')).join(',');
    assert.equal(onCalendar(timer), `*-*-* ${hours}:${String(minute).padStart(2, '0')}:00`);
    assert.match(timer, /^Persistent=true$/m);
    assert.doesNotMatch(timer, /^(RandomizedDelaySec|FixedRandomDelay)=/m);
    assert.match(
      readFileSync(join(root, 'etc/systemd/system/incap-cert-sync.service'), 'utf8'),
      /^ExecStart=\/usr\/local\/bin\/incap-cert sync --verify$/m,
    );
  });

  it('two machine-ids: two times; the same machine-id twice (a reinstall): the same time', async () => {
    const a = onCalendar(await installed(host(A), '--systemd'));
    const b = onCalendar(await installed(host(B), '--systemd'));
    const again = onCalendar(await installed(host(A), '--systemd'));
    assert.notEqual(a, b);
    assert.equal(again, a);
    const cronA = cronTime(await installed(host(A), '--cron'));
    const cronB = cronTime(await installed(host(B), '--cron'));
    assert.notEqual(cronA, cronB);
    assert.equal(cronTime(await installed(host(A), '--cron')), cronA);
    // The cron line and the timer agree on the time.
    const { minute } = scheduleFor(A, 'machine-id');
    assert.equal(cronA, `${minute} ${runHours(scheduleFor(A, 'machine-id')).join(',')}`);
  });

  it('no machine-id, or an empty one: the hostname decides', async () => {
    const { minute, hour } = scheduleFor(hostname(), 'hostname');
    const expected = `${minute} ${[hour, hour + 6, hour + 12, hour + 18].join(',')}`;
    assert.equal(cronTime(await installed(host(undefined), '--cron')), expected);
    assert.equal(cronTime(await installed(host(''), '--cron')), expected);
  });
});

describe('rendering the time', () => {
  it('every offset stays within the 6 hours, and covers the whole day', () => {
    for (const id of [A, B, 'x', 'host.example']) {
      const schedule = scheduleFor(id, 'machine-id');
      assert.ok(schedule.minute >= 0 && schedule.minute < 60 && schedule.hour >= 0 && schedule.hour < 6);
      assert.deepEqual(
        runHours(schedule).map((h) => h - schedule.hour),
        [0, 6, 12, 18],
      );
    }
  });

  it('refuses a timer or cron template it cannot find the time in (a broken build)', () => {
    const schedule = scheduleFor(A, 'machine-id');
    assert.throws(
      () => renderTimer('[Timer]\nPersistent=true\n', schedule, 'the timer'),
      /the timer has 0 lines/,
    );
    assert.throws(
      () =>
        renderCron(
          '@daily root /usr/local/bin/incap-cert sync\n',
          '/usr/bin/incap-cert',
          'the cron',
          schedule,
        ),
      /the cron has 0 lines/,
    );
  });
});
