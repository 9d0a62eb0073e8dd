/**
 * The config file's shape, checked by hand: every problem is reported at once as `path: message`, and what is
 * well-formed is kept so that the loader can go on to find the rest. (A schema library did the same at ~20 ms of
 * start-up; a hook run for a lineage with nothing to upload has a budget of ~30 ms in all — see README.)
 */

export type SiteIdValue = number | string;

export interface ConfigFile {
  api?: { id?: SiteIdValue; key?: string; baseUrl?: string };
  sites?: Record<string, SiteIdValue | SiteIdValue[]>;
  stateDir?: string;
  logFile?: string;
  liveDir?: string;
  attempts?: number;
  timeoutSeconds?: number;
  deadlineSeconds?: number;
  retryDelaySeconds?: number;
  concurrency?: number;
  onFailure?: string[];
  /** Other ACME clients' certificate folders, by client: `{"lego": ["/root/.lego/certificates"]}`. */
  sources?: Record<string, string[]>;
}

export interface Issue {
  path: (string | number)[];
  message: string;
}

const SITE_ID = 'a site id must be a positive whole number or a string of digits';
const API_ID = 'the API id must be a number or a string of digits';
const ON_FAILURE =
  'must be a command as a list of strings, e.g. ["/usr/bin/mail", "-s", "incap-cert failed", "ops@example.com"]';

type Check = (value: unknown) => string | undefined;

const text =
  (message: string): Check =>
  (value) =>
    typeof value === 'string' && value.trim() !== '' ? undefined : message;

const number =
  (min: number, max: number, whole: boolean, message: string): Check =>
  (value) =>
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!whole || Number.isInteger(value))
      ? undefined
      : message;

const seconds = (min: number, max: number) =>
  number(min, max, false, `must be a number of seconds from ${min} to ${max}`);

export const isSiteId = (value: unknown): value is SiteIdValue =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) ||
  (typeof value === 'string' && /^[1-9]\d*$/.test(value));

/** The optional top-level fields that hold one simple value. */
const SIMPLE: Record<string, Check> = {
  stateDir: text('must be a folder path'),
  logFile: text('must be a file path'),
  liveDir: text('must be a folder path'),
  attempts: number(1, 10, true, 'must be a whole number from 1 to 10'),
  timeoutSeconds: seconds(0.1, 600),
  deadlineSeconds: seconds(1, 86_400),
  retryDelaySeconds: seconds(0, 600),
  concurrency: number(1, 64, true, 'must be a whole number from 1 to 64'),
};

const API: Record<string, Check> = {
  id: (value) =>
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^\d+$/.test(value))
      ? undefined
      : API_ID,
  key: (value) =>
    typeof value !== 'string'
      ? 'the API key must be a string'
      : value === ''
        ? 'the API key must not be empty'
        : undefined,
  baseUrl: (value) =>
    typeof value !== 'string'
      ? 'the base URL must be a string'
      : value === ''
        ? 'the base URL must not be empty'
        : undefined,
};

export function checkConfigFile(raw: unknown): { value: ConfigFile; issues: Issue[] } {
  const issues: Issue[] = [];
  const value: Record<string, unknown> = {};
  if (!isObject(raw)) return { value, issues: [{ path: [], message: 'the config must be a JSON object' }] };

  for (const [key, field] of Object.entries(raw)) {
    const simple = SIMPLE[key];
    if (simple !== undefined) {
      const problem = simple(field);
      if (problem === undefined) value[key] = field;
      else issues.push({ path: [key], message: problem });
    } else if (key === 'api') {
      if (!isObject(field)) {
        issues.push({ path: ['api'], message: 'must be an object with id, key and baseUrl' });
        continue;
      }
      const api: Record<string, unknown> = {};
      for (const [name, item] of Object.entries(field)) {
        const check = API[name];
        const problem = check === undefined ? 'unknown field' : check(item);
        if (problem === undefined) api[name] = item;
        else issues.push({ path: ['api', name], message: problem });
      }
      value.api = api;
    } else if (key === 'sites') {
      value.sites = checkSites(field, issues);
    } else if (key === 'onFailure') {
      if (!Array.isArray(field) || field.length === 0)
        issues.push({ path: ['onFailure'], message: ON_FAILURE });
      else if (field.some((item) => typeof item !== 'string' || item === '')) {
        issues.push({ path: ['onFailure'], message: 'must hold only non-empty strings' });
      } else value.onFailure = field;
    } else if (key === 'sources') {
      value.sources = checkSources(field, issues);
    } else {
      issues.push({ path: [key], message: 'unknown field' });
    }
  }
  if (!('sites' in raw))
    issues.push({ path: ['sites'], message: 'sites must be an object mapping domain names to site ids' });
  return { value, issues };
}

function checkSites(field: unknown, issues: Issue[]): Record<string, SiteIdValue | SiteIdValue[]> {
  const sites: Record<string, SiteIdValue | SiteIdValue[]> = {};
  if (!isObject(field)) {
    issues.push({ path: ['sites'], message: 'sites must be an object mapping domain names to site ids' });
    return sites;
  }
  for (const [name, ids] of Object.entries(field)) {
    if (Array.isArray(ids)) {
      if (ids.length === 0)
        issues.push({ path: ['sites', name], message: 'the list of site ids must not be empty' });
      const good = ids.filter((id, index) => {
        if (isSiteId(id)) return true;
        issues.push({ path: ['sites', name, index], message: SITE_ID });
        return false;
      });
      sites[name] = good as SiteIdValue[];
    } else if (isSiteId(ids)) {
      sites[name] = ids;
    } else {
      issues.push({ path: ['sites', name], message: `${SITE_ID}, or a list of them` });
    }
  }
  return sites;
}

const SOURCE_CLIENTS = ['lego', 'acme.sh', 'dehydrated'];
const SOURCES =
  'must be an object naming folders by client, e.g. {"lego": ["/root/.lego/certificates"], "acme.sh": ["/root/.acme.sh"], "dehydrated": ["/etc/dehydrated/certs"]}';

function checkSources(field: unknown, issues: Issue[]): Record<string, string[]> {
  const sources: Record<string, string[]> = {};
  if (!isObject(field)) {
    issues.push({ path: ['sources'], message: SOURCES });
    return sources;
  }
  for (const [client, dirs] of Object.entries(field)) {
    if (!SOURCE_CLIENTS.includes(client)) {
      issues.push({
        path: ['sources', client],
        message: `unknown ACME client; one of ${SOURCE_CLIENTS.join(', ')} (Certbot's folder is liveDir)`,
      });
    } else if (!Array.isArray(dirs) || dirs.some((dir) => typeof dir !== 'string' || dir.trim() === '')) {
      issues.push({ path: ['sources', client], message: 'must be a list of folder paths' });
    } else sources[client] = dirs as string[];
  }
  return sources;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
