import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, runProbed } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
after(() => world?.close());

/**
 * Preloaded into the built CLI: counts what loads data a run never uses — ICU's list formats and segmenter
 * (@sindresorhus/is, string-width: made lazily by scripts/build.mjs) and a TLS socket (http2-wrapper: left out).
 */
const PROBE = `
const tls = require('node:tls');
const { writeFileSync } = require('node:fs');
const made = { ListFormat: 0, Segmenter: 0, TLSSocket: 0 };
for (const name of ['ListFormat', 'Segmenter']) {
  const Real = Intl[name];
  Intl[name] = class extends Real { constructor(...args) { super(...args); made[name] += 1; } };
}
const RealSocket = tls.TLSSocket;
tls.TLSSocket = class extends RealSocket { constructor(...args) { super(...args); made.TLSSocket += 1; } };
process.on('exit', () => writeFileSync(process.env.PROBE_OUT, JSON.stringify(made)));
`;

describe('what a run loads', () => {
  it('makes no ICU list format or segmenter and no TLS socket to push over HTTP', async () => {
    world = await createWorld();
    const pki = await createPki();
    const leaf = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const pushed = await runProbed(PROBE, ['push', '--lineage', lineage], world.env);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(world.fake.acceptedUploads().length, 2);
    assert.deepEqual(JSON.parse(pushed.probed), { ListFormat: 0, Segmenter: 0, TLSSocket: 0 });
  });
});

/** Preloaded into the built CLI: the modules node loaded, as JSON, written at exit. */
const MODULES =
  "process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify(process.moduleLoadList)));\n";

describe('a hook run for a certificate mapped to no site', () => {
  it('says its one line for an unmapped lineage; a mapped one is parsed with node:crypto', async () => {
    const own = await createWorld();
    try {
      const pki = await createPki();
      const unmapped = writeCertbotLineage(
        join(own.dir, 'le'),
        'unmapped.example.org',
        await issueLeaf(pki, { names: ['unmapped.example.org', 'www.unmapped.example.org'] }),
      );
      const mapped = writeCertbotLineage(
        join(own.dir, 'le'),
        'example.com',
        await issueLeaf(pki, { names: ['example.com'] }),
      );
      const hook = async (lineage: string, args: string[]) => {
        const result = await runProbed(MODULES, args, { ...own.env, RENEWED_LINEAGE: lineage });
        return { ...result, modules: JSON.parse(result.probed) as string[] };
      };
      const quiet = await hook(unmapped, []);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(
        quiet.stdout,
        'no Imperva site is mapped to unmapped.example.org, www.unmapped.example.org; nothing to upload\n',
      );
      const version = await hook(unmapped, ['--version']);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.equal(version.stdout, `${pkg.version}\n`);
      assert.ok(!version.modules.includes('NativeModule stream'), 'node:stream loaded for --version');
      const dry = await hook(mapped, ['deploy', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^dry run: would upload example\.com \(ECC, sha256 [0-9a-f]{16}…/);
      assert.ok(dry.modules.includes('NativeModule crypto'), 'a mapped lineage is parsed with node:crypto');
      assert.equal(own.fake.acceptedUploads().length, 0);
    } finally {
      await own.close();
    }
  });
});
