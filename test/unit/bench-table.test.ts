/** The performance table that `npm run bench -- --markdown` writes into docs/performance.md, only between its markers. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { format, resolveConfig } from 'prettier';
import {
  END_MARKER,
  START_MARKER,
  TABLE_FILE,
  renderTable,
  replaceBetweenMarkers,
  type Row,
} from '../../scripts/bench-table.js';
import { ROOT } from '../support/harness.js';

const rows: Row[] = [
  {
    target: 'a mapped `deploy --dry-run`, wall time against `node -e 0`',
    measured: '2.31×',
    limit: '≤ 4×',
    met: true,
  },
  {
    target: '5,000 failing sites, peak memory (RSS)',
    measured: '171 MiB (150–190)',
    limit: '≤ 160 MiB',
    met: false,
  },
];

const before = '# Tool\n\n## Performance\n\nWhy it is fast.\n\n';
const after = '\nMore prose.\n\n## Security notes\n\n- a point\n';
const readme = (inside: string) => `${before}${START_MARKER}\n${inside}${END_MARKER}\n${after}`;

describe('replaceBetweenMarkers', () => {
  it('replaces what stands between the markers and keeps every other byte', () => {
    const text = readme('\n| old | table |\n| --- | ----- |\n| 1   | 2     |\n\n');
    const result = replaceBetweenMarkers(text, '| new |\n| --- |\n', 'README.md');
    assert.equal(result, readme('\n| new |\n| --- |\n\n'));
    assert.ok(result.startsWith(`${before}${START_MARKER}\n`));
    assert.ok(result.endsWith(`${END_MARKER}\n${after}`));
  });

  it('gives the same file when run again with the same table', () => {
    const once = replaceBetweenMarkers(readme(''), renderTable(rows), 'README.md');
    assert.equal(replaceBetweenMarkers(once, renderTable(rows), 'README.md'), once);
  });

  it('refuses a file without both markers, with one twice, or with them out of order, naming the file', () => {
    const cases: [string, RegExp][] = [
      [`${before}${after}`, /^README\.md: expected one line <!-- bench:start -->, found none$/],
      [
        `${before}${START_MARKER}\n${after}`,
        /^README\.md: expected one line <!-- bench:end -->, found none$/,
      ],
      [readme('') + START_MARKER + '\n', /^README\.md: expected one line <!-- bench:start -->, found 2$/],
      [
        `${END_MARKER}\n${START_MARKER}\n`,
        /^README\.md: <!-- bench:end --> comes before <!-- bench:start -->$/,
      ],
    ];
    for (const [text, message] of cases)
      assert.throws(() => replaceBetweenMarkers(text, '| x |', 'README.md'), { message });
  });

  it('finds exactly one pair of markers in the performance page, and none in the README', () => {
    assert.equal(TABLE_FILE, 'docs/performance.md');
    const text = readFileSync(join(ROOT, TABLE_FILE), 'utf8');
    assert.doesNotThrow(() => replaceBetweenMarkers(text, renderTable(rows), TABLE_FILE));
    const readmeText = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.throws(() => replaceBetweenMarkers(readmeText, renderTable(rows), 'README.md'), {
      message: 'README.md: expected one line <!-- bench:start -->, found none',
    });
  });
});

describe('renderTable', () => {
  it('writes a row per target and marks a missed one', () => {
    const lines = renderTable(rows).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /^\| target +\| measured \(this run\) +\| limit +\| met +\|$/);
    assert.match(lines[2] ?? '', /\| 2\.31× +\| ≤ 4× +\| yes +\|$/);
    assert.match(lines[3] ?? '', /\| 171 MiB \(150–190\) +\| ≤ 160 MiB +\| \*\*no\*\* +\|$/);
  });

  it('lays the table out as Prettier does, so the written page passes `prettier --check`', async () => {
    const table = renderTable(rows);
    const options = (await resolveConfig(join(ROOT, TABLE_FILE))) ?? {};
    assert.equal(await format(table, { ...options, parser: 'markdown' }), table);
  });
});
