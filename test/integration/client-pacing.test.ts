/**
 * Never hammer Imperva: whatever Retry-After says and whatever mix of 429s, 5xx and odd answers arrives, one run
 * sends at most one request per site per second on average (a burst of three, then one a second), and a throttled
 * retry never comes sooner than one second after the 429. Through the built CLI, counting what the fake received.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Fault, RecordedRequest } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld } from '../support/world.js';

const DEADLINE_SECONDS = 3;
const SITES = ['1234567', '7654321'];

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});

/** A deploy to two sites with `faults` answered in turn, for ever (the sequence repeats). */
async function deployAgainst(faults: Fault[]) {
  const world = await createWorld({
    map: { 'example.com': SITES.map(Number) },
    config: { deadlineSeconds: DEADLINE_SECONDS },
  });
  try {
    for (let round = 0; round < 2000; round += 1)
      for (const fault of faults) world.fake.inject({ endpoint: 'upload', fault });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const started = Date.now();
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    const seconds = (Date.now() - started) / 1000;
    return { result, uploads: world.fake.uploads(), seconds };
  } finally {
    await world.close();
  }
}

function perSite(uploads: RecordedRequest[]): Map<string, RecordedRequest[]> {
  const sites = new Map<string, RecordedRequest[]>();
  for (const upload of uploads)
    sites.set(upload.siteId ?? '', [...(sites.get(upload.siteId ?? '') ?? []), upload]);
  return sites;
}

const throttle = (retryAfter: string | undefined): Fault => ({
  status: 429,
  body: '<html>Too many requests</html>',
  ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
});

describe('sticky throttling, whatever Retry-After says', { concurrency: true }, () => {
  const cases: [string, string | undefined][] = [
    ['Retry-After: 0', '0'],
    ['a negative Retry-After', '-5'],
    ['a fractional Retry-After', '0.2'],
    ['a Retry-After date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT'],
    ['a garbage Retry-After', 'soon, maybe'],
    ['no Retry-After', undefined],
  ];
  for (const [title, retryAfter] of cases) {
    it(`${title}: at most one upload a second per site, each retry at least 1 s after the 429`, async () => {
      const { result, uploads, seconds } = await deployAgainst([throttle(retryAfter)]);
      // Nothing but 429 until the deadline: a hook defers both sites to the timer's run (issue 22).
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^2 sites deferred to the timer's run/m);
      const sites = perSite(uploads);
      assert.deepEqual([...sites.keys()].sort(), [...SITES].sort());
      for (const [site, requests] of sites) {
        // Every wait is at least 1 s, so a run of `seconds` makes at most 1 + seconds tries per site.
        assert.ok(
          requests.length <= 1 + Math.ceil(seconds),
          `site ${site}: ${requests.length} uploads in ${seconds} s`,
        );
        for (let i = 1; i < requests.length; i += 1) {
          const gap = (requests[i]?.at ?? 0) - (requests[i - 1]?.at ?? 0);
          assert.ok(gap >= 950, `site ${site}: a retry ${gap} ms after a 429`);
        }
      }
    });
  }
});

describe('a sticky mix of 429s, 5xx and answers that are not the API', { concurrency: true }, () => {
  const mixes: [string, Fault[]][] = [
    [
      '429 with Retry-After 0, then HTML 502, then odd res, over and over',
      [
        throttle('0'),
        { status: 502, body: '<html>Bad gateway</html>' },
        throttle('-1'),
        { contentType: 'application/json', body: '{"res":null}' },
        throttle(undefined),
        { status: 200, body: '<html>Request unsuccessful</html>' },
      ],
    ],
    [
      'answers that are not JSON and resets between throttles',
      [throttle('0'), { reset: true }, throttle('0'), { contentType: 'application/json', body: '{"res":' }],
    ],
  ];
  for (const [title, faults] of mixes) {
    it(`${title}: at most a burst of three, then one upload a second per site`, async () => {
      const { result, uploads, seconds } = await deployAgainst(faults);
      assert.equal(result.code, 1, result.stderr);
      for (const [site, requests] of perSite(uploads))
        assert.ok(
          requests.length <= 3 + Math.ceil(seconds),
          `site ${site}: ${requests.length} uploads in ${seconds} s`,
        );
    });
  }
});
