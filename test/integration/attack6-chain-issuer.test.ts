/**
 * A certificate file that holds the leaf without the certificate that issued it is refused as a leaf alone is
 * (exit 3, nothing sent; push --force uploads it): beside its root only, or beside another PKI's chain, it replaces
 * a good chain at Imperva just the same, and browsers that do not fetch the intermediate themselves fail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf, type Pki } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

let pki: Pki;
let leaf: Leaf;
let stranger: Leaf;
before(async () => {
  pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'] });
  stranger = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const SITE = '1234567';

function written(w: World, text: string): { cert: string; key: string } {
  const dir = join(w.dir, 'files');
  mkdirSync(dir);
  const cert = join(dir, 'fullchain.pem');
  const key = join(dir, 'privkey.pem');
  writeFileSync(cert, text);
  writeFileSync(key, leaf.keyPem, { mode: 0o600 });
  return { cert, key };
}

describe('a leaf without its issuer in the file', () => {
  const files: [string, () => string][] = [
    ['the leaf and its root, the intermediate left out', () => leaf.certPem + pki.rootPem],
    ["the leaf and another PKI's chain", () => leaf.certPem + stranger.chainPem],
  ];
  for (const [what, text] of files) {
    it(`${what}: push exits 3, one line naming the file, nothing sent; --force uploads it`, async () => {
      world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
      const { cert, key } = written(world, text());
      const refused = await runCli(['push', '--cert', cert, '--key', key], world.env);
      assert.equal(refused.code, 3, refused.stderr);
      assertOneLineError(
        refused.stderr,
        new RegExp(
          `^error: certificate ${cert.replaceAll('.', '\\.')} holds the leaf, but not the certificate that issued it .*upload fullchain\\.pem instead`,
        ),
      );
      assert.equal(world.fake.uploads().length, 0);
      const forced = await runCli(['push', '--cert', cert, '--key', key, '--force'], world.env);
      assert.equal(world.fake.uploads().length, 1, forced.stderr);
    });
  }

  it('the full chain in any order is still taken: intermediate first, then the leaf', async () => {
    world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
    const { cert, key } = written(world, leaf.chainPem + leaf.certPem);
    const result = await runCli(['push', '--cert', cert, '--key', key], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.serving(SITE)?.fingerprint, leaf.fingerprint);
    assert.equal(world.fake.serving(SITE)?.chainLength, 2);
  });
});
