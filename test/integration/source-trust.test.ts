/**
 * Root uploads only what root, or an owner the config names, wrote (issue 18). A user who owns an acme.sh home named
 * in `sources` could write a self-signed certificate for any mapped name, and root's daily `sync` uploaded it over
 * Certbot's. The tests run as root: files "another user wrote" are chowned to uid 1234 or to `nobody`.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeAcmeSh, writeDehydrated, writeLego } from '../support/client-layouts.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

const STRANGER = 1234;
const NOBODY = Number(/^nobody:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1]);

let own: Leaf;
let forged: Leaf;
let other: Leaf;
before(async () => {
  const pki = await createPki();
  own = await issueLeaf(pki, { names: ['example.com'] });
  // What a user who owns the acme.sh home could write: a certificate for a name that is not theirs.
  forged = await issueLeaf(pki, { names: ['www.example.com'] });
  other = await issueLeaf(pki, { names: ['other.example'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

async function newWorld(): Promise<void> {
  world = await createWorld({
    sites: { '1234567': 'example.com', '7654321': 'www.example.com', '3000': 'other.example' },
    map: { 'example.com': 1234567, 'www.example.com': 7654321, 'other.example': 3000 },
  });
}

function chownTree(paths: readonly string[], uid: number): void {
  for (const path of paths) chownSync(path, uid, uid);
}

/** Writes a config beside the world's, with these fields. */
function config(fields: Record<string, unknown>): Record<string, string> {
  const base = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
  const file = join(world.dir, 'trust.json');
  writeFileSync(file, JSON.stringify({ ...base, liveDir: join(world.dir, 'le', 'live'), ...fields }), {
    mode: 0o600,
  });
  return { INCAP_CERT_CONFIG: file };
}

