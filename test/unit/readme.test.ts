/**
 * The README an operator reads: short, every command and every exit code in its one table each, and every link in it
 * and in docs/ leading to a page (and a heading) that exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { COMMAND_NAMES } from '../../src/cli/catalogue.js';
import { EXIT_CODES } from '../../src/cli/help.js';
import { ROOT } from '../support/harness.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The body rows of the first Markdown table whose header's first cell is `header`, as lists of cells. */
function tableRows(text: string, header: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^\\| ${header} +\\|`).test(line));
  assert.notEqual(start, -1, `README.md has no table headed "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .replace(/\\\|/g, '¦')
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(text: string): Set<string> {
  const outside = text.replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...outside.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')));
}

const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter((page) =>
  page.endsWith('.md'),
);

describe('README.md', () => {
  it('stays short enough to read: at most about 300 lines', () => {
    assert.ok(README.split('\n').length <= 300, `README.md has ${README.split('\n').length} lines`);
  });

  it('names every command of the catalogue in its command table, and no other', () => {
    const documented = tableRows(README, 'command').flatMap(([cell]) =>
      [...(cell ?? '').matchAll(/`incap-cert ([a-z]+)/g)].map((match) => match[1]),
    );
    for (const name of COMMAND_NAMES)
      assert.ok(documented.includes(name), `command ${name} is not in README.md`);
    for (const name of documented) assert.ok(COMMAND_NAMES.includes(name ?? ''), `README.md names ${name}`);
  });

  it('gives every exit code its row in the exit code table, and no other', () => {
    const documented = tableRows(README, 'exit').map(([code]) => code);
    assert.deepEqual(
      documented,
      EXIT_CODES.map(([code]) => code),
    );
  });

  it('starts with the operator: the quick start comes before the developer commands', () => {
    const operator = README.indexOf('## Quick start: install');
    const developer = README.indexOf('npm run demo');
    assert.ok(operator !== -1 && developer !== -1 && operator < developer);
    assert.match(README, /incap-cert_VERSION_amd64\.deb/);
    assert.doesNotMatch(README, /incap-cert_\d+\.\d+\.\d+_/, 'a version number that will go stale');
  });
});

describe('links in README.md and docs/', () => {
  for (const page of PAGES) {
    it(`${page}: every relative link leads to a page and heading that exist`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const path = file === '' ? page : relative('.', normalize(join(dirname(page), file)));
        assert.ok(existsSync(join(ROOT, path)), `${page}: ${target} does not exist`);
        if (anchor === undefined) continue;
        const anchors = anchorsIn(readFileSync(join(ROOT, path), 'utf8'));
        assert.ok(anchors.has(anchor), `${page}: ${target}: no such heading in ${path}`);
      }
    });
  }
});
