import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GenericSchema } from 'valibot';
import { ConfigError } from '../model/errors.js';
import { isObject, parseStrictJson, StrictJsonError } from '../util/strict-json.js';
import { untrustedReason } from '../util/trust.js';
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
  DEFAULT_V3_BASE_URL,
} from './defaults.js';
import {
  ApiId,
  ApiKey,
  ApiUrl,
  ConfigFileSchema,
  EdgeAddressSchema,
  isLoopback,
  PLACEHOLDER_API_KEY,
  validate,
  type EdgeAddress,
  type Source,
} from './schema.js';
import { templateFields } from './placeholders.js';
import type { SiteMap } from '../model/want.js';

export { isLoopback } from './schema.js';
export type { EdgeAddress, Source, SourceClient } from './schema.js';

/** What the v1 API client needs. */
export interface ApiCredentials {
  id: string;
  key: string;
  /** The v1 API (uploads, site status). Without a trailing slash. */
  baseUrl: string;
}

export interface ApiSettings extends ApiCredentials {
  /** The v3 API (certificates per key type). Without a trailing slash. */
  v3BaseUrl: string;
  /** Where the key came from, for error messages: `IMPERVA_API_KEY` or `/etc/incap-cert/config.json (api.key)`. */
  keySource: string;
}

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  attempts: number;
  timeoutMs: number;
  /** For push and sync runs. */
  deadlineMs: number;
  /** For deploy (hook) runs: ends before lego's 2-minute hook kill. */
  hookDeadlineMs: number;
  retryDelayMs: number;
}

export interface Config {
  /** The file this was loaded from (absolute). */
  file: string;
  api: ApiSettings;
  sites: SiteMap;
  stateDir: string;
  logFile: string | undefined;
  /** Certbot's live folder. */
  liveDir: string;
  /** Where the other ACME clients keep their certificates (absolute folders). */
  sources: readonly Source[];
  retry: RetryPolicy;
  /** The most requests in flight to Imperva at once. */
  concurrency: number;
  /** Requests per minute to pace to from the start; undefined: learn the rate from Imperva's 429s. */
  ratePerMinute: number | undefined;
  /** A command (argv, no shell) run once for a run that ended with a failed site. */
  onFailure: readonly string[] | undefined;
  /** Where `verify` connects instead of each site's own address. */
  edgeAddress: EdgeAddress | undefined;
  /** The renewal-path canary (src/canary/): its port-80 edge, whether sync runs it, lego web roots, more owners. */
  canary: {
    enabled: boolean;
    edgeHttpAddress: EdgeAddress | undefined;
    webroots: Readonly<Record<string, string>>;
    owners: readonly string[];
  };
  /** Days before expiry to warn; undefined: a sixth of each certificate's lifetime (src/certificate/expiry.ts). */
  warnDays: number | undefined;
  /** A Prometheus text file replaced after each run (absolute), or undefined for none. */
  metricsFile: string | undefined;
  /** Whether sync removes the key type this host does not deploy, once the other is seen served. */
  pruneOtherKeyType: boolean;
  /** Whether the CA is asked for renewal windows (src/ari/). */
  ari: boolean;
  /**
   * Fields still holding the config template's placeholder values (`api.id`, `api.key`, `sites`) in a config that
   * holds nothing else: a config filled in only in part is refused (src/config/placeholders.ts).
   */
  placeholders: readonly string[];
}

