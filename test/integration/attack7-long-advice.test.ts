/**
 * The canary's record writes only what its reader accepts, but its reader took advice of at most 500 characters,
 * and the advice for a token the edge does not find names the lineage's web root, a path (up to 4096). A lineage
 * whose web root is deep was never kept: status lost its verdict, and the once-per-turn onFailure rule its memory.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { FakeHttpEdge } from '../support/fake-edge.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'], keyType: 'ec' });
});
let world: World | undefined;
let edge: FakeHttpEdge | undefined;
afterEach(async () => {
  await edge?.close();
  await world?.close();
  edge = undefined;
  world = undefined;
});

describe('canary: a web root deeper than the advice field held', () => {
  it('not-found: the verdict is kept in renewal-paths.json, its advice naming the whole web root', async () => {
    world = await createWorld();
    const le = join(world.dir, 'le');
    // The web root Certbot writes to; the edge serves another folder, so the token is not found.
    const webroot = join(
      world.dir,
      ...Array.from({ length: 12 }, (_, index) => `${'web-root-folder'.repeat(3)}-${index}`),
    );
    mkdirSync(webroot, { recursive: true, mode: 0o755 });
    assert.ok(webroot.length > 500, `${webroot.length} characters`);
    const served = join(world.dir, 'served');
    mkdirSync(served, { mode: 0o755 });
    writeCertbotLineage(le, 'example.com', leaf);
    mkdirSync(join(le, 'renewal'), { recursive: true, mode: 0o755 });
    writeFileSync(
      join(le, 'renewal', 'example.com.conf'),
      `version = 5.1.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = ${webroot},\n[[webroot_map]]\n`,
      { mode: 0o644 },
    );
    edge = await FakeHttpEdge.start({ webroot: () => served, modes: {} });
    const env = { ...world.env, INCAP_CERT_EDGE_HTTP: edge.address };
    const result = await runCli(['canary', '--live-dir', join(le, 'live')], env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /example\.com \(lineage example\.com\): not-found/);
    const record = JSON.parse(readFileSync(join(world.stateDir, 'renewal-paths.json'), 'utf8')) as {
      paths: { lineage: string; name: string; verdict: string; advice: string | null }[];
    };
    const kept = record.paths.find((path) => path.name === 'example.com');
    assert.equal(kept?.verdict, 'not-found', JSON.stringify(record));
    assert.ok(kept?.advice?.includes(webroot), kept?.advice ?? 'no advice');
  });
});
