import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renewalPathSample } from '../../src/canary/metrics.js';
import { PathRecord, type KeptPath, type KeptPaths } from '../../src/canary/record.js';
import type { PathCheck, PathVerdict } from '../../src/canary/run.js';
import { turned } from '../../src/canary/timer.js';
import { mergeMetrics, renderMetrics } from '../../src/metrics/textfile.js';
import { tempDir } from '../support/harness.js';
import { memoryLog } from '../support/memory-log.js';

const kept = (...paths: [string, 'pass' | 'fail' | undefined][]): KeptPaths => ({
  checkedAt: '2026-12-01T00:00:00.000Z',
  paths: paths.map(([name, judged]): KeptPath => ({
    lineage: 'a',
    name,
    verdict: judged === 'pass' ? 'pass' : judged === 'fail' ? 'blocked' : 'unchecked',
    since: '2026-12-01T00:00:00.000Z',
    advice: null,
    ...(judged === undefined ? {} : { judged }),
  })),
});

describe('turned: when onFailure hears of a renewal path', () => {
  it('a first check: only failures', () => {
    const none = { checkedAt: undefined, paths: [] };
    assert.deepEqual(
      turned(none, kept(['x', 'pass'], ['y', 'fail'], ['z', undefined])).map((path) => path.name),
      ['y'],
    );
  });
  it('pass to fail and fail to pass; not the same again, nor a name nothing was proven for', () => {
    const before = kept(['x', 'pass'], ['y', 'fail'], ['z', 'fail'], ['w', undefined]);
    const after = kept(['x', 'fail'], ['y', 'pass'], ['z', 'fail'], ['w', undefined]);
    assert.deepEqual(
      turned(before, after).map((path) => path.name),
      ['x', 'y'],
    );
  });
});

describe('renewalPathSample and the metrics file', () => {
  const check = (name: string, verdict: PathVerdict, lineage = 'a'): PathCheck => ({
    lineage,
    name,
    verdict,
    detail: '',
    advice: null,
  });
  it('1 for pass, 0 for a failure, nothing for not-needed or unchecked; every lineage dated', () => {
    const at = new Date('2026-12-05T00:00:00Z');
    const sample = renewalPathSample(
      [
        check('x', 'pass'),
        check('y', 'blocked'),
        check('z', 'not-needed', 'b'),
        check('w', 'unchecked', 'c'),
      ],
      at,
    );
    const text = renderMetrics(mergeMetrics([], { command: 'canary', at, renewalPaths: sample }));
    const rows = text.split('\n').filter((line) => line.startsWith('incap_cert_renewal_path_'));
    assert.deepEqual(rows, [
      'incap_cert_renewal_path_ok{lineage="a",name="x"} 1',
      'incap_cert_renewal_path_ok{lineage="a",name="y"} 0',
      'incap_cert_renewal_path_last_check_timestamp_seconds{lineage="a"} 1796428800',
      'incap_cert_renewal_path_last_check_timestamp_seconds{lineage="b"} 1796428800',
      'incap_cert_renewal_path_last_check_timestamp_seconds{lineage="c"} 1796428800',
    ]);
  });
  it("a check replaces the last one's samples; a run without a check leaves them", () => {
    const at = new Date('2026-12-05T00:00:00Z');
    const first = mergeMetrics([], {
      command: 'canary',
      at,
      renewalPaths: renewalPathSample([check('x', 'pass'), check('gone', 'pass', 'old')], at),
    });
    const kept = mergeMetrics(first, { command: 'status', at });
    assert.equal(kept.filter((sample) => sample.name === 'incap_cert_renewal_path_ok').length, 2);
    const next = mergeMetrics(kept, {
      command: 'sync',
      at,
      renewalPaths: renewalPathSample([check('x', 'redirected')], at),
    });
    assert.deepEqual(
      next
        .filter((sample) => sample.name.startsWith('incap_cert_renewal_path_'))
        .map((sample) => [sample.name, sample.labels, sample.value]),
      [
        ['incap_cert_renewal_path_last_check_timestamp_seconds', { lineage: 'a' }, 1796428800],
        ['incap_cert_renewal_path_ok', { lineage: 'a', name: 'x' }, 0],
      ],
    );
  });
});

