/**
 * v3 errors given alone: only an `errors` list is documented, but one error as an object, or as a text, beside an
 * empty `data` list is an error all the same, never "the site holds no custom certificate" (which re-uploaded).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import type { Fault } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const json = (body: unknown): Fault => ({
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify(body),
});

describe('a v3 error given alone beside an empty list is an error, not "no certificates"', () => {
  for (const [shape, fault] of [
    ['a text', json({ data: [], errors: 'Internal server error' })],
    ['an object', json({ data: [], errors: { status: 500, title: 'Internal Server Error' } })],
  ] as const) {
    it(`errors as ${shape}: sync judges by v1 and uploads nothing again`, async () => {
      world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      assert.equal((await runCli(['push', '--lineage', lineage], world.env)).code, 0);
      world.fake.inject({ endpoint: 'certificates', times: Infinity, fault });
      const sync = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
      assert.equal(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, /Imperva's v3 API answered HTTP 200 with error 500/);
      assert.match(sync.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
      assert.equal(world.fake.uploads().length, 1, 'the certificate Imperva holds is not sent again');
    });
  }
});
