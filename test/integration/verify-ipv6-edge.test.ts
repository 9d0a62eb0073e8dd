/**
 * An IPv6 edge address (`edgeAddress: "[::1]:PORT"`, as the README documents) was shown as `::1:PORT` in
 * verify's lines and --json, which reads as another address. It must be `[::1]:PORT`, as the probe's own error says.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'], keyType: 'ec' });
});
let world: World | undefined;
after(() => world?.close());

describe('verify with an IPv6 edge address', () => {
  it('names the edge as [::1]:PORT in the line and in --json', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', leaf);
    const env = { ...world.env, INCAP_CERT_EDGE: '[::1]:1' };
    const result = await runCli(['verify', '--json', '--live-dir', join(le, 'live')], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ECDSA: unreachable: .* \[\[::1\]:1 SNI example\.com\]$/m);
    const doc = JSON.parse(result.stdout) as { edges: { edge: string }[] };
    assert.equal(doc.edges[0]?.edge, '[::1]:1 SNI example.com');
  });
});
