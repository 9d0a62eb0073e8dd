/**
 * Imperva's flags in every shape a JSON answer can give them. Only `true` is documented, but Imperva's own CLI tests
 * the field as Python truth and `res` already arrives as text: a flag of "true", 1 or a list of the names at fault
 * must fail the site as `true` does, on the upload's answer and in the listings, never pass as "not flagged".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, before, describe, it } from 'node:test';
import { createEdgeWorld, type EdgeWorld } from '../support/edge-world.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';

const SITE = '1234567';
let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let made: EdgeWorld | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

const queuedSites = (m: EdgeWorld): string[] =>
  (JSON.parse(readFileSync(m.w.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
    (entry) => entry.siteId,
  );

const shapes: [Record<string, unknown>, RegExp][] = [
  [{ coverageError: ['www.example.com'] }, /\(coverageError\)/],
  [{ coverageError: 'true' }, /\(coverageError\)/],
  [{ hostnameMismatchError: 1 }, /\(coverageError\)/],
  [{ chainError: 'true' }, /\(chainError\)/],
  [{ chainError: ['no intermediate'] }, /\(chainError\)/],
];

describe('a flag on a successful upload fails the site whatever its JSON shape', () => {
  for (const [details, named] of shapes) {
    it(`${JSON.stringify(details)}: exit 1, named, queued`, async () => {
      made = await createEdgeWorld(SITE);
      made.w.fake.inject({
        endpoint: 'upload',
        fault: {
          contentType: 'application/json',
          body: JSON.stringify({ res: 0, res_message: 'OK', debug_info: { details } }),
        },
      });
      const lineage = writeCertbotLineage(made.le, 'example.com', leaf);
      const result = await runCli(['push', '--lineage', lineage], made.env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: site 1234567 \(example\.com\): upload failed: Imperva stored the certificate but flags it: /m,
      );
      assert.match(result.stderr, named);
      assert.equal(made.w.fake.uploads().length, 1);
      assert.deepEqual(queuedSites(made), [SITE]);
    });
  }
  it('{"coverageError": false, "chainError": "false", "hostnameMismatchError": []}: not flagged, exit 0', async () => {
    made = await createEdgeWorld(SITE);
    made.w.fake.inject({
      endpoint: 'upload',
      fault: {
        contentType: 'application/json',
        body: JSON.stringify({
          res: 0,
          res_message: 'OK',
          debug_info: { details: { coverageError: false, chainError: 'false', hostnameMismatchError: [] } },
        }),
      },
    });
    const lineage = writeCertbotLineage(made.le, 'example.com', leaf);
    const result = await runCli(['push', '--lineage', lineage], made.env);
    assert.equal(result.code, 0, result.stderr);
  });
});

describe('a site the listings flag with a non-boolean value is never current', () => {
  for (const [listing, value] of [
    ['v3 hasMismatchSite', 'true'],
    ['v1 sites/status hostnameMismatchError, v3 closed', 1],
  ] as const) {
    it(`${listing} = ${JSON.stringify(value)}: sync fails it without uploading again`, async () => {
      made = await createEdgeWorld(SITE);
      if (listing.includes('v3 closed')) made.w.fake.v3 = 403;
      writeCertbotLineage(made.le, 'example.com', leaf);
      assert.equal((await runCli(['sync', '--live-dir', made.live], made.env)).code, 0);
      made.w.fake.mismatched.add(SITE);
      made.w.fake.mismatchValue = value;
      const result = await runCli(['sync', '--live-dir', made.live], made.env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^error: site 1234567 \(example\.com\): .*flags it: .*coverageError/m);
      assert.equal(made.w.fake.acceptedUploads().length, 1, 'the same certificate is not sent again');
    });
  }
});
