/**
 * One site, one certificate per key type, covering every name: a map that sends names on two lineages (or on an RSA
 * and an ECDSA lineage) to one site makes each upload replace the other at Imperva. check, status and sync say so
 * in one line with the fix and exit 1; deploy, push and sync do not upload there, fail the site and queue it; push
 * --force uploads anyway. Through the built CLI against the fake API on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { AuthType } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { wireHost } from '../support/wired-host.js';
import { createPki, issueLeaf, writeCertbotLineage, type LeafKeyType, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let pki: Pki;
before(async () => {
  pki = await createPki();
});

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});
after(() => world?.close());

const A = '101';
const B = '202';
/** The same map in both forms the config takes: a name → a site id, and a name → a list of site ids. */
const MAPS: [string, Record<string, unknown>][] = [
  ['a name → a site id', { 'a.example': 101, 'www.a.example': '101', 'b.example': 202 }],
  ['a name → a list of site ids', { 'a.example': [101], 'www.a.example': ['101'], 'b.example': [202] }],
];

async function newWorld(map: Record<string, unknown>) {
  world = await createWorld({ sites: { [A]: 'a.example', [B]: 'b.example' }, map });
  const le = join(world.dir, 'le');
  return { w: world, le, live: join(le, 'live') };
}

async function lineage(le: string, name: string, names: string[], keyType: LeafKeyType = 'ec') {
  const leaf = await issueLeaf(pki, { names, keyType });
  return { dir: writeCertbotLineage(le, name, leaf), leaf };
}

function uploadsTo(w: World, siteId: string, authType?: AuthType) {
  return w.fake
    .uploads()
    .filter((u) => u.siteId === siteId && (authType === undefined || u.form.auth_type === authType));
}

interface QueueEntry {
  siteId: string;
  authType: string;
  state: string;
  lastError: string;
}
function queueOf(w: World): QueueEntry[] {
  return (JSON.parse(readFileSync(w.queueFile, 'utf8')) as { entries: QueueEntry[] }).entries;
}

function errorLines(stderr: string, siteId: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith(`error: site ${siteId} (`));
}

const TWO_LINEAGES = new RegExp(
  String.raw`^error: site 101 \(a\.example, www\.a\.example\): no ECDSA certificate on this host covers all of its names, ` +
    String.raw`and Imperva keeps one per site and key type \(\S+/live/a\.example has a\.example; \S+/live/www\.a\.example has www\.a\.example\); ` +
    String.raw`fix: certbot certonly --cert-name a\.example -d a\.example -d www\.a\.example --expand, ` +
    String.raw`or point sites\["www\.a\.example"\] at another site$`,
);

