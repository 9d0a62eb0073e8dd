/**
 * npm run release (scripts/release.ts): package.json's version is the one source, the changelog's top heading agrees
 * (dated for a release), the notes are this version's section alone, and SHA256SUMS is what `sha256sum -c` reads.
 * The build itself is too slow for npm test: the folder is written here from stand-ins.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  NOTES,
  SUMS,
  artifactNames,
  changelogProblems,
  manPageVersion,
  releaseNotes,
  sha256Sums,
  tagProblems,
  versionPrinted,
  versionProblems,
  writeReleaseFolder,
} from '../../scripts/release-folder.js';
import { COMMANDS } from '../../src/cli/catalogue.js';
import { manPage } from '../../src/cli/man.js';
import { VERSION } from '../../src/util/version.js';
import { ROOT, runCommand, tempDir } from '../support/harness.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const CHANGELOG = `# Changelog

## 0.3.0 — 2027-02-01

- Three.

### Upgrading

- Read this.

## 0.2.0 — 2026-12-05

- Two.

## 0.1.0 — 2026-01-10

- One.
`;

describe('the changelog heading and package.json', () => {
  it('agree on a dated release', () => {
    assert.deepEqual(changelogProblems(CHANGELOG, '0.3.0', { release: true }), []);
  });
  it('a release refuses "unreleased", saying it needs the date; between releases it is right', () => {
    const text = CHANGELOG.replace('## 0.3.0 — 2027-02-01', '## 0.3.0 — unreleased');
    assert.deepEqual(changelogProblems(text, '0.3.0', { release: false }), []);
    assert.deepEqual(changelogProblems(text, '0.3.0', { release: true }), [
      'CHANGELOG.md\'s top heading says 0.3.0 — unreleased: a release needs its date ("## 0.3.0 — YYYY-MM-DD")',
    ]);
  });
  it('another version in the top heading is one line naming both values, released or not', () => {
    for (const release of [true, false]) {
      assert.deepEqual(changelogProblems(CHANGELOG, '0.4.0', { release }), [
        "CHANGELOG.md's top heading says 0.3.0, package.json says 0.4.0",
      ]);
    }
    // An older section for the version does not count: the top heading is the one to agree.
    assert.deepEqual(changelogProblems(CHANGELOG, '0.2.0', { release: true }), [
      "CHANGELOG.md's top heading says 0.3.0, package.json says 0.2.0",
    ]);
  });
  it('a heading not in the form, a date that is none, no heading at all', () => {
    assert.deepEqual(
      changelogProblems('# Changelog\n\n## 0.3.0 (2027-02-01)\n', '0.3.0', { release: true }),
      [
        'CHANGELOG.md\'s top heading "## 0.3.0 (2027-02-01)" is not "## VERSION — DATE"; package.json says 0.3.0',
      ],
    );
    assert.deepEqual(changelogProblems('## 0.3.0 - 2027-02-01\n', '0.3.0', { release: false }).length, 1);
    for (const date of ['2027-02-30', '2027-2-1', 'soon']) {
      assert.deepEqual(changelogProblems(`## 0.3.0 — ${date}\n`, '0.3.0', { release: false }), [
        `CHANGELOG.md's top heading says 0.3.0 — ${date}: not a date (YYYY-MM-DD) nor "unreleased"`,
      ]);
    }
    assert.deepEqual(changelogProblems('# Changelog\n\nNothing yet.\n', '0.3.0', { release: false }), [
      'CHANGELOG.md has no "## 0.3.0 — DATE" heading; package.json says 0.3.0',
    ]);
  });
  it('the tag is v and the version', () => {
    assert.deepEqual(tagProblems('v0.3.0', '0.3.0'), []);
    assert.deepEqual(tagProblems('0.3.0', '0.3.0'), ['the tag 0.3.0 is not v0.3.0, package.json says 0.3.0']);
    assert.deepEqual(tagProblems('v0.3.1', '0.3.0'), [
      'the tag v0.3.1 is not v0.3.0, package.json says 0.3.0',
    ]);
  });
  it('this repository: package.json, the changelog (dated or unreleased), the code and the man page agree', () => {
    assert.deepEqual(
      changelogProblems(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'), version, { release: false }),
      [],
    );
    assert.equal(VERSION, version);
    const page = manPage(COMMANDS, { date: '2026-01-01', homepage: 'https://example.org/incap-cert' });
    assert.equal(manPageVersion(page), version);
  });
});

describe('what the built artifacts say', () => {
  it('one line for each that says another version, or none', () => {
    assert.deepEqual(
      versionProblems('0.3.0', [
        { where: 'dist/cli.cjs --version', version: '0.3.0' },
        { where: 'incap-cert_0.3.0_arm64.deb (control Version)', version: '0.2.0' },
        { where: 'incap-cert_0.3.0_amd64.deb (man page incap-cert.1)', version: undefined },
      ]),
      [
        'incap-cert_0.3.0_arm64.deb (control Version) says 0.2.0, package.json says 0.3.0',
        'incap-cert_0.3.0_amd64.deb (man page incap-cert.1) says no version, package.json says 0.3.0',
      ],
    );
  });
  it('--version: the version after the name, never a bare number', () => {
    assert.equal(versionPrinted('0.3.0\n'), undefined);
    assert.equal(versionPrinted('incap-cert 0.3.0\n'), '0.3.0');
    assert.equal(versionPrinted(''), undefined);
  });
  it("a man page's .TH line, with roff's escaped hyphens", () => {
    assert.equal(
      manPageVersion('.TH INCAP\\-CERT 1 2027-02-01 "incap\\-cert 0.3.0" "User Commands"\n'),
      '0.3.0',
    );
    assert.equal(manPageVersion('.TH X 1 2027-02-01 "incap\\-cert 1.0.0\\-rc.1"\n'), '1.0.0-rc.1');
    assert.equal(manPageVersion('.SH NAME\nincap\\-cert\n'), undefined);
  });
});

describe('the release notes', () => {
  it("are the version's section alone: its heading, its subsections, not the next version", () => {
    assert.equal(
      releaseNotes(CHANGELOG, '0.3.0'),
      '## 0.3.0 — 2027-02-01\n\n- Three.\n\n### Upgrading\n\n- Read this.\n',
    );
    assert.equal(releaseNotes(CHANGELOG, '0.2.0'), '## 0.2.0 — 2026-12-05\n\n- Two.\n');
    assert.equal(releaseNotes(CHANGELOG, '0.1.0'), '## 0.1.0 — 2026-01-10\n\n- One.\n');
  });
  it('a version that is only a prefix of another is not it', () => {
    assert.equal(releaseNotes('## 0.3.0.1 — 2027-01-01\n\n- no\n', '0.3.0'), undefined);
    assert.equal(releaseNotes(CHANGELOG, '0.4.0'), undefined);
  });
});

describe('SHA256SUMS', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  it('is HEX, two spaces, NAME, a line, sorted by name', () => {
    assert.equal(
      sha256Sums([
        { name: 'incap-cert_0.3.0_amd64.deb', sha256: b },
        { name: 'RELEASE-NOTES.md', sha256: a },
      ]),
      `${a}  RELEASE-NOTES.md\n${b}  incap-cert_0.3.0_amd64.deb\n`,
    );
  });
  it('refuses a name that sha256sum would escape or that is a path, and a hash that is none', () => {
    for (const name of ['a\nb', 'a\\b', 'sub/file', 'a b', '']) {
      assert.throws(() => sha256Sums([{ name, sha256: a }]), /is not a plain file name/);
    }
    assert.throws(() => sha256Sums([{ name: 'x', sha256: 'A'.repeat(64) }]), /x: A+ is not a SHA-256/);
  });
});

describe('the release folder, from stand-ins', () => {
  it('holds the five artifacts, the notes and SHA256SUMS, which sha256sum -c verifies', (t) => {
    const work = tempDir();
    const names = artifactNames('0.3.0');
    const artifacts: Record<string, string> = {};
    for (const [kind, name] of Object.entries(names)) {
      const from = join(work, `built-${kind}`);
      writeFileSync(from, `stand-in for ${name}\n`);
      chmodSync(from, kind === 'x64' || kind === 'arm64' ? 0o755 : 0o644);
      artifacts[name] = from;
    }
    const folder = join(work, 'release');
    writeFileSync(join(work, 'stale'), '');
    writeReleaseFolder(folder, { stale: join(work, 'stale') }, 'old\n');
    const sums = writeReleaseFolder(folder, artifacts, releaseNotes(CHANGELOG, '0.3.0') ?? '');

    assert.deepEqual(readdirSync(folder).sort(), [
      NOTES,
      SUMS,
      'incap-cert-0.3.0-linux-arm64',
      'incap-cert-0.3.0-linux-x64',
      'incap-cert-0.3.0.tgz',
      'incap-cert_0.3.0_amd64.deb',
      'incap-cert_0.3.0_arm64.deb',
    ]);
    assert.equal(readFileSync(join(folder, NOTES), 'utf8'), releaseNotes(CHANGELOG, '0.3.0'));
    assert.equal(
      readFileSync(join(folder, 'incap-cert_0.3.0_arm64.deb'), 'utf8'),
      'stand-in for incap-cert_0.3.0_arm64.deb\n',
    );
    assert.equal(statSync(join(folder, 'incap-cert-0.3.0-linux-x64')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(folder, SUMS), 'utf8'), sums);
    assert.equal(sums.split('\n').filter(Boolean).length, 6);
    assert.match(sums, /^([0-9a-f]{64} {2}[\w.+-]+\n){6}$/);

    if (spawnSync('sha256sum', ['--version']).error !== undefined) return t.skip('no sha256sum here');
    const check = spawnSync('sha256sum', ['--check', '--strict', SUMS], { cwd: folder, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(check.stdout.split('\n').filter((line) => line.endsWith(': OK')).length, 6);
    // And it can fail: one byte changed is caught.
    writeFileSync(join(folder, 'incap-cert-0.3.0.tgz'), 'tampered\n');
    const tampered = spawnSync('sha256sum', ['--check', SUMS], { cwd: folder, encoding: 'utf8' });
    assert.equal(tampered.status, 1);
    assert.match(tampered.stdout, /^incap-cert-0\.3\.0\.tgz: FAILED$/m);
  });
});

describe('npm run release', () => {
  it('refuses a tag that is not v + the version before building anything, one line each', async () => {
    const sums = join(ROOT, 'dist', 'release', SUMS);
    const before = existsSync(sums) ? readFileSync(sums, 'utf8') : undefined;
    const result = await runCommand(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'scripts', 'release.ts'),
      '--tag',
      'v0.0.0-not-this',
    ]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.ok(
      lines.includes(`release: the tag v0.0.0-not-this is not v${version}, package.json says ${version}`),
      result.stderr,
    );
    for (const line of lines) assert.match(line, /^release: /);
    assert.equal(existsSync(sums) ? readFileSync(sums, 'utf8') : undefined, before);
  });
});
