/**
 * The single executable (npm run package): runs with an empty PATH, from a folder with no node_modules, uploads to
 * the fake Imperva API, and installs itself — what a Certbot host without Node.js gets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderAssets } from '../../src/install/install.js';
import { hostSchedule } from '../../src/install/schedule.js';
import { ASSET_NAMES, DOC_NAMES, type AssetName } from '../../src/install/assets.js';
import { ROOT, runCommand, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let binary: string;
let work: string;
let leaf: Leaf;
let world: World;

before(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs')], { cwd: ROOT, stdio: 'ignore' });
  work = tempDir('incap-cert-sea-');
  binary = join(work, 'incap-cert');
  copyFileSync(join(ROOT, 'dist', `incap-cert-${process.platform}-${process.arch}`), binary);
  execFileSync('chmod', ['755', binary]);
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
  world = await createWorld();
});
after(async () => {
  await world?.close();
  // The executable is 84 MiB: leave no copy of it behind.
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the single executable', () => {
  it('says its version with an empty PATH', async () => {
    const result = await runCommand(binary, ['--version'], { PATH: '' });
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, `incap-cert ${version}\n`, '']);
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

  it('answers an unmapped lineage: one line, exit 0', async () => {
    const other = await issueLeaf(await createPki(), { names: ['unmapped.example'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le2'), 'unmapped.example', other);
    const result = await runCommand(binary, [], { ...world.env, RENEWED_LINEAGE: lineage, PATH: '' });
    assert.deepEqual(
      [result.code, result.stdout, result.stderr],
      [0, 'no Imperva site is mapped to unmapped.example; nothing to upload\n', ''],
    );
  });

  it('installs itself from the one file, with an empty PATH, and uninstalls', async () => {
    const root = join(work, 'root');
    const prefix = '/opt/incap cert'; // a space: escaped in the unit, quoted in the hooks
    // A mail program, so that the template keeps its notifier.
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/mail'), '#!/bin/sh\n', { mode: 0o755 });
    const result = await runCommand(binary, ['install', '--destdir', root, '--prefix', prefix, '--systemd'], {
      PATH: '',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const installed = join(root, prefix, 'bin', 'incap-cert');
    assert.equal(statSync(installed).mode & 0o777, 0o755);
    assert.equal(sha256(installed), sha256(binary), 'the executable copied itself');
    // The files it carries are the repository's, with the prefix written in.
    const expected = renderAssets(
      Object.fromEntries(ASSET_NAMES.map((name) => [name, readFileSync(join(ROOT, name), 'utf8')])) as Record<
        AssetName,
        string
      >,
      prefix,
      hostSchedule(root),
    );
    for (const [name, path, mode] of [
      ['hooks/certbot-deploy.sh', 'etc/letsencrypt/renewal-hooks/deploy/incap-cert', 0o755],
      ['hooks/dehydrated-hook.sh', `${prefix}/share/incap-cert/hooks/dehydrated-hook.sh`, 0o755],
      ['hooks/acme.sh/incap_cert.sh', `${prefix}/share/incap-cert/hooks/acme.sh/incap_cert.sh`, 0o755],
      ['hooks/systemd/incap-cert-sync.service', 'etc/systemd/system/incap-cert-sync.service', 0o644],
      ['hooks/systemd/incap-cert-sync.timer', 'etc/systemd/system/incap-cert-sync.timer', 0o644],
      ['scripts/config.example.json', 'etc/incap-cert/config.json', 0o600],
    ] as const) {
      assert.equal(readFileSync(join(root, path), 'utf8'), expected[name], path);
      assert.equal(statSync(join(root, path)).mode & 0o777, mode, path);
    }
    // The README and docs travel inside the executable too, with the man pages rendered by it.
    for (const name of DOC_NAMES)
      assert.equal(
        readFileSync(join(root, prefix, 'share/doc/incap-cert', name), 'utf8'),
        readFileSync(join(ROOT, name), 'utf8'),
        name,
      );
    assert.match(
      readFileSync(join(root, prefix, 'share/man/man5/incap-cert-config.5'), 'utf8'),
      /^\.TH INCAP/,
    );
    assert.match(
      expected['hooks/systemd/incap-cert-sync.service'],
      /^ExecStart=\/opt\/incap\\x20cert\/bin\/incap-cert sync --verify$/m,
    );

    // The installed copy replaces itself while it runs: a new file renamed into place.
    const inode = statSync(installed).ino;
    const again = await runCommand(
      installed,
      ['install', '--destdir', root, '--prefix', prefix, '--systemd'],
      {
        PATH: '',
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^kept the existing .*config\.json$/m);
    assert.notEqual(statSync(installed).ino, inode);
    assert.equal(sha256(installed), sha256(binary));
    const said = await runCommand(installed, ['--version'], { PATH: '' });
    assert.deepEqual([said.code, said.stdout], [0, `incap-cert ${version}\n`]);

    const removed = await runCommand(binary, ['uninstall', '--destdir', root, '--prefix', prefix], {
      PATH: '',
    });
    assert.equal(removed.code, 0, removed.stderr);
    const left: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else left.push(join(dir, entry.name).slice(root.length));
      }
    };
    walk(root);
    assert.deepEqual(left.sort(), ['/etc/incap-cert/config.json', '/usr/bin/mail']);
  });
});