describe('the renewal-path record (renewal-paths.json) goes through the state-file cycle', () => {
  const earlier = '2026-11-30T00:00:00.000Z';
  const at = new Date('2026-12-01T00:00:00.000Z');
  const open = (stateDir: string, log: ReturnType<typeof memoryLog>['log']) =>
    new PathRecord(stateDir, log, () => at, {});
  const check = (name: string, verdict: PathVerdict): PathCheck => ({
    lineage: 'example.com',
    name,
    verdict,
    detail: '',
    advice: verdict === 'pass' ? null : 'open the path',
  });
  /** A record as incap-cert 0.2.0 wrote it. */
  const written = {
    version: 1,
    checkedAt: earlier,
    paths: [
      {
        lineage: 'example.com',
        name: 'www.example.com',
        verdict: 'blocked',
        since: earlier,
        advice: 'open the path',
        judged: 'fail',
      },
      { lineage: 'example.com', name: '', verdict: 'not-needed', since: earlier, advice: null },
    ],
  };

  it('reads the record as it was written, and writes a check in the same form', async () => {
    const stateDir = join(tempDir(), 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const file = join(stateDir, 'renewal-paths.json');
    writeFileSync(file, JSON.stringify(written), { mode: 0o600 });
    const { log, lines } = memoryLog();
    const record = open(stateDir, log);
    const before = await record.read();
    assert.deepEqual(before, { checkedAt: earlier, paths: written.paths });
    await record.record([check('www.example.com', 'blocked'), check('example.com', 'pass')], before);
    const paths = [
      { ...written.paths[0] },
      {
        lineage: 'example.com',
        name: 'example.com',
        verdict: 'pass',
        since: at.toISOString(),
        advice: null,
        judged: 'pass',
      },
    ];
    const expected = { version: 1, checkedAt: at.toISOString(), paths };
    assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(expected, null, 2)}\n`);
    assert.deepEqual(lines, []);
  });

  const cases: [string, (file: string) => void, RegExp][] = [
    ['unparsable', (file) => writeFileSync(file, '{"version": 1, "paths": [', { mode: 0o600 }), /corrupt \(/],
    [
      'of another version',
      (file) => writeFileSync(file, JSON.stringify({ ...written, version: 2 }), { mode: 0o600 }),
      /not version 1 of the renewal-path record/,
    ],
    [
      'with an entry not valid',
      (file) =>
        writeFileSync(
          file,
          JSON.stringify({ ...written, paths: [{ ...written.paths[0], verdict: 'maybe' }] }),
          {
            mode: 0o600,
          },
        ),
      /path 0 is not valid \(verdict\)/,
    ],
    [
      'oversized',
      (file) => writeFileSync(file, ' '.repeat(4 * 1024 * 1024 + 1), { mode: 0o600 }),
      /not read \(it is larger than 4 MiB\)/,
    ],
    [
      'writable by others',
      (file) => {
        writeFileSync(file, JSON.stringify(written));
        chmodSync(file, 0o666);
      },
      /not read \(it is writable by group or others \(mode 0666\)\)/,
    ],
    [
      'a link',
      (file) => {
        writeFileSync(`${file}.real`, JSON.stringify(written), { mode: 0o600 });
        symlinkSync(`${file}.real`, file);
      },
      /not read \(it is a symbolic link\)/,
    ],
  ];
  for (const [what, make, problem] of cases) {
    it(`one ${what} reads as empty with one warning, and the next check sets it aside`, async () => {
      const stateDir = join(tempDir(), 'state');
      mkdirSync(stateDir, { mode: 0o700 });
      const file = join(stateDir, 'renewal-paths.json');
      make(file);
      const { log, lines } = memoryLog();
      const record = open(stateDir, log);
      const before = await record.read();
      assert.deepEqual(before, { checkedAt: undefined, paths: [] });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0] ?? '', /^warn: renewal-path record .*renewal-paths\.json: /);
      assert.match(lines[0] ?? '', problem);
      assert.match(lines[0] ?? '', /; the next change keeps it aside$/);
      await record.record([check('www.example.com', 'blocked')], before);
      assert.match(
        lines.join('\n'),
        /kept aside as .*renewal-paths\.json\.rejected-2026-12-01T00-00-00-000Z$/m,
      );
      assert.deepEqual(
        readdirSync(stateDir).filter((name) => name.startsWith('renewal-paths.json.rejected-')),
        ['renewal-paths.json.rejected-2026-12-01T00-00-00-000Z'],
      );
      const now = await open(stateDir, log).read();
      assert.deepEqual(
        now.paths.map((path) => `${path.name} ${path.verdict} ${path.judged}`),
        ['www.example.com blocked fail'],
      );
    });
  }
});
