import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readCertificate } from '../../src/certificate/bundle.js';
import { readChain } from '../../src/certificate/chain.js';
import { tempDir } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf, type Pki } from '../support/pki.js';

let pki: Pki;
let ec: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com'] });
});

function files(cert: string, key: string) {
  const dir = tempDir();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

describe('readChain finds the leaf by structure', () => {
  it('says when it put the chain in order, and not when the file was in order', () => {
    assert.equal(readChain(files(ec.fullchainPem, ec.keyPem)).reordered, undefined);
    const chain = readChain(files(pki.intermediatePem + ec.certPem, ec.keyPem));
    assert.equal(chain.reordered, true);
    assert.equal(chain.fingerprint, ec.fingerprint);
    assert.deepEqual(chain.names, ['example.com']);
  });

  it('counts a leaf pasted twice once', () => {
    const chain = readChain(files(ec.certPem + ec.fullchainPem, ec.keyPem));
    assert.equal(chain.chainLength, 2);
    assert.equal(chain.certPem.toString(), ec.fullchainPem);
  });

  it('takes a lone self-signed certificate marked CA (what `openssl req -x509` makes) as its own leaf', () => {
    const dir = tempDir();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=self.example.com',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const bundle = readCertificate({ cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    assert.equal(new X509Certificate(bundle.certPem).ca, true);
    assert.deepEqual(bundle.names, ['self.example.com']);
  });

  it('an unrelated key still does not match the leaf, wherever the leaf is', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const f = files(pki.intermediatePem + ec.certPem, key);
    assert.throws(() => readCertificate(f), {
      message: `private key ${f.key} does not match certificate ${f.cert}`,
    });
  });
});
