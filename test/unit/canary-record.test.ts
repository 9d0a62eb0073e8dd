import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renewalPathSample } from '../../src/canary/metrics.js';
import type { KeptPath, KeptPaths } from '../../src/canary/record.js';
import type { PathCheck, PathVerdict } from '../../src/canary/run.js';
import { turned } from '../../src/canary/timer.js';
import { mergeMetrics, renderMetrics } from '../../src/metrics/textfile.js';

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
