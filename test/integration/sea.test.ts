/**
 * The single executable (npm run package): runs with an empty PATH, from a folder with no node_modules, and
 * uploads to the fake Imperva API — what a Certbot host without Node.js gets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCommand, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let binary: string;
let leaf: Leaf;
let world: World;

before(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs')], { cwd: ROOT, stdio: 'ignore' });
  binary = join(tempDir('incap-cert-sea-'), 'incap-cert');
  copyFileSync(join(ROOT, 'dist', `incap-cert-${process.platform}-${process.arch}`), binary);
  execFileSync('chmod', ['755', binary]);
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
  world = await createWorld();
});
after(() => world?.close());

describe('the single executable', () => {
  it('says its version with an empty PATH', async () => {
    const result = await runCommand(binary, ['--version'], { PATH: '' });
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, `${version}\n`, '']);
  });

  it('deploys a Certbot lineage to the fake Imperva API with an empty PATH and no node_modules', async () => {
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCommand(binary, ['deploy'], { ...world.env, RENEWED_LINEAGE: lineage, PATH: '' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      'uploaded example.com → site 1234567\nuploaded www.example.com → site 7654321\n',
    );
    assert.deepEqual(
      world.fake
        .acceptedUploads()
        .map((u) => [u.siteId, u.form.auth_type, u.form.input_hash, u.headers['x-api-key'] === world.apiKey]),
      [
        ['1234567', 'ECC', leaf.fingerprint, true],
        ['7654321', 'ECC', leaf.fingerprint, true],
      ],
    );
  });

  it('answers an unmapped lineage on the fast path', async () => {
    const other = await issueLeaf(await createPki(), { names: ['unmapped.example'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le2'), 'unmapped.example', other);
    const result = await runCommand(binary, [], { ...world.env, RENEWED_LINEAGE: lineage, PATH: '' });
    assert.deepEqual(
      [result.code, result.stdout, result.stderr],
      [0, 'no Imperva site is mapped to unmapped.example; nothing to upload\n', ''],
    );
  });
});
