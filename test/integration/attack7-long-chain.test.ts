/**
 * A fullchain with a CA bundle appended (`cat cert.pem chain.pem /etc/ssl/certs/ca-certificates.crt`, an operator's
 * mistake seen in the wild) holds the leaf and its issuer and is uploaded; the delivery record then held a chain
 * length its own reader refuses (more than 20), so the whole record was set aside on the next run, and on every
 * run after: the pending grace, the flags of this host's uploads and the key-type-switch leftovers were lost.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const DAY = 86_400_000;
const SITE = '1234567';
const ROOTS = 30;
let leaf: Leaf;
let bundle = '';
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  for (let index = 0; index < ROOTS; index += 1) {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=bundled root ${index}`,
      keys,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 3650 * DAY),
      signingAlgorithm: algorithm,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    bundle += root.toString('pem') + '\n';
  }
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a fullchain with a CA bundle appended', () => {
  it('is uploaded, its delivery kept, and the record is read back on the next run', async () => {
    world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', { ...leaf, fullchainPem: leaf.fullchainPem + bundle });
    const live = join(le, 'live');
    const first = await runCli(['sync', '--live-dir', live], world.env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(world.fake.serving(SITE)?.fingerprint, leaf.fingerprint);
    const second = await runCli(['sync', '--live-dir', live], world.env);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /delivery record/);
    assert.deepEqual(
      readdirSync(world.stateDir).filter((name) => name.includes('rejected')),
      [],
    );
    const record = JSON.parse(readFileSync(join(world.stateDir, 'delivered.json'), 'utf8')) as {
      deliveries: { siteId: string; chainLength: number }[];
    };
    assert.deepEqual(
      record.deliveries.map((one) => [one.siteId, one.chainLength]),
      [[SITE, ROOTS + 2]],
    );
  });
});
