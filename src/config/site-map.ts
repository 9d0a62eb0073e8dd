/** Site ids arrive as numbers or digit strings; we carry them as canonical decimal strings. */
export function normalizeSiteId(id: number | string): string {
  return typeof id === 'number' ? String(id) : id.replace(/^0+(?=\d)/, '');
}

/** Moved to src/names/normalize.ts (certificates use it too); kept here for imports not yet moved. */
export { normalizeName } from '../names/normalize.js';
