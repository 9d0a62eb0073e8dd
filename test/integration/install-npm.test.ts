/**
 * npm: the tarball of `npm pack` installs with `npm install -g`, offline and with an empty cache — so with no
 * dependency downloaded: the bundle in dist/ already holds them — and the installed command runs, and finds the
 * installer's files (hooks, units, config template) in its package folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, runCommand } from '../support/harness.js';

const work = mkdtempSync(join(tmpdir(), 'incap-cert-npm-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack and npm install -g', () => {
  it('installs offline with nothing to download, and the command works', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    // --ignore-scripts: npm test has built dist/ already, and a rebuild would pull it from under the other tests.
    const packed = await runCommand(
      'npm',
      ['pack', '--ignore-scripts', '--silent', '--pack-destination', work, ROOT],
      {
        npm_config_update_notifier: 'false',
      },
    );
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = join(work, `incap-cert-${version}.tgz`);
    assert.deepEqual(readdirSync(work), [`incap-cert-${version}.tgz`]);

    const prefix = join(work, 'global');
    const cache = join(work, 'empty-cache');
    mkdirSync(cache);
    const installed = await runCommand(
      'npm',
      [
        'install',
        '-g',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--prefix',
        prefix,
        '--cache',
        cache,
        tarball,
      ],
      { npm_config_update_notifier: 'false' },
    );
    assert.equal(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    const modules = join(prefix, 'lib', 'node_modules', 'incap-cert');
    assert.ok(!readdirSync(modules).includes('node_modules'), 'no dependency installed');
    assert.ok(readdirSync(join(modules, 'hooks')).includes('certbot-deploy.sh'));
    assert.deepEqual(readdirSync(join(modules, 'dist')).sort(), ['cli.cjs'], 'no node_modules');

    const bin = join(prefix, 'bin', 'incap-cert');
    const said = await runCommand(bin, ['--version']);
    assert.deepEqual([said.code, said.stdout, said.stderr], [0, `incap-cert ${version}\n`, '']);
    // The installer reads its files from the package folder: a dry run names every destination.
    const dry = await runCommand(bin, [
      'install',
      '--dry-run',
      '--destdir',
      join(work, 'root'),
      '--binary',
      bin,
      '--cron',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would write .*\/etc\/cron\.d\/incap-cert \(0644\)$/m);
    assert.match(dry.stdout, /^would write .*\/etc\/incap-cert\/config\.json \(0600\)$/m);
  });
});