/** What the command line says about configuration. */
export interface ConfigFlags {
  config?: string | undefined;
  logFile?: string | undefined;
  metricsFile?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A config file is a few KB; more is a mistake (or a device), not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Which config file to read: --config, then INCAP_CERT_CONFIG, then the default. */
export function configPath(flags: ConfigFlags, env: Env): string {
  return resolve(flags.config ?? (env.INCAP_CERT_CONFIG || DEFAULT_CONFIG_FILE));
}

/**
 * One pass: defaults, then the config file, then environment variables, then flags. Every problem found is
 * reported at once, each naming the file and the field (or the environment variable).
 */
export function loadConfig(
  flags: ConfigFlags,
  env: Env,
  onSecret: (secret: string) => void = () => {},
): Config {
  const file = configPath(flags, env);
  // Root runs what this file says (onFailure) and sends its key: refuse one that someone else could have written.
  const untrusted = untrustedReason(file);
  if (untrusted !== undefined) throw new ConfigError([`${file}: not trusted: ${untrusted}`]);
  const { text, mode } = readConfigText(file);
  const raw = parseConfigText(file, text);
  const rawApi = isObject(raw) && isObject(raw.api) ? raw.api : {};
  // Known as soon as the file is parsed, so that even an error about the file cannot repeat the key.
  // The template's placeholder is no secret (and redacting it would garble the very hint that names it).
  if (typeof rawApi.key === 'string' && rawApi.key !== PLACEHOLDER_API_KEY) onSecret(rawApi.key);

  const issues: string[] = [];
  const at = (field: string, message: string) => issues.push(`${file}: ${field}: ${message}`);
  const { output: data, issues: shape } = validate(ConfigFileSchema, raw);
  const reported = new Set<string>();
  for (const issue of shape ?? []) {
    const field = formatPath(issue.path) || '(top level)';
    reported.add(field);
    at(field, issue.message);
  }

  // Like Certbot's DNS plugins with their credentials files: a key others can read is refused.
  if (rawApi.key !== undefined && (mode & 0o077) !== 0) {
    at(
      'api.key',
      `the file holds the API key but is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${file}`,
    );
  }

  // The values the environment may override are checked where they take effect, named by where they came from.
  // A file value that is malformed was reported above; only a missing one is reported as missing.
  const check = <TSchema extends GenericSchema>(schema: TSchema, source: string, value: string) => {
    const result = validate(schema, value);
    for (const issue of result.issues ?? []) at(source, issue.message);
    return result.output;
  };
  const setting = <TSchema extends GenericSchema>(
    schema: TSchema,
    envName: string,
    field: string,
    fileValue: unknown,
    fallback?: string,
  ) => {
    const fromEnv = env[envName];
    if (fromEnv) return check(schema, envName, fromEnv);
    if (fileValue === undefined) return fallback === undefined ? undefined : check(schema, field, fallback);
    return typeof fileValue === 'string' && !reported.has(field)
      ? check(schema, field, fileValue)
      : undefined;
  };

  const id = env.IMPERVA_API_ID ? check(ApiId, 'IMPERVA_API_ID', env.IMPERVA_API_ID) : data?.api?.id;
  const key = env.IMPERVA_API_KEY ? check(ApiKey, 'IMPERVA_API_KEY', env.IMPERVA_API_KEY) : data?.api?.key;
  if (!env.IMPERVA_API_ID && rawApi.id === undefined) {
    at('api.id', 'no API id: set api.id in the file or IMPERVA_API_ID in the environment');
  }
  if (!env.IMPERVA_API_KEY && rawApi.key === undefined) {
    at('api.key', 'no API key: set api.key in the file (mode 0600) or IMPERVA_API_KEY in the environment');
  }
  const baseUrl = setting(ApiUrl, 'IMPERVA_API_URL', 'api.baseUrl', rawApi.baseUrl, DEFAULT_BASE_URL);
  // A v1 API on loopback is the fake one, which serves v3 too: never reach out to Imperva's real v3 host beside it.
  const v3Default =
    typeof baseUrl === 'string' && isLoopback(new URL(baseUrl).hostname) ? baseUrl : DEFAULT_V3_BASE_URL;
  const v3BaseUrl = setting(ApiUrl, 'IMPERVA_V3_URL', 'api.v3BaseUrl', rawApi.v3BaseUrl, v3Default);
  const edgeAddress = setting(
    EdgeAddressSchema,
    'INCAP_CERT_EDGE',
    'edgeAddress',
    isObject(raw) ? raw.edgeAddress : undefined,
  );
  const edgeHttpAddress = setting(
    EdgeAddressSchema,
    'INCAP_CERT_EDGE_HTTP',
    'edgeHttpAddress',
    isObject(raw) ? raw.edgeHttpAddress : undefined,
  );

  if (issues.length > 0 || data === undefined) throw new ConfigError(issues);
  const logFile = flags.logFile ?? data.logFile;
  const metricsFile = flags.metricsFile ?? data.metricsFile;
  const api: ApiSettings = {
    id: id as string,
    key: key as string,
    baseUrl: baseUrl as string,
    v3BaseUrl: v3BaseUrl as string,
    keySource: env.IMPERVA_API_KEY ? 'IMPERVA_API_KEY' : `${file} (api.key)`,
  };
  return {
    file,
    api,
    sites: data.sites,
    stateDir: resolve(data.stateDir ?? DEFAULT_STATE_DIR),
    logFile: logFile === undefined ? undefined : resolve(logFile),
    liveDir: resolve(data.liveDir ?? DEFAULT_LIVE_DIR),
    sources: data.sources ?? [],
    retry: {
      attempts: data.attempts ?? DEFAULT_ATTEMPTS,
      timeoutMs: (data.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      deadlineMs: (data.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS) * 1000,
      hookDeadlineMs: (data.hookDeadlineSeconds ?? DEFAULT_HOOK_DEADLINE_SECONDS) * 1000,
      retryDelayMs: (data.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS) * 1000,
    },
    concurrency: data.concurrency ?? DEFAULT_CONCURRENCY,
    ratePerMinute: data.ratePerMinute,
    onFailure: data.onFailure,
    edgeAddress,
    canary: {
      enabled: data.canary ?? true,
      edgeHttpAddress,
      webroots: Object.fromEntries(
        Object.entries(data.canaryWebroots ?? {}).map(([name, dir]) => [name.toLowerCase(), dir]),
      ),
      owners: data.canaryOwners ?? [],
    },
    warnDays: data.warnDays,
    metricsFile: metricsFile === undefined ? undefined : resolve(metricsFile),
    pruneOtherKeyType: data.pruneOtherKeyType ?? false,
    ari: data.ari ?? true,
    placeholders: templateFields(file, api, data.sites),
  };
}

/** A regular file of at most MAX_CONFIG_BYTES (a FIFO or a device would hang or flood the read). */
function readConfigText(file: string): { text: string; mode: number } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw readError(file, error);
  }
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw new ConfigError([`${file}: is a folder, not a config file`]);
    if (!info.isFile()) throw new ConfigError([`${file}: not a regular file`]);
    // The file read is judged too, not only the path checked before: whoever could swap a folder above it between
    // the check and the open would have root run their onFailure and send the key where they say.
    const me = process.getuid?.() ?? 0;
    if (info.uid !== 0 && info.uid !== me) {
      throw new ConfigError([
        `${file}: not trusted: the file opened is owned by user ${info.uid}, not by root${me === 0 ? '' : ` or user ${me}`}`,
      ]);
    }
    if ((info.mode & 0o022) !== 0) {
      const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
      throw new ConfigError([
        `${file}: not trusted: the file opened is writable by group or others (mode ${mode}); run: chmod go-w ${file}`,
      ]);
    }
    if (info.size > MAX_CONFIG_BYTES) {
      throw new ConfigError([`${file}: larger than ${MAX_CONFIG_BYTES / 1024} KiB; not a config file`]);
    }
    return { text: readFileSync(fd, 'utf8'), mode: info.mode };
  } catch (error) {
    throw error instanceof ConfigError ? error : readError(file, error);
  } finally {
    closeSync(fd);
  }
}

function readError(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'config file not found (create it, or name another with --config or INCAP_CERT_CONFIG)'
      : code === 'EACCES'
        ? 'cannot read the config file: permission denied'
        : code === 'EISDIR'
          ? 'is a folder, not a config file'
          : `cannot read the config file (${code ?? 'unknown error'})`;
  return new ConfigError([`${file}: ${why}`]);
}

/** Strict JSON: a syntax error says what and where but quotes nothing (the text may hold the key). */
function parseConfigText(file: string, text: string): unknown {
  try {
    return parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    throw new ConfigError(
      error.problems.map((problem) =>
        problem.path === undefined
          ? `${file}: not valid JSON: ${problem.reason} at line ${problem.line}, column ${problem.column}`
          : `${file}: ${formatPath(problem.path) || '(top level)'}: ${problem.reason} (line ${problem.line}, column ${problem.column})`,
      ),
    );
  }
}

/** `sites["www.example.com"][1]`, `api.key` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part))
      out += out === '' ? part : `.${part}`;
    // Escaped so that a hostile key cannot break the line or reorder what is shown (bidi controls).
    else
      out += `[${JSON.stringify(String(part)).replace(/\p{C}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}]`;
  }
  return out;
}
