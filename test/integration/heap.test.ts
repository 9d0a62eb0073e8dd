import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HEAP_FLAGS, HEAP_FLAGS_V8, tuneHeap } from '../../src/run/heap.js';
import { runProbed } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
after(() => world?.close());

/** Preloaded into the CLI: the largest the young generation got, in bytes, written to a file at exit. */
const PROBE = `
const { getHeapSpaceStatistics } = require('node:v8');
const { writeFileSync } = require('node:fs');
let most = 0;
const look = () => {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  most = Math.max(most, young ? young.space_size : 0);
};
setInterval(look, 2).unref();
process.on('exit', () => { look(); writeFileSync(process.env.PROBE_OUT, String(most)); });
`;

describe('the heap of a long run', () => {
  it('keeps a small young generation while it uploads to hundreds of sites, and says nothing about it', async () => {
    const ids = Array.from({ length: 400 }, (_, index) => String(5001 + index));
    world = await createWorld({
      sites: Object.fromEntries(ids.map((id) => [id, `s${id}.example.com`])),
      map: { '*.example.com': ids.map(Number) },
    });
    const pki = await createPki();
    const leaf = await issueLeaf(pki, { names: ['*.example.com'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runProbed(PROBE, ['push', '--lineage', lineage], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no V8 warning, nothing else on stderr');
    assert.equal(world.fake.acceptedUploads().length, 400);
    const young = Number(result.probed);
    if (process.versions.v8.startsWith(HEAP_FLAGS_V8)) {
      // V8's default lets it double up to 32 MiB (16 per semi-space) within such a run.
      assert.ok(young <= 4 * 1024 * 1024, `young generation reached ${(young / 1048576).toFixed(1)} MiB`);
    } else {
      assert.deepEqual(tuneHeap(v8, process.versions.v8), [], 'left at its defaults on a V8 not checked');
    }
  });

  it('is tuned only on the V8 the flags were checked on', () => {
    const set: string[] = [];
    const record = { setFlagsFromString: (flag: string) => set.push(flag) };
    assert.deepEqual(tuneHeap(record, '12.4.254.21-node.33', []), []);
    assert.deepEqual(tuneHeap(record, '11.2.214.17', []), []);
    assert.deepEqual(set, []);
    assert.deepEqual(tuneHeap(record, '11.3.244.8-node.33', []), [...HEAP_FLAGS]);
  });

  it('leaves alone what the operator set when starting node (its command line or NODE_OPTIONS)', () => {
    const set: string[] = [];
    const record = { setFlagsFromString: (flag: string) => set.push(flag) };
    assert.deepEqual(tuneHeap(record, '11.3.244.8', ['--max-semi-space-size=8']), [
      '--heap-growing-percent=30',
    ]);
    assert.deepEqual(tuneHeap(record, '11.3.244.8', ['--heap_growing_percent=50']), [
      '--semi-space-growth-factor=1',
    ]);
    assert.deepEqual(
      tuneHeap(record, '11.3.244.8', ['--semi-space-growth-factor=4', '--heap-growing-percent=10']),
      [],
    );
    assert.deepEqual(tuneHeap(record, '11.3.244.8', ['--max-old-space-size=64', '--expose-gc']), [
      ...HEAP_FLAGS,
    ]);
  });
});
