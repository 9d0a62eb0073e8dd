/**
 * The hook's command lines (`incap-cert`, `deploy`, with `--config FILE` and `--dry-run`), in-process through main:
 * an unmapped lineage is one line and exit 0; a mapped dry run is one line per site, with the warnings a real run
 * would give.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { main } from '../../src/main.js';
import { tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

async function run(argv: string[], env: Record<string, string>) {
  const streams = { stdout: new Capture(), stderr: new Capture() };
  let clients = 0;
  const code = await main(
    argv,
    {
      env,
      now: () => new Date(),
      createClient: () => {
        clients += 1;
        return Promise.reject(new Error('no client'));
      },
    },
    streams,
  );
  return { code, out: streams.stdout.text, err: streams.stderr.text, clients };
}

describe('a hook run for a lineage mapped to no site', () => {
  let env: Record<string, string>;
  before(async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['unmapped.example', 'www.unmapped.example'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'unmapped.example', leaf);
    const config = writeConfig(dir, {
      api: { id: '1', key: 'hook-key-0123456789' },
      sites: { 'other.example': 1 },
      stateDir: join(dir, 'state'),
    });
    env = { RENEWED_LINEAGE: lineage, INCAP_CERT_CONFIG: config };
  });

  for (const argv of [[], ['deploy'], ['deploy', '--config', 'CONFIG'], ['--config=CONFIG']]) {
    it(`${argv.join(' ') || '(no command)'}: one line, exit 0, no client`, async () => {
      const args = argv.map((arg) => arg.replace('CONFIG', env.INCAP_CERT_CONFIG ?? ''));
      const result = await run(args, env);
      assert.equal(result.code, 0, result.err);
      assert.equal(
        result.out,
        'no Imperva site is mapped to unmapped.example, www.unmapped.example; nothing to upload\n',
      );
      assert.equal(result.err, '');
      assert.equal(result.clients, 0);
    });
  }

  it('no hook environment and no command: a usage error, exit 2', async () => {
    const result = await run([], { INCAP_CERT_CONFIG: env.INCAP_CERT_CONFIG ?? '' });
    assert.equal(result.code, 2);
    assert.match(result.err, /^error: no command given \(deploy, push, .*\); see incap-cert --help\n$/);
  });
});

describe('deploy --dry-run for a mapped lineage', () => {
  let env: Record<string, string>;
  before(async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['a.example', 'b.example'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'a.example', leaf);
    const config = writeConfig(dir, {
      api: { id: '1', key: 'hook-key-0123456789' },
      sites: { 'a.example': [1, 2], 'b.example': 3 },
      stateDir: join(dir, 'state'),
    });
    env = { RENEWED_LINEAGE: lineage, INCAP_CERT_CONFIG: config };
  });

  for (const argv of [
    ['deploy', '--dry-run'],
    ['deploy', '--dry-run', '--config', 'CONFIG'],
    ['deploy', '-c', 'CONFIG', '--dry-run'],
  ]) {
    it(argv.join(' '), async () => {
      const args = argv.map((arg) => (arg === 'CONFIG' ? (env.INCAP_CERT_CONFIG ?? '') : arg));
      const result = await run(args, env);
      assert.equal(result.code, 0, result.err);
      assert.equal(result.err, '');
      const lines = result.out.split('\n').filter(Boolean);
      assert.deepEqual(
        lines.map((line) => / → site (\d+)$/.exec(line)?.[1]),
        ['1', '2', '3'],
      );
      for (const line of lines)
        assert.match(line, /^dry run: would upload .* \(ECDSA, sha256 [0-9a-f]{16}…, expires /);
      assert.equal(result.clients, 0);
    });
  }

  it('refuses a certificate that holds only the leaf, naming it and fullchain.pem (exit 3)', async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['a.example'] });
    const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    writeFileSync(files.cert, leaf.certPem);
    writeFileSync(files.key, leaf.keyPem, { mode: 0o600 });
    const config = writeConfig(dir, {
      api: { id: '1', key: 'hook-key-0123456789' },
      sites: { 'a.example': 1 },
      stateDir: join(dir, 'state'),
    });
    const acme = { CERT_FULLCHAIN_PATH: files.cert, CERT_KEY_PATH: files.key, INCAP_CERT_CONFIG: config };
    const result = await run(['deploy', '--dry-run'], acme);
    assert.equal(result.code, 3, result.err);
    assert.match(
      result.err,
      /^error: certificate .*cert\.pem holds only the leaf, and no issuer file is beside it .*upload fullchain\.pem instead/,
    );
    assert.equal(result.out, '');
  });

  it('a lineage that is not there: exit 3, one line naming it', async () => {
    const missing = join(tempDir(), 'missing');
    const result = await run(['deploy', '--dry-run'], { ...env, RENEWED_LINEAGE: missing });
    assert.equal(result.code, 3, result.err);
    assert.match(result.err, new RegExp(`^error: .*${missing}.*\\n$`));
  });
});