for (const [form, map] of MAPS) {
  describe(`two lineages mapped to one site (${form})`, () => {
    it('sync: one line naming the site, the names and both lineages; no upload there, queued; the others uploaded', async () => {
      const { w, le, live } = await newWorld(map);
      await lineage(le, 'a.example', ['a.example']);
      await lineage(le, 'www.a.example', ['www.a.example']);
      await lineage(le, 'b.example', ['b.example']);
      const result = await runCli(['sync', '--live-dir', live], w.env);
      assert.equal(result.code, 1, result.stderr);
      const lines = errorLines(result.stderr, A);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', TWO_LINEAGES);
      assert.equal(uploadsTo(w, A).length, 0);
      assert.equal(uploadsTo(w, B).length, 1);
      const [entry, ...more] = queueOf(w);
      assert.deepEqual(more, []);
      assert.equal(entry?.siteId, A);
      assert.equal(entry.authType, 'ECC');
      assert.equal(entry.state, 'failed');
      assert.match(entry.lastError, /no ECDSA certificate on this host covers all of its names/);

      // The next sync retries it: once the lineage covers both names, the site gets it.
      await lineage(le, 'a.example', ['a.example', 'www.a.example']);
      const fixed = await runCli(['sync', '--live-dir', live], w.env);
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.equal(uploadsTo(w, A).length, 1);
      assert.deepEqual(queueOf(w), []);
    });

    it('check and status: the same one line, exit 1', async () => {
      const { w, le, live } = await newWorld(map);
      await lineage(le, 'a.example', ['a.example']);
      await lineage(le, 'www.a.example', ['www.a.example']);
      for (const command of ['check', 'status']) {
        const result = await runCli([command, '--live-dir', live], w.env);
        assert.equal(result.code, 1, `${command}: ${result.stderr}`);
        const lines = errorLines(result.stderr, A);
        assert.equal(lines.length, 1, `${command}: ${result.stderr}`);
        assert.match(lines[0] ?? '', TWO_LINEAGES);
      }
      assert.equal(w.fake.uploads().length, 0);
    });

    it('deploy: the lineage that lacks a name is not uploaded to that site (exit 1, queued), but to the covered one', async () => {
      const { w, le } = await newWorld(map);
      const { dir } = await lineage(le, 'a.example', ['a.example', 'b.example']);
      const result = await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: dir });
      assert.equal(result.code, 1, result.stderr);
      const lines = errorLines(result.stderr, A);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0] ?? '',
        /^error: site 101 \(a\.example, www\.a\.example\): no ECDSA certificate on this host covers all of its names, and Imperva keeps one per site and key type \(\S+\/live\/a\.example has a\.example, b\.example\); fix: certbot certonly --cert-name a\.example -d a\.example -d b\.example -d www\.a\.example --expand, or point sites\["www\.a\.example"\] at another site$/,
      );
      assert.match(
        result.stdout,
        /^uploaded b\.example → site 202\nqueued 1 failed site in \S+ for the next sync\n$/,
      );
      assert.equal(uploadsTo(w, A).length, 0);
      assert.equal(uploadsTo(w, B).length, 1);
      assert.deepEqual(
        queueOf(w).map((entry) => [entry.siteId, entry.state]),
        [[A, 'failed']],
      );
    });
  });
}

describe('one lineage RSA, the other ECDSA', () => {
  it('sync, check: one line per key type; neither uploaded to the site', async () => {
    const { w, le, live } = await newWorld(MAPS[0]?.[1] ?? {});
    await lineage(le, 'a.example', ['a.example'], 'rsa');
    await lineage(le, 'www.a.example', ['www.a.example'], 'ec');
    for (const command of ['check', 'sync']) {
      const result = await runCli([command, '--live-dir', live], w.env);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      const lines = errorLines(result.stderr, A);
      assert.equal(lines.length, 2, `${command}: ${result.stderr}`);
      assert.ok(
        lines.some((line) =>
          /no RSA certificate .*\(\S+\/live\/a\.example has a\.example\); fix: certbot certonly --cert-name a\.example -d a\.example -d www\.a\.example --expand/.test(
            line,
          ),
        ),
        `${command}: ${result.stderr}`,
      );
      assert.ok(
        lines.some((line) =>
          /no ECDSA certificate .*\(\S+\/live\/www\.a\.example has www\.a\.example\); fix: certbot certonly --cert-name www\.a\.example -d www\.a\.example -d a\.example --expand, or point sites\["a\.example"\] at another site$/.test(
            line,
          ),
        ),
        `${command}: ${result.stderr}`,
      );
    }
    assert.equal(uploadsTo(w, A).length, 0);
    assert.deepEqual(
      queueOf(w)
        .map((entry) => `${entry.siteId} ${entry.authType}`)
        .sort(),
      [`${A} ECC`, `${A} RSA`],
    );
  });
});

