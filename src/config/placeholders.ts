import { ConfigError } from '../errors.js';
import type { Config } from './load.js';

const FILL_IN: Record<string, string> = {
  'api.id': 'your Imperva API id (or IMPERVA_API_ID)',
  'api.key': 'your API key with the "Manage SSL Certificates" permission (or IMPERVA_API_KEY)',
  sites: 'your names and their Imperva site ids',
};

/**
 * The untouched template loads (so that a fresh install's hooks stay quiet), but a command run by hand that needs
 * a real config says, one line a field, what to fill in (exit 2).
 */
export function refusePlaceholders(config: Config): void {
  if (config.placeholders.length === 0) return;
  throw new ConfigError(
    config.placeholders.map(
      (field) =>
        `${config.file}: ${field}: still the template's placeholder; fill in ${FILL_IN[field] ?? 'a value'}`,
    ),
  );
}
