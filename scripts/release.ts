// npm run release [-- --tag vVERSION]: builds dist/release/, what a GitHub release of this version offers
// (.github/workflows/release.yml runs it on a tag and attaches the folder):
//
//   incap-cert-VERSION-linux-x64, incap-cert-VERSION-linux-arm64   the single executables (scripts/package.mjs)
//   incap-cert_VERSION_amd64.deb, incap-cert_VERSION_arm64.deb     the Debian packages (scripts/deb.ts)
//   incap-cert-VERSION.tgz                                         the npm package (npm pack)
//   RELEASE-NOTES.md                                               CHANGELOG.md's section for VERSION
//   SHA256SUMS                                                     of every other file, for sha256sum -c
//
// package.json's version is the one source. Before building, the changelog's top heading must be
// "## VERSION — DATE" (a release needs its date: "unreleased" is refused) and the tag, when given, vVERSION. After
// building, --version, each .deb's control Version and its man page must say VERSION. Any mismatch: one line each,
// naming both values, and exit code 1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  SUMS,
  artifactNames,
  changelogProblems,
  manPageVersion,
  releaseNotes,
  tagProblems,
  versionPrinted,
  versionProblems,
  writeReleaseFolder,
  type Said,
} from './release-folder.js';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const { values } = parseArgs({ options: { tag: { type: 'string' } } });
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');

/** Says each problem on its own line; true when there was any. */
function refused(problems: readonly string[]): boolean {
  for (const problem of problems) console.error(`release: ${problem}`);
  return problems.length > 0;
}

/** A command's output, for reading (its errors are shown). */
function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** A build step, shown as it goes. */
function step(command: string, args: readonly string[]): void {
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** What a .deb says of its version: its control field, and its man page's .TH line. */
function debSays(deb: string): Said[] {
  const where = relative(root, deb);
  const unpacked = mkdtempSync(join(tmpdir(), 'incap-cert-release-'));
  try {
    run('dpkg-deb', ['--extract', deb, unpacked]);
    const page = join(unpacked, 'usr/share/man/man1/incap-cert.1.gz');
    const man = existsSync(page)
      ? manPageVersion(gunzipSync(readFileSync(page)).toString('utf8'))
      : undefined;
    return [
      { where: `${where} (control Version)`, version: run('dpkg-deb', ['--field', deb, 'Version']).trim() },
      { where: `${where} (man page incap-cert.1)`, version: man },
    ];
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

function release(): number {
  const notes = releaseNotes(changelog, version);
  if (
    refused([
      ...changelogProblems(changelog, version, { release: true }),
      ...(values.tag === undefined ? [] : tagProblems(values.tag, version)),
    ]) ||
    notes === undefined
  )
    return 1;

  // A release that fails half-way leaves no older folder that looks like this one.
  const folder = join(dist, 'release');
  rmSync(folder, { recursive: true, force: true });

  // The bundle, both single executables (arm64 with the official Node.js binary that npm pack fetches) and both
  // Debian packages: built as the e2e suite builds them.
  step('npm', ['run', 'deb', '--silent']);
  const names = artifactNames(version);
  const npm = join(dist, names.npm);
  rmSync(npm, { force: true });
  step('npm', ['pack', '--silent', '--pack-destination', dist]);

  const debs = { amd64: join(dist, names.amd64Deb), arm64: join(dist, names.arm64Deb) };
  const host = join(dist, `incap-cert-linux-${process.arch}`);
  if (
    refused(
      versionProblems(version, [
        {
          where: 'dist/cli.cjs --version (the npm package)',
          version: versionPrinted(run(process.execPath, [join(dist, 'cli.cjs'), '--version'])),
        },
        // The other architecture's executable cannot run here; it holds the same dist/cli.cjs.
        { where: `${relative(root, host)} --version`, version: versionPrinted(run(host, ['--version'])) },
        ...debSays(debs.amd64),
        ...debSays(debs.arm64),
      ]),
    )
  )
    return 1;

  const sums = writeReleaseFolder(
    folder,
    {
      [names.x64]: join(dist, 'incap-cert-linux-x64'),
      [names.arm64]: join(dist, 'incap-cert-linux-arm64'),
      [names.amd64Deb]: debs.amd64,
      [names.arm64Deb]: debs.arm64,
      [names.npm]: npm,
    },
    notes,
  );
  console.log(`${relative(process.cwd(), folder) || folder}/${SUMS}:`);
  process.stdout.write(sums);
  return 0;
}

try {
  process.exitCode = release();
} catch (error) {
  // A build step that failed has said why on stderr already; this names the step.
  console.error(`release: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exitCode = 1;
}
