/**
 * The metrics file says what is true now: an upload replaces the Imperva and edge samples that showed the
 * certificate it replaced, a pruned key type loses its samples, and a site that left the map loses all of its own.
 * Through the built CLI against the fake API and the fake edge, all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli, writeConfig, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
const SITE = '1234567';
const OTHER = '7654321';

let pki: Pki;
let old: Leaf;
let renewed: Leaf;
let newest: Leaf;
let www: Leaf;
let oldRsa: Leaf;
before(async () => {
  pki = await createPki();
  const lifetime = (days: number) => ({
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
  });
  [old, renewed, newest, www, oldRsa] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec', ...lifetime(20) }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec', ...lifetime(80) }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec', ...lifetime(89) }),
    issueLeaf(pki, { names: ['www.example.com'], keyType: 'ec', ...lifetime(60) }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa', ...lifetime(15) }),
  ]);
});

let world: World | undefined;
let edge: FakeEdge | undefined;
afterEach(async () => {
  await edge?.close();
  edge = undefined;
  await world?.close();
  world = undefined;
});
after(() => world?.close());

interface Setup {
  w: World;
  le: string;
  live: string;
  file: string;
  env: Record<string, string>;
  run: (args: string[], env?: Record<string, string>) => Promise<CliResult>;
}

async function setup(map: Record<string, unknown>, config: Record<string, unknown> = {}): Promise<Setup> {
  const w = await createWorld({
    sites: { [SITE]: 'example.com', [OTHER]: 'www.example.com' },
    map,
    config,
  });
  world = w;
  edge = await FakeEdge.start({ imperva: w.fake });
  const le = join(w.dir, 'le');
  const live = join(le, 'live');
  const file = join(w.dir, 'metrics', 'incap-cert.prom');
  const env = { ...w.env, INCAP_CERT_EDGE: edge.address };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(
      [
        ...args,
        '--metrics-file',
        file,
        ...(args[0] === 'deploy' || args[0] === 'push' ? [] : ['--live-dir', live]),
      ],
      {
        ...env,
        ...extra,
      },
    );
  return { w, le, live, file, env, run };
}

/** The file's expiry samples, `site/keyType/source` → notAfter in seconds. */
function expiries(file: string): Record<string, number> {
  const samples: Record<string, number> = {};
  for (const match of readFileSync(file, 'utf8').matchAll(
    /^incap_cert_certificate_expiry_timestamp_seconds\{site_id="(\d+)",key_type="(\w+)",source="(\w+)"\} (\d+)$/gm,
  )) {
    samples[`${match[1]}/${match[2]}/${match[3]}`] = Number(match[4]);
  }
  return samples;
}

const seconds = (leaf: Leaf) => leaf.notAfter.getTime() / 1000;

/** deploy of the old certificate, then status --live: every source shows it. */
async function seeOld(s: Setup): Promise<string> {
  const lineage = writeCertbotLineage(s.le, 'example.com', old);
  const deployed = await s.run(['deploy'], { RENEWED_LINEAGE: lineage });
  assert.equal(deployed.code, 0, deployed.stderr);
  const status = await s.run(['status', '--live']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(expiries(s.file), {
    [`${SITE}/ECC/local`]: seconds(old),
    [`${SITE}/ECC/imperva`]: seconds(old),
    [`${SITE}/ECC/edge`]: seconds(old),
  });
  return lineage;
}

describe('an upload replaces the samples that showed the certificate it replaced', () => {
  it('sync uploads a renewal: Imperva shows it, the edge sample of the old one goes', async () => {
    const s = await setup({ 'example.com': Number(SITE) });
    await seeOld(s);
    // Certbot renewed, but the hook did not run (or failed before its metrics): the daily sync delivers it.
    writeCertbotLineage(s.le, 'example.com', renewed, 2);
    const synced = await s.run(['sync']);
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(s.w.fake.serving(SITE, 'ECC')?.fingerprint, renewed.fingerprint);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(renewed),
      [`${SITE}/ECC/imperva`]: seconds(renewed),
    });
    // A second sync finds it current: Imperva's answer is what it holds, and nothing else changes.
    const again = await s.run(['sync']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(renewed),
      [`${SITE}/ECC/imperva`]: seconds(renewed),
    });
  });

  it('sync --verify: the edge sample is what the edge served after the upload', async () => {
    const s = await setup({ 'example.com': Number(SITE) });
    await seeOld(s);
    writeCertbotLineage(s.le, 'example.com', newest, 2);
    const synced = await s.run(['sync', '--verify']);
    assert.equal(synced.code, 0, synced.stderr);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(newest),
      [`${SITE}/ECC/imperva`]: seconds(newest),
      [`${SITE}/ECC/edge`]: seconds(newest),
    });
  });

  it('the hook and push upload too: the same samples are replaced', async () => {
    const s = await setup({ 'example.com': Number(SITE) });
    const lineage = await seeOld(s);
    writeCertbotLineage(s.le, 'example.com', renewed, 2);
    const deployed = await s.run(['deploy'], { RENEWED_LINEAGE: lineage });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(renewed),
      [`${SITE}/ECC/imperva`]: seconds(renewed),
    });
    const status = await s.run(['status', '--live']);
    assert.equal(status.code, 0, status.stderr);
    writeCertbotLineage(s.le, 'example.com', newest, 3);
    const pushed = await s.run(['push', '--lineage', join(s.live, 'example.com')]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(newest),
      [`${SITE}/ECC/imperva`]: seconds(newest),
    });
  });

  it('a failed upload changes nothing: Imperva and the edge still serve the old certificate', async () => {
    const s = await setup({ 'example.com': Number(SITE) });
    await seeOld(s);
    writeCertbotLineage(s.le, 'example.com', renewed, 2);
    s.w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 500 } });
    const synced = await s.run(['sync']);
    assert.equal(synced.code, 1, synced.stderr);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(old),
      [`${SITE}/ECC/imperva`]: seconds(old),
      [`${SITE}/ECC/edge`]: seconds(old),
    });
  });

  it('a key type sync prunes loses its samples', async () => {
    const s = await setup({ 'example.com': Number(SITE) }, { pruneOtherKeyType: true });
    // The host deployed RSA, and status saw it everywhere...
    const lineage = writeCertbotLineage(s.le, 'example.com', oldRsa);
    assert.equal((await s.run(['deploy'], { RENEWED_LINEAGE: lineage })).code, 0);
    assert.equal((await s.run(['status', '--live'])).code, 0);
    assert.equal(expiries(s.file)[`${SITE}/RSA/edge`], seconds(oldRsa));
    // ...then the lineage was renewed as ECC; sync delivers it and removes the RSA certificate.
    writeCertbotLineage(s.le, 'example.com', renewed, 2);
    const synced = await s.run(['sync', '--verify']);
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(s.w.fake.serving(SITE, 'RSA'), undefined);
    assert.deepEqual(expiries(s.file), {
      [`${SITE}/ECC/local`]: seconds(renewed),
      [`${SITE}/ECC/imperva`]: seconds(renewed),
      [`${SITE}/ECC/edge`]: seconds(renewed),
    });
  });
});