describe('sources: another user’s files', () => {
  it('a user owning an acme.sh home named as a plain folder: nothing of theirs is uploaded, one warning names the setting', async () => {
    await newWorld();
    const home = join(world.dir, 'home', '.acme.sh');
    const files = writeAcmeSh(home, 'www.example.com', forged, true);
    chownTree([home, files.folder as string, files.cert, files.key], STRANGER);
    const env = config({ sources: { 'acme.sh': [home] } });

    const sync = await runCli(['sync'], env);
    assert.equal(world.fake.uploads().length, 0, 'the forged certificate was not uploaded');
    assert.equal(sync.code, 1, sync.stdout + sync.stderr);
    const refusal = sync.stderr.split('\n').filter((line) => line.includes('refused'));
    assert.equal(refusal.length, 1, sync.stderr);
    assert.match(refusal[0] ?? '', new RegExp(`acme.sh folder ${home} refused: .*owned by user ${STRANGER}`));
    assert.match(refusal[0] ?? '', /sources\["acme\.sh"\]\[0\]\.owner/);

    const check = await runCli(['check'], env);
    assert.notEqual(check.code, 0);
    assert.match(check.stderr, new RegExp(`sources: acme.sh folder ${home} refused`));
  });

  it('a root-owned home with one certificate folder another user owns: that certificate is refused, the rest uploaded', async () => {
    await newWorld();
    const home = join(world.dir, '.acme.sh');
    writeAcmeSh(home, 'example.com', own, true);
    const forgedFiles = writeAcmeSh(home, 'www.example.com', forged, true);
    chownSync(forgedFiles.cert, STRANGER, STRANGER);
    const env = config({
      sources: { 'acme.sh': [home] },
      sites: { 'example.com': 1234567, 'www.example.com': 7654321 },
    });

    const sync = await runCli(['sync'], env);
    assert.deepEqual(
      world.fake.acceptedUploads().map((upload) => upload.siteId),
      ['1234567'],
    );
    assert.match(
      sync.stderr,
      new RegExp(
        `acme.sh certificate ${forgedFiles.folder} refused: ${forgedFiles.cert} is owned by user ${STRANGER} \\(mode 0644\\)`,
      ),
    );
  });

  it('a key or a certificate folder writable by others is refused, naming the mode', async () => {
    await newWorld();
    const base = join(world.dir, 'dehydrated');
    const files = writeDehydrated(base, 'www.example.com', forged, 1700000000);
    chmodSync(files.folder as string, 0o777);
    const env = config({ sources: { dehydrated: [base] } });
    const sync = await runCli(['sync'], env);
    assert.equal(world.fake.uploads().length, 0);
    assert.match(sync.stderr, /is writable by group or others \(owner user 0, mode 0777\)/);
  });

  it('an owner named in the config is trusted only for the names the config gives them', async () => {
    await newWorld();
    const home = join(world.dir, 'home', '.acme.sh');
    const ownFiles = writeAcmeSh(home, 'other.example', other, true);
    const forgedFiles = writeAcmeSh(home, 'www.example.com', forged, true);
    chownTree(
      [
        home,
        ownFiles.folder as string,
        ownFiles.cert,
        ownFiles.key,
        forgedFiles.folder as string,
        forgedFiles.cert,
        forgedFiles.key,
      ],
      NOBODY,
    );
    const env = config({
      sources: { 'acme.sh': [{ path: home, owner: 'nobody', names: ['other.example'] }] },
    });
    const sync = await runCli(['sync'], env);
    assert.deepEqual(
      world.fake.acceptedUploads().map((upload) => [upload.siteId, upload.form.input_hash]),
      [['3000', other.fingerprint]],
    );
    assert.match(
      sync.stderr,
      new RegExp(
        `acme.sh certificate ${forgedFiles.folder} refused: user ${NOBODY} \\(sources\\["acme\\.sh"\\]\\[0\\]\\.owner\\) could have written it, and www.example.com is not in sources\\["acme\\.sh"\\]\\[0\\]\\.names`,
      ),
    );
  });

  it('an owner given as a uid is another user than the one who owns the files: still refused', async () => {
    await newWorld();
    const home = join(world.dir, 'home', '.acme.sh');
    const files = writeAcmeSh(home, 'other.example', other, true);
    chownTree([home, files.folder as string, files.cert, files.key], STRANGER);
    const env = config({
      sources: { 'acme.sh': [{ path: home, owner: STRANGER + 1, names: ['other.example'] }] },
    });
    await runCli(['sync'], env);
    assert.equal(world.fake.uploads().length, 0);
    const accepted = config({
      sources: { 'acme.sh': [{ path: home, owner: String(STRANGER), names: ['other.example'] }] },
      // Only the site this host has a certificate for: an uncovered one is exit 1 of its own.
      sites: { 'other.example': 3000 },
    });
    const sync = await runCli(['sync'], accepted);
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual(
      world.fake.acceptedUploads().map((upload) => upload.siteId),
      ['3000'],
    );
  });
});

describe('Certbot’s live and archive folders', () => {
  it('an archive file another user owns is refused; a live folder that is a root-owned link to root’s folder is fine', async () => {
    await newWorld();
    const real = join(world.dir, 'data', 'letsencrypt');
    writeCertbotLineage(real, 'example.com', own);
    writeCertbotLineage(real, 'www.example.com', forged);
    // /etc/letsencrypt as a link, as in containers: root owns the link and what it points at.
    mkdirSync(join(world.dir, 'etc'));
    symlinkSync(real, join(world.dir, 'etc', 'letsencrypt'));
    chownSync(join(real, 'archive', 'www.example.com', 'privkey1.pem'), STRANGER, STRANGER);
    const env = config({
      liveDir: join(world.dir, 'etc', 'letsencrypt', 'live'),
      sites: { 'example.com': 1234567, 'www.example.com': 7654321 },
    });
    const sync = await runCli(['sync'], env);
    assert.deepEqual(
      world.fake.acceptedUploads().map((upload) => upload.siteId),
      ['1234567'],
    );
    assert.match(sync.stderr, new RegExp(`privkey1.pem is owned by user ${STRANGER} \\(mode 0600\\)`));

    // The deploy hook reads the same lineage: refused, exit 3.
    const deploy = await runCli(['deploy'], {
      ...env,
      RENEWED_LINEAGE: join(world.dir, 'etc', 'letsencrypt', 'live', 'www.example.com'),
    });
    assert.equal(deploy.code, 3, deploy.stderr);
    assert.equal(world.fake.acceptedUploads().length, 1);
  });

  it('an archive folder writable by others is refused', async () => {
    await newWorld();
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', own);
    chmodSync(join(le, 'archive'), 0o757);
    const sync = await runCli(['sync'], config({ sites: { 'example.com': 1234567 } }));
    assert.equal(world.fake.uploads().length, 0);
    assert.match(sync.stderr, /archive is writable by group or others \(owner user 0, mode 0757\)/);
  });
});

