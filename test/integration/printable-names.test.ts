/**
 * Every string that reaches a terminal is shown escaped, not only Imperva's answers: a file's name too. A lineage
 * folder named with C0 (ESC), C1 (the one-character CSI U+009B) and bidirectional (U+202E) controls goes through
 * sync's lines, status's table and document, check's lines and verify's lines: each shows the escape (`\x1b`,
 * `\x9b`, `\u202e`), never the character raw and never dropped.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

/** What a terminal must never be handed raw: C0 (but newline and tab), DEL, C1, bidirectional controls. */
// eslint-disable-next-line no-control-regex -- control characters are what is being looked for
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const NAME = 'ex\u001b[31m\u009b2J\u202eample';
const SHOWN = 'ex\\x1b[31m\\x9b2J\\u202eample';

let leaf: Leaf;
let world: World;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
  world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
  writeCertbotLineage(join(world.dir, 'le'), NAME, leaf);
});
after(() => world.close());

describe('a lineage folder named with control characters', () => {
  for (const args of [['sync', '-v'], ['status', '-v'], ['check'], ['verify'], ['status', '--json']]) {
    it(`${args.join(' ')}: shown escaped, not raw, not dropped`, async () => {
      // The edge is a closed local port: verify probes nothing but this host.
      const result = await runCli([...args, '--live-dir', join(world.dir, 'le', 'live')], {
        ...world.env,
        INCAP_CERT_EDGE: '127.0.0.1:9',
      });
      const output = result.stdout + result.stderr;
      assert.doesNotMatch(output, RAW, output);
      if (args.includes('--json')) {
        const doc = JSON.parse(result.stdout) as { sites: { local?: { lineage?: string } }[] };
        assert.ok(doc.sites[0]?.local?.lineage?.endsWith(`/${NAME}`), 'the document keeps the name as it is');
      } else if (args[0] !== 'verify') {
        // verify names sites, not lineages: it has only to show nothing raw.
        assert.ok(output.includes(SHOWN), `the name is shown escaped:\n${output}`);
      }
    });
  }
});
