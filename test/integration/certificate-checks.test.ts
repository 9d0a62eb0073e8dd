/**
 * Strict certificate checks and bounded input, through the built CLI against the fake API: the leaf is found by
 * structure (a chain listed out of order is put in order, never planned by an intermediate's names), a certificate
 * not yet valid and a key file with more than one key are refused, only canonical certificate blocks are uploaded,
 * and certificate and key files must be regular files under a size cap — a FIFO or a device never hangs the run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runGuarded } from '../support/guarded-run.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

let pki: Pki;
let ec: Leaf;
let rsa: Leaf;
let other: Leaf;
let future: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com'] });
  rsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
  other = await issueLeaf(pki, { names: ['other.example.net'] });
  future = await issueLeaf(pki, {
    names: ['example.com'],
    notBefore: new Date(Date.now() + 2 * 86_400_000),
    notAfter: new Date(Date.now() + 90 * 86_400_000),
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

/** A Certbot lineage (live/ symlinks into archive/) whose fullchain.pem and privkey.pem hold what is given. */
function lineage(w: World, fullchain: string, key: string): string {
  return writeCertbotLineage(join(w.dir, 'le'), 'example.com', {
    ...ec,
    fullchainPem: fullchain,
    keyPem: key,
  });
}

async function deploy(w: World, live: string) {
  const result = await runGuarded(['deploy'], { env: { ...w.env, RENEWED_LINEAGE: live } });
  assert.equal(result.hung, false, 'the run hung');
  return result;
}

function uploadedCertificate(w: World): string[] {
  return w.fake
    .uploads()
    .map((upload) => Buffer.from(upload.form.certificate ?? '', 'base64').toString('latin1'));
}

function uploadedKey(w: World): string[] {
  return w.fake
    .uploads()
    .map((upload) => Buffer.from(upload.form.private_key ?? '', 'base64').toString('latin1'));
}

describe('the leaf is found by structure, not by position', () => {
  it('a chain listed intermediate first is put in order and uploaded leaf first', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = lineage(world, pki.intermediatePem + ec.certPem, ec.keyPem);
    const result = await deploy(world, live);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /uploaded example\.com → site 1234567/);
    assert.deepEqual(uploadedCertificate(world), [ec.fullchainPem]);
    assert.equal(world.fake.uploads()[0]?.form.input_hash, ec.fingerprint);
  });

  it('root, intermediate, leaf (reversed) becomes leaf, intermediate, root', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = lineage(world, pki.rootPem + pki.intermediatePem + rsa.certPem, rsa.keyPem);
    const result = await deploy(world, live);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(uploadedCertificate(world), [rsa.certPem + pki.intermediatePem + pki.rootPem]);
    assert.equal(world.fake.uploads()[0]?.form.auth_type, 'RSA');
  });

  it('a file with only CA certificates (chain.pem given for fullchain.pem) is refused, exit 3', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = lineage(world, pki.intermediatePem, ec.keyPem);
    const result = await deploy(world, live);
    assert.equal(result.code, 3);
    assertOneLineError(
      result.stderr,
      new RegExp(
        `^error: certificate ${live}/fullchain\\.pem holds no leaf certificate, only CA certificates`,
      ),
    );
    assert.equal(world.fake.uploads().length, 0);
  });

  it('a file with two leaves is refused, exit 3, whichever comes first', async () => {
    world = await createWorld({ map: { 'example.com': 1234567, 'other.example.net': 7654321 } });
    for (const text of [other.certPem + ec.fullchainPem, ec.fullchainPem + other.certPem]) {
      const live = lineage(world, text, ec.keyPem);
      const result = await deploy(world, live);
      assert.equal(result.code, 3);
      assertOneLineError(
        result.stderr,
        new RegExp(`^error: certificate ${live}/fullchain\\.pem holds 2 leaf certificates`),
      );
    }
    assert.equal(world.fake.uploads().length, 0);
  });
});

describe('validity and key files', () => {
  it('a certificate not yet valid is refused, exit 3, nothing uploaded', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', future);
    const result = await deploy(world, live);
    assert.equal(result.code, 3);
    assertOneLineError(
      result.stderr,
      new RegExp(`^error: certificate ${live}/fullchain\\.pem is not valid until \\d{4}-\\d\\d-\\d\\dT`),
    );
    assert.equal(world.fake.uploads().length, 0);
  });

  it('a key file with two keys is refused, exit 3, and neither key is sent', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    for (const key of [ec.keyPem + other.keyPem, other.keyPem + ec.keyPem]) {
      const live = lineage(world, ec.fullchainPem, key);
      const result = await deploy(world, live);
      assert.equal(result.code, 3);
      assertOneLineError(
        result.stderr,
        new RegExp(
          `^error: private key ${live}/privkey\\.pem holds 2 private keys; it must hold exactly one$`,
        ),
      );
    }
    assert.equal(world.fake.uploads().length, 0);
  });

  it('a key file that also holds a certificate is refused, exit 3', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = lineage(world, ec.fullchainPem, ec.keyPem + ec.certPem);
    const result = await deploy(world, live);
    assert.equal(result.code, 3);
    assertOneLineError(
      result.stderr,
      new RegExp(`^error: private key ${live}/privkey\\.pem holds a CERTIFICATE block besides the key`),
    );
    assert.equal(world.fake.uploads().length, 0);
  });
});

