/** A mapped `deploy --dry-run` is answered on the fast path with exactly what the full command line prints. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { quickPlan } from '../../src/quick.js';
import { tempDir, writeConfig } from '../support/harness.js';
import { writeFileSync } from 'node:fs';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('deploy --dry-run on the fast path', () => {
  let env: Record<string, string>;
  before(async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['a.example', 'b.example'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'a.example', leaf);
    const config = writeConfig(dir, {
      api: { id: '1', key: 'quick-key-0123456789' },
      sites: { 'a.example': [1, 2], 'b.example': 3 },
      stateDir: join(dir, 'state'),
    });
    env = { RENEWED_LINEAGE: lineage, INCAP_CERT_CONFIG: config };
  });

  const fast = (argv: string[], environment = env) => {
    const out: string[] = [];
    const err: string[] = [];
    const now = () => new Date();
    const result = quickPlan(argv, environment, {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      now,
    });
    return { result, out: out.join(''), err: err.join('') };
  };
  const full = async (argv: string[], environment = env) => {
    const streams = { stdout: new Capture(), stderr: new Capture() };
    const code = await main(
      argv,
      { env: environment, now: () => new Date(), createClient: () => Promise.reject(new Error('no client')) },
      streams,
    );
    return { code, out: streams.stdout.text, err: streams.stderr.text };
  };

  for (const argv of [
    ['deploy', '--dry-run'],
    ['deploy', '--dry-run', '--config', 'CONFIG'],
    ['deploy', '-c', 'CONFIG', '--dry-run'],
  ]) {
    it(argv.join(' '), async () => {
      const args = argv.map((arg) => (arg === 'CONFIG' ? (env.INCAP_CERT_CONFIG ?? '') : arg));
      const quick = fast(args);
      assert.deepEqual(quick.result, { code: 0 });
      const slow = await full(args);
      assert.equal(slow.code, 0, slow.err);
      assert.equal(quick.out, slow.out);
      assert.equal(quick.err, slow.err);
      assert.equal(quick.out.split('\n').filter(Boolean).length, 3, 'one line per site');
    });
  }

  it('warns as the full path does when the certificate holds only the leaf', async () => {
    const dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['a.example'] });
    const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    writeFileSync(files.cert, leaf.certPem);
    writeFileSync(files.key, leaf.keyPem, { mode: 0o600 });
    const config = writeConfig(dir, {
      api: { id: '1', key: 'quick-key-0123456789' },
      sites: { 'a.example': 1 },
    });
    const acme = { CERT_FULLCHAIN_PATH: files.cert, CERT_KEY_PATH: files.key, INCAP_CERT_CONFIG: config };
    const quick = fast(['deploy', '--dry-run'], acme);
    const slow = await full(['deploy', '--dry-run'], acme);
    assert.deepEqual(quick.result, { code: 0 });
    assert.match(quick.err, /^warning: certificate .* holds only the leaf/);
    assert.equal(quick.err, slow.err);
    assert.equal(quick.out, slow.out);
  });

  it('hands a key problem to the full path, which reports it', () => {
    const broken = { ...env, RENEWED_LINEAGE: join(tempDir(), 'missing') };
    assert.equal(fast(['deploy', '--dry-run'], broken).result, undefined);
  });
  it('is not a hook command line without deploy, or with another flag', () => {
    assert.equal(fast(['--dry-run']).result, undefined);
    assert.equal(fast(['deploy', '--dry-run', '--verbose']).result, undefined);
  });
});
