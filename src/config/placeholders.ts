import { ConfigError } from '../model/errors.js';
import { PLACEHOLDER_API_ID, PLACEHOLDER_API_KEY, PLACEHOLDER_SITES } from './schema.js';
import type { SiteMap } from '../model/want.js';

const FILL_IN: Record<string, string> = {
  'api.id': 'your Imperva API id (or IMPERVA_API_ID)',
  'api.key': 'your API key with the "Manage SSL Certificates" permission (or IMPERVA_API_KEY)',
  sites: 'your names and their Imperva site ids',
};

/**
 * The template's values still in effect (`api.id`, `api.key`, `sites`), for a config that holds nothing else: the
 * untouched template loads, so that a fresh install's hooks stay quiet until it is filled in.
 *
 * A config filled in only in part — a real key beside the template's example map, a real map beside `YOUR_API_ID`,
 * an example entry left among real ones — is an error naming every field still the template's: quiet, it would
 * upload nothing on every run, for ever, and say so to nobody.
 */
export function templateFields(file: string, api: { id: string; key: string }, sites: SiteMap): string[] {
  const fields: string[] = [];
  const lines: string[] = [];
  let filledIn = false;
  for (const [field, value, placeholder] of [
    ['api.id', api.id, PLACEHOLDER_API_ID],
    ['api.key', api.key, PLACEHOLDER_API_KEY],
  ] as const) {
    if (value !== placeholder) filledIn = true;
    else {
      fields.push(field);
      lines.push(
        `${file}: ${field}: still the template's placeholder beside values filled in; fill in ${FILL_IN[field]}`,
      );
    }
  }
  for (const [name, ids] of sites) {
    const example = PLACEHOLDER_SITES.get(name) ?? [];
    const kept = ids.filter((id) => example.includes(id));
    if (kept.length < ids.length) filledIn = true;
    if (kept.length === 0) continue;
    if (!fields.includes('sites')) fields.push('sites');
    // Map keys are normalized domain names here: nothing in them to escape.
    lines.push(
      `${file}: sites[${JSON.stringify(name)}]: site id ${kept.join(', ')} is still the template's example; replace it with ${FILL_IN.sites}`,
    );
  }
  if (filledIn && fields.length > 0) throw new ConfigError(lines);
  return fields;
}

/**
 * The untouched template loads (so that a fresh install's hooks stay quiet), but a command run by hand that needs
 * a real config says, one line a field, what to fill in (exit 2).
 */
export function refusePlaceholders(config: { file: string; placeholders: readonly string[] }): void {
  if (config.placeholders.length === 0) return;
  throw new ConfigError(
    config.placeholders.map(
      (field) =>
        `${config.file}: ${field}: still the template's placeholder; fill in ${FILL_IN[field] ?? 'a value'}`,
    ),
  );
}