describe('only canonical certificate blocks are uploaded', () => {
  it('text, parameters, CRLF line ends and trailing bytes around the blocks never reach Imperva', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const sec1 = createPrivateKey(ec.keyPem).export({ format: 'pem', type: 'sec1' }).toString();
    const messy =
      'Bag Attributes\n    friendlyName: example.com\nsubject=CN=example.com\n' +
      ec.certPem.replaceAll('\n', '\r\n') +
      '\n\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n' +
      pki.intermediatePem.replace('-----END CERTIFICATE-----', '-----END CERTIFICATE-----   ') +
      'trailing junk \u0000\u00ff';
    const live = lineage(
      world,
      messy,
      `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}\n# comment\n`,
    );
    const result = await deploy(world, live);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(uploadedCertificate(world), [ec.fullchainPem]);
    assert.deepEqual(uploadedKey(world), [sec1]);
  });
});

describe('bounded input: regular files under a size cap', () => {
  const fifo = (path: string) => execFileSync('mkfifo', [path]);

  const cases: {
    title: string;
    /** Replaces the live file (fullchain.pem or privkey.pem) with something else. */
    arrange: (live: string) => void;
    file: 'fullchain.pem' | 'privkey.pem';
    message: string;
  }[] = [
    {
      title: 'a FIFO as the certificate',
      arrange: (live) => fifo(join(live, 'fullchain.pem')),
      file: 'fullchain.pem',
      message: 'is a named pipe (FIFO), not a regular file',
    },
    {
      title: 'a FIFO as the key',
      arrange: (live) => fifo(join(live, 'privkey.pem')),
      file: 'privkey.pem',
      message: 'is a named pipe (FIFO), not a regular file',
    },
    {
      title: '/dev/zero as the certificate',
      arrange: (live) => symlinkSync('/dev/zero', join(live, 'fullchain.pem')),
      file: 'fullchain.pem',
      message: 'is a character device, not a regular file',
    },
    {
      title: '/dev/zero as the key',
      arrange: (live) => symlinkSync('/dev/zero', join(live, 'privkey.pem')),
      file: 'privkey.pem',
      message: 'is a character device, not a regular file',
    },
    {
      title: 'a folder as the certificate',
      arrange: (live) => mkdirSync(join(live, 'fullchain.pem')),
      file: 'fullchain.pem',
      message: 'is a folder, not a file',
    },
    {
      title: 'a certificate file over 1 MiB',
      arrange: (live) =>
        writeFileSync(join(live, 'fullchain.pem'), ec.fullchainPem + 'x'.repeat(1024 * 1024)),
      file: 'fullchain.pem',
      message: 'is larger than 1 MiB; it cannot be a certificate',
    },
    {
      title: 'a key file over 64 KiB',
      arrange: (live) => writeFileSync(join(live, 'privkey.pem'), ec.keyPem + '#'.repeat(64 * 1024)),
      file: 'privkey.pem',
      message: 'is larger than 64 KiB; it cannot be a private key',
    },
  ];
  for (const { title, arrange, file, message } of cases) {
    it(`${title}: one line naming it, exit 3, no hang, nothing uploaded`, async () => {
      world = await createWorld({ map: { 'example.com': 1234567 } });
      const live = join(world.dir, 'live', 'example.com');
      mkdirSync(live, { recursive: true });
      writeFileSync(join(live, 'fullchain.pem'), ec.fullchainPem);
      writeFileSync(join(live, 'privkey.pem'), ec.keyPem, { mode: 0o600 });
      execFileSync('rm', ['-f', join(live, file)]);
      arrange(live);
      const result = await deploy(world, live);
      assert.equal(result.code, 3, result.stderr);
      const role = file === 'fullchain.pem' ? 'certificate' : 'private key';
      assertOneLineError(
        result.stderr,
        new RegExp(`^error: ${role} ${escape(join(live, file))} ${escape(message)}$`),
      );
      assert.equal(world.fake.uploads().length, 0);
    });
  }

  it('Certbot’s symlinks (live/ → archive/) still work', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await deploy(world, live);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(uploadedCertificate(world), [ec.fullchainPem]);
    assert.equal(readFileSync(join(live, 'fullchain.pem'), 'utf8'), ec.fullchainPem);
  });
});