describe('a site that left the map loses its samples', () => {
  for (const command of ['status', 'sync', 'verify', 'deploy', 'push']) {
    it(`in the next ${command} run`, async () => {
      const s = await setup({ 'example.com': Number(SITE), 'www.example.com': Number(OTHER) });
      const lineage = writeCertbotLineage(s.le, 'example.com', old);
      writeCertbotLineage(s.le, 'www.example.com', www);
      assert.equal((await s.run(['sync', '--verify'])).code, 0);
      assert.equal(expiries(s.file)[`${OTHER}/ECC/edge`], seconds(www));
      // The operator takes www.example.com out of the map (its lineage may stay on disk).
      const config = JSON.parse(readFileSync(s.w.configFile, 'utf8')) as Record<string, unknown>;
      writeConfig(s.w.dir, { ...config, sites: { 'example.com': Number(SITE) } });
      const args: Record<string, string[]> = {
        status: ['status', '--live'],
        sync: ['sync'],
        verify: ['verify'],
        deploy: ['deploy'],
        push: ['push', '--lineage', join(s.live, 'example.com')],
      };
      const result = await s.run(args[command] ?? [], { RENEWED_LINEAGE: lineage });
      assert.ok(result.code === 0 || result.code === 1, result.stderr);
      const samples = expiries(s.file);
      assert.deepEqual(
        Object.keys(samples).filter((key) => key.startsWith(`${OTHER}/`)),
        [],
        `${command} left the samples of a site no longer mapped`,
      );
      assert.equal(samples[`${SITE}/ECC/local`], seconds(old));
      assert.match(
        readFileSync(s.file, 'utf8'),
        new RegExp(`^incap_cert_last_run_timestamp_seconds\\{command="${command}"\\} `, 'm'),
      );
    });
  }

  it('a run that writes no metrics (a dry run) leaves them until one that does', async () => {
    const s = await setup({ 'example.com': Number(SITE), 'www.example.com': Number(OTHER) });
    writeCertbotLineage(s.le, 'example.com', old);
    writeCertbotLineage(s.le, 'www.example.com', www);
    assert.equal((await s.run(['sync'])).code, 0);
    const before = readFileSync(s.file, 'utf8');
    const config = JSON.parse(readFileSync(s.w.configFile, 'utf8')) as Record<string, unknown>;
    writeConfig(s.w.dir, { ...config, sites: { 'example.com': Number(SITE) } });
    assert.equal((await s.run(['sync', '--dry-run'])).code, 0);
    assert.equal(readFileSync(s.file, 'utf8'), before);
    writeFileSync(s.file, before);
    assert.equal((await s.run(['status'])).code, 0);
    assert.doesNotMatch(readFileSync(s.file, 'utf8'), new RegExp(`site_id="${OTHER}"`));
  });
});
