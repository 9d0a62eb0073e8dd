/**
 * The queue file written in pieces on a disk that fills up part way through a piece. write(2) then writes
 * what fits and says how much (a short write, no error); only the next write fails. A writer that ignores the count
 * renames a cut-off queue.json over the good one, and the next run finds it corrupt and sets it aside: every site
 * it owed is gone from the queue. A file-size limit (ulimit -f, with SIGXFSZ ignored as Node does) makes the same
 * short write happen at a known size, without filling a disk.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from '../../src/state/queue.js';
import type { Failure } from '../../src/state/transitions.js';
import { CLI, runCommand } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

let leaf: Leaf;
let world: World | undefined;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
after(() => world?.close());

/** The largest file a process run under `limited` may write, in bytes (ulimit -f counts KiB in bash). */
const LIMIT_KIB = 16;

/** Runs the built CLI with files limited to LIMIT_KIB. */
function limited(args: string[], env: Record<string, string>) {
  return runCommand(
    'bash',
    ['-c', `ulimit -f ${LIMIT_KIB} && exec "$0" "$@"`, process.execPath, CLI, ...args],
    env,
  );
}

function owed(index: number): Failure {
  const id = String(9000000 + index);
  return {
    siteId: id,
    authType: 'RSA',
    names: [`site${index}.example.org`],
    source: { cert: `/le/live/site${index}/fullchain.pem`, key: `/le/live/site${index}/privkey.pem` },
    fingerprint: `${index}`.padStart(64, 'f'),
    notAfter: new Date('2027-03-01T00:00:00Z'),
    error: `HTTP 503 from the API for site ${id}: service unavailable, try again later`,
    attempts: 4,
    explicit: true,
  };
}

describe('a queue file cut short by a full disk', () => {
  it('is never renamed over the good one: the run says it could not record, and every owed site stays owed', async () => {
    world = await createWorld();
    // A queue already larger than the limit (explicit pushes: sync could not rebuild these from live certificates).
    const before = Array.from({ length: 60 }, (_, index) => owed(index));
    await new Queue(world.stateDir, quiet).settle(before, []);
    const original = readFileSync(world.queueFile, 'utf8');
    assert.ok(original.length > LIMIT_KIB * 1024, 'the queue is larger than the file-size limit');

    world.fake.inject({
      endpoint: 'upload',
      siteId: '7654321',
      times: Infinity,
      fault: { status: 500, body: '<html>down</html>' },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await limited(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });

    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^error: cannot update the retry queue in .* \(EFBIG\); the uploads above stand, but failures were not queued for sync$/m,
    );
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    // The file as it was: complete, every entry in it.
    assert.equal(readFileSync(world.queueFile, 'utf8'), original, 'queue.json is the one written before');
    const entries = await new Queue(world.stateDir, quiet).entries();
    for (const failure of before)
      assert.ok(
        entries.some((entry) => entry.siteId === failure.siteId),
        `site ${failure.siteId} is still owed`,
      );
    // This run's intent stays in queue.d: the failed site is owed too, for the next run to merge.
    assert.ok(
      entries.some((entry) => entry.siteId === '7654321'),
      'the site that failed is owed',
    );
    const temporaries = readdirSync(world.stateDir, { recursive: true, encoding: 'utf8' }).filter((name) =>
      name.endsWith('.tmp'),
    );
    assert.deepEqual(temporaries, [], 'no temporary file is left');
  });
});
