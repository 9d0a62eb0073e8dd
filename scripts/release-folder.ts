/**
 * What `npm run release` (scripts/release.ts) puts in dist/release/, and the checks it runs before and after the
 * build: package.json's version is the one source, and everything that names a version must name that one.
 * Pure functions, but writeReleaseFolder, so that tests run them on stand-ins in a temporary folder.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NOTES = 'RELEASE-NOTES.md';
export const SUMS = 'SHA256SUMS';

/** The downloads of a release, by the name each has in dist/release/. */
export function artifactNames(version: string) {
  return {
    x64: `incap-cert-${version}-linux-x64`,
    arm64: `incap-cert-${version}-linux-arm64`,
    amd64Deb: `incap-cert_${version}_amd64.deb`,
    arm64Deb: `incap-cert_${version}_arm64.deb`,
    npm: `incap-cert-${version}.tgz`,
  };
}

/** A changelog heading: `## VERSION — DATE` (a release) or `## VERSION — unreleased` (in between releases). */
const HEADING = /^## (\S+) — (\S+)$/;

/** The version headings of a changelog (`## ` lines), in order. */
function headings(changelog: string): { line: number; text: string }[] {
  return changelog
    .split('\n')
    .flatMap((text, line) => (text.startsWith('## ') ? [{ line, text: text.trimEnd() }] : []));
}

function isDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
}

/**
 * What is wrong with the changelog's top heading for package.json's `version`: one line each, naming both values.
 * In between releases the heading may say `unreleased`; a release (`release: true`) needs its date.
 */
export function changelogProblems(
  changelog: string,
  version: string,
  { release }: { release: boolean },
): string[] {
  const top = headings(changelog)[0];
  if (top === undefined)
    return [`CHANGELOG.md has no "## ${version} — DATE" heading; package.json says ${version}`];
  const match = HEADING.exec(top.text);
  if (match === null)
    return [
      `CHANGELOG.md's top heading "${top.text}" is not "## VERSION — DATE"; package.json says ${version}`,
    ];
  const [, said = '', when = ''] = match;
  if (said !== version) return [`CHANGELOG.md's top heading says ${said}, package.json says ${version}`];
  if (when === 'unreleased') {
    return release
      ? [
          `CHANGELOG.md's top heading says ${version} — unreleased: a release needs its date ("## ${version} — YYYY-MM-DD")`,
        ]
      : [];
  }
  if (!isDate(when))
    return [`CHANGELOG.md's top heading says ${version} — ${when}: not a date (YYYY-MM-DD) nor "unreleased"`];
  return [];
}

/** What is wrong with the release tag (`v` and the version) for package.json's `version`. */
export function tagProblems(tag: string, version: string): string[] {
  return tag === `v${version}` ? [] : [`the tag ${tag} is not v${version}, package.json says ${version}`];
}

/** A version as something built says it, and where it was read. */
export interface Said {
  where: string;
  version: string | undefined;
}

/** One line for each thing that says another version than package.json's (or none at all). */
export function versionProblems(version: string, said: readonly Said[]): string[] {
  return said.flatMap(({ where, version: theirs }) =>
    theirs === version
      ? []
      : [`${where} says ${theirs === undefined ? 'no version' : theirs}, package.json says ${version}`],
  );
}

/**
 * The version that `--version` prints: its first line is `incap-cert VERSION` (install and the wiring check compare
 * that line); anything else, a bare number included, says no version.
 */
export function versionPrinted(output: string): string | undefined {
  return /^incap-cert (\S+)$/.exec(output.split('\n')[0]?.trim() ?? '')?.[1];
}

/** The version on a man page's .TH line: its fourth field, `"incap\-cert VERSION"` (src/cli/man.ts). */
export function manPageVersion(page: string): string | undefined {
  const th = page.split('\n').find((line) => line.startsWith('.TH '));
  const source = th === undefined ? undefined : /^\.TH \S+ \S+ \S+ "([^"]*)"/.exec(th)?.[1];
  return source === undefined ? undefined : versionPrinted(source.replaceAll('\\-', '-'));
}

/**
 * The release notes: the changelog's section for `version` alone, from its heading to the next version heading.
 * Undefined when the changelog has no heading for it.
 */
export function releaseNotes(changelog: string, version: string): string | undefined {
  const lines = changelog.split('\n');
  const all = headings(changelog);
  const index = all.findIndex(({ text }) => HEADING.exec(text)?.[1] === version);
  const start = all[index];
  if (start === undefined) return undefined;
  const end = all[index + 1]?.line ?? lines.length;
  return `${lines.slice(start.line, end).join('\n').trim()}\n`;
}

/** SHA256SUMS as `sha256sum -c` reads it: `HEX  NAME` a line (two spaces: text mode), sorted by name. */
export function sha256Sums(files: readonly { name: string; sha256: string }[]): string {
  const lines = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, sha256 }) => {
      // sha256sum escapes a name with a backslash or a newline; release names never hold one (or a folder).
      if (!/^[\w.+-]+$/.test(name))
        throw new Error(`${SUMS}: ${JSON.stringify(name)} is not a plain file name`);
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`${SUMS}: ${name}: ${sha256} is not a SHA-256`);
      return `${sha256}  ${name}\n`;
    });
  return lines.join('');
}

/**
 * Fills `dir` afresh: each artifact copied under its release name, the notes, and SHA256SUMS of every other file.
 * Returns SHA256SUMS.
 */
export function writeReleaseFolder(
  dir: string,
  artifacts: Readonly<Record<string, string>>,
  notes: string,
): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, from] of Object.entries(artifacts)) copyFileSync(from, join(dir, name));
  writeFileSync(join(dir, NOTES), notes);
  const sums = sha256Sums(
    readdirSync(dir).map((name) => ({
      name,
      sha256: createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex'),
    })),
  );
  writeFileSync(join(dir, SUMS), sums);
  return sums;
}
