/**
 * What is current is judged where it can be seen (issue "Imperva as it really answers"): a certificate file that
 * holds only the leaf, with no issuer file beside it, is refused for every upload (deploy, push, sync), exit 3,
 * naming the file and fullchain.pem, nothing sent; `push --force` uploads it, and Imperva's chainError flag on that
 * upload is the site's failure (exit 1). Through the built CLI against the fake API.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeLego } from '../support/client-layouts.js';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf, type Pki } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

let pki: Pki;
let leaf: Leaf;
let stranger: Leaf;
before(async () => {
  pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'] });
  // Another PKI's leaf: its chain.pem is no issuer of `leaf`.
  stranger = await issueLeaf(await createPki(), { names: ['example.com'] });
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

const SITE = '1234567';
async function newWorld(): Promise<World> {
  world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  return world;
}

/** A leaf and its key in a folder of their own, with nothing beside them. */
function leafAlone(w: World, name = 'alone'): { cert: string; key: string } {
  const dir = join(w.dir, name);
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'privkey.pem');
  writeFileSync(cert, leaf.certPem);
  writeFileSync(key, leaf.keyPem, { mode: 0o600 });
  return { cert, key };
}

function refusal(file: string): RegExp {
  return new RegExp(
    `certificate ${file.replaceAll('.', '\\.')} holds only the leaf, and no issuer file is beside it ` +
      '\\(chain\\.pem, NAME\\.issuer\\.crt or ca\\.cer\\): Imperva needs the full chain; upload fullchain\\.pem instead',
  );
}

describe('a leaf without its chain', () => {
  it('push: exit 3, one line naming the file and fullchain.pem, nothing sent', async () => {
    const w = await newWorld();
    const { cert, key } = leafAlone(w);
    const result = await runCli(['push', '--cert', cert, '--key', key], w.env);
    assert.equal(result.code, 3);
    assertOneLineError(result.stderr, new RegExp(`^error: ${refusal(cert).source}`));
    assert.equal(w.fake.uploads().length, 0);
  });

  it('push: a chain.pem beside it that did not issue it completes nothing: refused', async () => {
    const w = await newWorld();
    const { cert, key } = leafAlone(w);
    writeFileSync(join(w.dir, 'alone', 'chain.pem'), stranger.chainPem);
    const result = await runCli(['push', '--cert', cert, '--key', key], w.env);
    assert.equal(result.code, 3);
    assert.match(result.stderr, refusal(cert));
    assert.equal(w.fake.uploads().length, 0);
  });

  it('push --force uploads it; Imperva flags the chain, and that is the site failing (exit 1)', async () => {
    const w = await newWorld();
    const { cert, key } = leafAlone(w);
    const result = await runCli(['push', '--cert', cert, '--key', key, '--force'], w.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: certificate .*cert\.pem holds only the leaf; uploading it without its chain \(--force\)$/m,
    );
    assert.match(result.stderr, /^error: site 1234567 \(example\.com\): upload failed: .*chainError/m);
    assert.deepEqual(
      w.fake.uploads().map((upload) => [upload.siteId, upload.form.auth_type, upload.form.input_hash]),
      [[SITE, 'ECC', leaf.fingerprint]],
    );
    assert.equal(w.fake.serving(SITE)?.chainLength, 1);
  });

  it("deploy (acme.sh's hand-off of a leaf-only file): exit 3, nothing sent", async () => {
    const w = await newWorld();
    const { cert, key } = leafAlone(w);
    const result = await runCli(['deploy'], { ...w.env, CERT_FULLCHAIN_PATH: cert, CERT_KEY_PATH: key });
    assert.equal(result.code, 3);
    assertOneLineError(result.stderr, new RegExp(`^error: ${refusal(cert).source}`));
    assert.equal(w.fake.uploads().length, 0);
  });

  it('deploy (lego --no-bundle without LEGO_ISSUER_CERT_PATH): its NAME.issuer.crt beside completes it', async () => {
    const w = await newWorld();
    const files = writeLego(join(w.dir, 'lego'), 'example.com', leaf, false);
    const result = await runCli(['deploy'], {
      ...w.env,
      LEGO_CERT_PATH: files.cert,
      LEGO_CERT_KEY_PATH: files.key,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(w.fake.serving(SITE)?.chainLength, 2);
  });

  it('sync (lego --no-bundle, its issuer file gone): one line each run, exit 3, never uploaded', async () => {
    const w = await newWorld();
    const lego = join(w.dir, 'lego');
    const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
    writeConfig(w.dir, { ...config, sources: { lego: [lego] } });
    const files = writeLego(lego, 'example.com', leaf, false);
    rmSync(files.issuer);
    const live = join(w.dir, 'no-certbot');
    mkdirSync(live);
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--live-dir', live], w.env);
      assert.equal(result.code, 3, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0] ?? '',
        new RegExp(`^error: site 1234567 \\(example\\.com\\): ${refusal(files.cert).source}`),
      );
    }
    assert.equal(w.fake.uploads().length, 0);
  });
});