describe('push --cert/--key', () => {
  it('a key another user owns is refused: exit 3, naming owner and mode, nothing sent', async () => {
    await newWorld();
    const folder = join(world.dir, 'by-hand');
    mkdirSync(folder);
    writeFileSync(join(folder, 'cert.pem'), forged.fullchainPem);
    writeFileSync(join(folder, 'key.pem'), forged.keyPem, { mode: 0o600 });
    chownSync(join(folder, 'key.pem'), STRANGER, STRANGER);
    const push = await runCli(
      ['push', '--cert', join(folder, 'cert.pem'), '--key', join(folder, 'key.pem')],
      world.env,
    );
    assert.equal(push.code, 3);
    assertOneLineError(push.stderr, new RegExp(`key.pem is owned by user ${STRANGER} \\(mode 0600\\)`));
    assert.equal(world.fake.uploads().length, 0);
  });

  it('a folder above them another user could replace is refused, however far up', async () => {
    await newWorld();
    const shared = join(world.dir, 'shared');
    const folder = join(shared, 'deep', 'er');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'cert.pem'), forged.fullchainPem);
    writeFileSync(join(folder, 'key.pem'), forged.keyPem, { mode: 0o600 });
    chmodSync(shared, 0o777);
    const push = await runCli(
      ['push', '--cert', join(folder, 'cert.pem'), '--key', join(folder, 'key.pem')],
      world.env,
    );
    assert.equal(push.code, 3);
    assertOneLineError(
      push.stderr,
      new RegExp(`${shared} is writable by group or others \\(owner user 0, mode 0777\\)`),
    );
    assert.equal(world.fake.uploads().length, 0);

    // The same files where only root can write: uploaded.
    chmodSync(shared, 0o755);
    const again = await runCli(
      ['push', '--cert', join(folder, 'cert.pem'), '--key', join(folder, 'key.pem')],
      world.env,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      world.fake.acceptedUploads().map((upload) => upload.siteId),
      ['7654321'],
    );
  });
});

describe('the deploy hook', () => {
  it('lego’s hand-off of a key another user owns is refused: exit 3, nothing sent', async () => {
    await newWorld();
    const path = join(world.dir, 'lego');
    const files = writeLego(path, 'www.example.com', forged);
    chownSync(files.key, STRANGER, STRANGER);
    const deploy = await runCli(['deploy'], {
      ...world.env,
      LEGO_HOOK_CERT_PATH: files.cert,
      LEGO_HOOK_CERT_KEY_PATH: files.key,
    });
    assert.equal(deploy.code, 3, deploy.stderr);
    assert.match(deploy.stderr, new RegExp(`is owned by user ${STRANGER} \\(mode 0600\\)`));
    assert.equal(world.fake.uploads().length, 0);
  });
});

describe('config: a sources entry naming an owner', () => {
  it('owner without names, or a bad owner, is exit 2 naming the field', async () => {
    await newWorld();
    for (const [entry, message] of [
      [{ path: '/x', owner: 'nobody' }, /sources\["acme\.sh"\]\[0\]: owner and names go together/],
      [
        { path: '/x', owner: 'no body', names: ['a.example'] },
        /sources\["acme\.sh"\]\[0\]\.owner: must be a user name or a uid/,
      ],
      [
        { path: '/x', owner: 1, names: ['not a name'] },
        /sources\["acme\.sh"\]\[0\]\.names: not a domain name/,
      ],
    ] as const) {
      const result = await runCli(['check'], config({ sources: { 'acme.sh': [entry] } }));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
  });
});
