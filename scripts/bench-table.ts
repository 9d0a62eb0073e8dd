/**
 * The performance table of scripts/bench.ts: rendered as Markdown, and written into docs/performance.md between two
 * marker lines by `npm run bench -- --markdown` (the table is never edited by hand).
 */

/** The page that holds the table, relative to the project's root. */
export const TABLE_FILE = 'docs/performance.md';

export const START_MARKER = '<!-- bench:start -->';
export const END_MARKER = '<!-- bench:end -->';

export interface Row {
  /** What is measured, as a reader of the performance page would ask it. */
  target: string;
  measured: string;
  limit: string;
  met: boolean;
}

const HEADER = ['target', 'measured (this run)', 'limit', 'met'];

/** A Markdown table laid out as Prettier lays it out, so that `prettier --check` passes on the written page. */
export function renderTable(rows: readonly Row[]): string {
  const lines = [
    HEADER,
    ...rows.map((row) => [row.target, row.measured, row.limit, row.met ? 'yes' : '**no**']),
  ];
  const widths = HEADER.map((_, column) =>
    Math.max(3, ...lines.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [header, ...body] = lines as [string[], ...string[][]];
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n') + '\n';
}

/**
 * `text` with whatever stands between the line START_MARKER and the line END_MARKER replaced by `block` (set off by
 * blank lines); every other byte is kept. `name` (the file) is only for the error when the markers are missing,
 * repeated or out of order.
 */
export function replaceBetweenMarkers(text: string, block: string, name: string): string {
  const lines = text.split('\n');
  const where = (marker: string) => {
    const found = lines.flatMap((line, index) => (line.trimEnd() === marker ? [index] : []));
    if (found.length !== 1)
      throw new Error(
        `${name}: expected one line ${marker}, found ${found.length === 0 ? 'none' : found.length}`,
      );
    return found[0] as number;
  };
  const start = where(START_MARKER);
  const end = where(END_MARKER);
  if (end < start) throw new Error(`${name}: ${END_MARKER} comes before ${START_MARKER}`);
  return [...lines.slice(0, start + 1), '', block.trim(), '', ...lines.slice(end)].join('\n');
}