describe('wildcards match as TLS does: one label', () => {
  it('a wildcard on the certificate covers www.a.example: uploaded, exit 0', async () => {
    const { w, le, live } = await newWorld({ 'a.example': 101, 'www.a.example': 101 });
    await lineage(le, 'a.example', ['a.example', '*.a.example']);
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(uploadsTo(w, A).length, 1);
    // On a host wired as install leaves it, nothing else is left to say.
    const check = await runCli(['check', '--live-dir', live], wireHost(live, w.env).env);
    assert.equal(check.code, 0, check.stderr);
  });

  it('it covers neither the bare name nor two labels down: not uploaded, exit 1', async () => {
    const { w, le, live } = await newWorld({
      '*.a.example': 101,
      'x.y.a.example': 101,
      'a.example': 101,
      'b.example': 202,
    });
    await lineage(le, 'wild.a.example', ['*.a.example', 'b.example']);
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 1, result.stderr);
    const lines = errorLines(result.stderr, A);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? '',
      /^error: site 101 \(\*\.a\.example, x\.y\.a\.example, a\.example\): .*fix: certbot certonly --cert-name wild\.a\.example -d \*\.a\.example -d b\.example -d x\.y\.a\.example -d a\.example --expand, or point sites\["x\.y\.a\.example"\], sites\["a\.example"\] at another site$/,
    );
    assert.equal(uploadsTo(w, A).length, 0);
    assert.equal(uploadsTo(w, B).length, 1);
  });
});

describe('push', () => {
  it('refuses the site the certificate does not cover (exit 1, queued); --force uploads anyway', async () => {
    const { w, le } = await newWorld(MAPS[1]?.[1] ?? {});
    const { dir, leaf } = await lineage(le, 'a.example', ['a.example']);
    const refused = await runCli(['push', '--lineage', dir], w.env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(errorLines(refused.stderr, A).length, 1, refused.stderr);
    assert.equal(w.fake.uploads().length, 0);
    assert.deepEqual(
      queueOf(w).map((entry) => entry.siteId),
      [A],
    );

    const forced = await runCli(['push', '--lineage', dir, '--force'], w.env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, 'uploaded a.example → site 101\n');
    assert.equal(uploadsTo(w, A).length, 1);
    assert.equal(w.fake.serving(A, 'ECC')?.fingerprint, leaf.fingerprint);
    assert.deepEqual(queueOf(w), []);
  });
});

describe("the site's own name at Imperva", () => {
  it('is compared where an answer already read says it (sites/status domain, v3 siteName)', async () => {
    // Only www.a.example is mapped, but Imperva calls the site a.example: browsers asking for it get this certificate.
    const { w, le, live } = await newWorld({ 'www.a.example': 101 });
    const { dir } = await lineage(le, 'www.a.example', ['www.a.example']);
    const check = await runCli(['check', '--live-dir', live], w.env);
    assert.equal(check.code, 1, check.stderr);
    const lines = errorLines(check.stderr, A);
    assert.equal(lines.length, 1, check.stderr);
    assert.match(
      lines[0] ?? '',
      /^error: site 101 \(www\.a\.example, a\.example\): no ECDSA certificate .*fix: certbot certonly --cert-name www\.a\.example -d www\.a\.example -d a\.example --expand$/,
    );

    // After a push --force, the v3 listing names the site: sync does not upload to it again, and says why.
    assert.equal((await runCli(['push', '--lineage', dir, '--force'], w.env)).code, 0);
    const requests = w.fake.requests.length;
    const sync = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(sync.code, 1, sync.stderr);
    assert.equal(errorLines(sync.stderr, A).length, 1, sync.stderr);
    assert.match(errorLines(sync.stderr, A)[0] ?? '', /^error: site 101 \(www\.a\.example, a\.example\)/);
    assert.equal(uploadsTo(w, A).length, 1);
    // No request per site beyond what sync asks anyway (the account's listing, the key's proof and record).
    const accountWide = new Set(['certificates', 'verify', 'api-clients']);
    assert.equal(w.fake.requests.slice(requests).filter((r) => !accountWide.has(r.endpoint)).length, 0);
  });
});
