import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ClientSource } from '../sources/clients.js';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BASE_URL,
  DEFAULT_CONCURRENCY,
  DEFAULT_CONFIG_FILE,
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_HOOK_DEADLINE_SECONDS,
  DEFAULT_LIVE_DIR,
  DEFAULT_RETRY_DELAY_SECONDS,
  DEFAULT_STATE_DIR,
  DEFAULT_TIMEOUT_SECONDS,
} from './defaults.js';
import { checkConfigFile, isObject } from './schema.js';
import { normalizeName, normalizeSiteId, type SiteMap } from './site-map.js';

export interface ApiCredentials {
  id: string;
  key: string;
  /** Without a trailing slash. */
  baseUrl: string;
}

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  attempts: number;
  timeoutMs: number;
  deadlineMs: number;
  /** The deadline of a hook run (deploy). */
  hookDeadlineMs: number;
  retryDelayMs: number;
}

export interface Config {
  /** The file this was loaded from (absolute). */
  file: string;
  api: ApiCredentials;
  sites: SiteMap;
  stateDir: string;
  logFile: string | undefined;
  liveDir: string;
  retry: RetryPolicy;
  /** The most requests in flight to Imperva at once. */
  concurrency: number;
  /** A command (argv, no shell) run once for a run that ended with a failed site. */
  onFailure: readonly string[] | undefined;
  /** Other ACME clients' certificate folders (config `sources`), read by `sync`. */
  sources?: ClientSource[] | undefined;
}

/** What the command line says about configuration. */
export interface ConfigFlags {
  config?: string | undefined;
  logFile?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Which config file to read: --config, then INCAP_CERT_CONFIG, then the default. */
export function configPath(flags: ConfigFlags, env: Env): string {
  return resolve(flags.config ?? (env.INCAP_CERT_CONFIG || DEFAULT_CONFIG_FILE));
}

/**
 * One pass: defaults, then the config file, then environment variables, then flags. Every problem found is
 * reported at once, each naming the file and the field.
 */
export function loadConfig(
  flags: ConfigFlags,
  env: Env,
  onSecret: (secret: string) => void = () => {},
): Config {
  const file = configPath(flags, env);
  const { raw, mode } = readJson(file);
  // Known as soon as the file is parsed, so that even an error about the file cannot repeat the key.
  if (isObject(raw) && isObject(raw.api) && typeof raw.api.key === 'string') onSecret(raw.api.key);
  const issues: string[] = [];
  const at = (field: string, message: string) => issues.push(`${file}: ${field}: ${message}`);

  // Go on with whatever parts are well-formed, so that one run reports every problem, not just the shape's.
  const { value: data, issues: shape } = checkConfigFile(raw);
  for (const issue of shape) at(formatPath(issue.path) || '(top level)', issue.message);
  const api = data.api ?? {};

  // Like Certbot's DNS plugins with their credentials files: a key others can read is refused.
  if (isObject(raw) && isObject(raw.api) && raw.api.key !== undefined && (mode & 0o077) !== 0) {
    at(
      'api.key',
      `the file holds the API key but is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${file}`,
    );
  }

  // A field that is present but malformed was reported above; only a missing one is reported as missing.
  const rawApi = isObject(raw) && isObject(raw.api) ? raw.api : {};
  const id = env.IMPERVA_API_ID || (api.id === undefined ? undefined : String(api.id));
  const key = env.IMPERVA_API_KEY || api.key;
  if (!id && rawApi.id === undefined) {
    at('api.id', 'no API id: set api.id in the file or IMPERVA_API_ID in the environment');
  }
  if (!key && rawApi.key === undefined) {
    at('api.key', 'no API key: set api.key in the file (mode 0600) or IMPERVA_API_KEY in the environment');
  }
  const urlSource = env.IMPERVA_API_URL ? 'IMPERVA_API_URL' : 'api.baseUrl';
  const urlValue = env.IMPERVA_API_URL || api.baseUrl || DEFAULT_BASE_URL;
  const baseUrl = checkBaseUrl(urlValue, (message) => at(urlSource, message));

  const sites = new Map<string, string[]>();
  for (const [name, value] of Object.entries(data.sites ?? {})) {
    const normal = normalizeName(name);
    if (normal === undefined) {
      at(formatPath(['sites', name]), 'not a domain name');
      continue;
    }
    const ids = sites.get(normal) ?? [];
    for (const siteId of Array.isArray(value) ? value : [value]) {
      const canonical = normalizeSiteId(siteId);
      if (!ids.includes(canonical)) ids.push(canonical);
    }
    sites.set(normal, ids);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const logFile = flags.logFile ?? data.logFile;
  return {
    file,
    api: { id: id as string, key: key as string, baseUrl: baseUrl as string },
    sites,
    stateDir: resolve(data.stateDir ?? DEFAULT_STATE_DIR),
    logFile: logFile === undefined ? undefined : resolve(logFile),
    liveDir: resolve(data.liveDir ?? DEFAULT_LIVE_DIR),
    retry: {
      attempts: data.attempts ?? DEFAULT_ATTEMPTS,
      timeoutMs: (data.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      deadlineMs: (data.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS) * 1000,
      hookDeadlineMs: DEFAULT_HOOK_DEADLINE_SECONDS * 1000,
      retryDelayMs: (data.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS) * 1000,
    },
    concurrency: data.concurrency ?? DEFAULT_CONCURRENCY,
    onFailure: data.onFailure,
    sources: Object.entries(data.sources ?? {}).flatMap(([client, dirs]) =>
      dirs.map((dir) => ({ client: client as ClientSource['client'], dir: resolve(dir) })),
    ),
  };
}

function readJson(file: string): { raw: unknown; mode: number } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'config file not found (create it, or name another with --config or INCAP_CERT_CONFIG)'
        : code === 'EACCES'
          ? 'cannot read the config file: permission denied'
          : code === 'EISDIR'
            ? 'is a folder, not a config file'
            : `cannot read the config file (${code ?? 'unknown error'})`;
    throw new ConfigError([`${file}: ${why}`]);
  }
  try {
    return { raw: JSON.parse(text), mode };
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${describeJsonError(text, (error as Error).message)}`]);
  }
}

/**
 * V8's JSON messages may quote part of the text (which can hold the API key), so keep only the reason and turn
 * the position into a line and column.
 */
export function describeJsonError(text: string, message: string): string {
  const reason = message
    .replace(/,?\s*".*" is not valid JSON$/s, '')
    .replace(/\s+in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected token '?(.)'?$/, 'unexpected character $1');
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return reason.charAt(0).toLowerCase() + reason.slice(1);
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = Number(position) - before.lastIndexOf('\n');
  return `${reason.charAt(0).toLowerCase() + reason.slice(1)} at line ${line}, column ${column}`;
}

/** Plain http is for tests against a loopback fake only; anything that leaves the machine must be https. */
function checkBaseUrl(value: string, report: (message: string) => void): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    report('not a URL');
    return undefined;
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) {
    if (url.username || url.password || url.search || url.hash) {
      report('must not carry credentials, a query or a fragment');
      return undefined;
    }
    return url.href.replace(/\/+$/, '');
  }
  report(
    url.protocol === 'http:'
      ? 'must use https:// (plain http:// is allowed only to loopback addresses, for tests)'
      : 'must be an https:// URL',
  );
  return undefined;
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** `sites["www.example.com"][1]`, `api.key` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part))
      out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}
