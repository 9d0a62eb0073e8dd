import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { certificateIdentifier, identifierOf, serialBytes } from '../../src/ari/identifier.js';
import { createPki, issueLeaf } from '../support/pki.js';

describe('ARI certificate identifier', () => {
  it("matches RFC 9773's own example", () => {
    const aki = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
    // node:crypto shows the serial 00:87:65:43:21 without its sign byte.
    assert.equal(identifierOf(aki, '87654321'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('restores the sign byte only where the high bit is set', () => {
    assert.equal(serialBytes('87654321').toString('hex'), '0087654321');
    assert.equal(serialBytes('7F01').toString('hex'), '7f01');
    assert.equal(serialBytes('0087').toString('hex'), '0087');
    assert.equal(serialBytes('ABC').toString('hex'), '0abc');
  });

  it("reads a leaf's AKI keyIdentifier and serial", async () => {
    const pki = await createPki();
    const leaf = await issueLeaf(pki, { names: ['ari.example'] });
    const read = await certificateIdentifier(leaf.certPem);
    assert.ok('id' in read, JSON.stringify(read));
    const [aki, serial] = read.id.split('.');
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(Buffer.from(aki ?? '', 'base64url').length, 20);
    assert.equal(
      BigInt(`0x${Buffer.from(serial ?? '', 'base64url').toString('hex')}`),
      BigInt(`0x${cert.serialNumber}`),
    );
  });

  it('says so when the certificate has no AKI', async () => {
    const pki = await createPki();
    const read = await certificateIdentifier(pki.root.cert.toString('pem'));
    assert.deepEqual(read, { problem: 'the certificate has no Authority Key Identifier extension' });
  });
});
