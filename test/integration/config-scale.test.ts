/**
 * The config's site map at Imperva's scale: one wildcard listing thousands of site ids is read in time linear in
 * them. Without a clock: a probe preloaded into the built CLI counts the elements Array search methods visit (as in
 * sites-linear-cost.test.ts); twice the ids must cost about twice the visits, never four times.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newApiKey, runProbed, tempDir, writeConfig } from '../support/harness.js';
import { VISIT_PROBE } from '../support/visit-probe.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';

describe('a site map with thousands of ids under one name', () => {
  it('is read in time linear in the ids (a mapped dry run, 1,500 then 3,000 ids)', async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['*.example.com'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
    const visits = async (count: number) => {
      const ids = Array.from({ length: count }, (_, index) => 100001 + index);
      // Each id twice: the map keeps one of each.
      const config = writeConfig(tempDir(), {
        api: { id: '12345', key: newApiKey(), baseUrl: 'https://my.imperva.com' },
        sites: { '*.example.com': [...ids, ...ids] },
        stateDir: join(dir, 'state'),
      });
      const result = await runProbed(VISIT_PROBE, ['deploy', '--dry-run'], {
        INCAP_CERT_CONFIG: config,
        RENEWED_LINEAGE: lineage,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout.split('\n').filter((line) => line.startsWith('dry run: would upload')).length,
        count,
      );
      return Number(result.probed);
    };
    const small = await visits(1500);
    const large = await visits(3000);
    assert.ok(
      large / small < 2.5,
      `twice the ids cost ${(large / small).toFixed(2)}x the visits (${small} → ${large})`,
    );
  });
});
