import { printable } from './printable.js';

/**
 * Rows of cells as aligned lines: two spaces between columns, no trailing blanks. The header first. Cells hold
 * names and messages from outside: they are made printable (src/util/printable.ts) before the columns are measured,
 * so an escaped control character neither reaches the terminal nor shifts the columns after it.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const shown = [header, ...rows].map((row) => row.map((cell) => printable(cell)));
  const widths = header.map((_, column) => Math.max(...shown.map((row) => row[column]?.length ?? 0)));
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return shown.map(format);
}
