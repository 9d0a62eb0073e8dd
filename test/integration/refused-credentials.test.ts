/**
 * Refused credentials outside deploy, push, sync and check. `status` printed a table of "error" on stdout
 * and nothing on stderr (exit 1: cron mail says nothing); `remove` named no key source. Each must print one error
 * line on stderr that names where the key came from, after one request.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertNoSecrets, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
const names = Array.from({ length: 20 }, (_, index) => `s${index}.example.com`);
before(async () => {
  leaf = await issueLeaf(await createPki(), { names, keyType: 'ec' });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

async function setup() {
  world = await createWorld({
    sites: Object.fromEntries(names.map((name, index) => [String(1000 + index), name])),
    map: Object.fromEntries(names.map((name, index) => [name, 1000 + index])),
  });
  const le = join(world.dir, 'le');
  writeCertbotLineage(le, 'many', leaf);
  return { live: join(le, 'live'), world };
}

const refused = /^error: Imperva refused the API credentials: .*; the key comes from /;

describe('refused credentials: one error line naming the key source', () => {
  for (const [label, env] of [
    ['a wrong key from IMPERVA_API_KEY', { IMPERVA_API_KEY: 'wrong-key-0123456789abcdef' }],
    ['a disabled key from the config file', {}],
  ] as const) {
    it(`status, ${label}`, async () => {
      const { live, world } = await setup();
      if (Object.keys(env).length === 0) world.fake.disabledKey = true;
      const result = await runCli(['status', '--live-dir', live], { ...world.env, ...env });
      assert.equal(result.code, 1);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.filter((line) => refused.test(line)).length, 1, result.stderr);
      assert.match(
        result.stderr,
        'IMPERVA_API_KEY' in env
          ? /the key comes from IMPERVA_API_KEY/
          : /the key comes from .*config\.json \(api\.key\)/,
      );
      // status proves the key first (v1 account/verify, conclusive); nothing after.
      assert.deepEqual(
        world.fake.requests.map((request) => request.endpoint),
        ['verify'],
        'nothing sent after the refusal',
      );
      assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, [world.apiKey]);
    });
  }

  it('status --json: the same line on stderr, and the document on stdout', async () => {
    const { live, world } = await setup();
    world.fake.disabledKey = true;
    const result = await runCli(['status', '--json', '--live-dir', live], world.env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, refused);
    assert.equal((JSON.parse(result.stdout) as { ok: boolean }).ok, false);
  });

  it('remove: names the key source, sends no removal', async () => {
    const { world } = await setup();
    // A live folder that can be read (this host deploys nothing): remove refuses while it cannot tell.
    const empty = join(world.dir, 'empty');
    mkdirSync(empty);
    const args = ['remove', '--site-id', '1000', '--auth-type', 'RSA', '--json', '--live-dir', empty];
    const result = await runCli(args, {
      ...world.env,
      IMPERVA_API_KEY: 'wrong-key-0123456789abcdef',
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: Imperva refused the API credentials: .*; the key comes from IMPERVA_API_KEY\n$/,
    );
    const doc = JSON.parse(result.stdout) as { error: { message: string } };
    assert.match(doc.error.message, /the key comes from IMPERVA_API_KEY/);
    assert.equal(world.fake.requestsTo('remove').length, 0);
  });
});
