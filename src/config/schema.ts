/**
 * The config file's one schema. The file's types are derived from it: ConfigFileInput is what a user writes,
 * ConfigFile what the loader gets back (site names normalized, ids canonical, sources listed), with valibot.
 *
 * Every message is written here, never valibot's default: those quote the value, which may be the API key.
 */
import { resolve } from 'node:path';
import * as v from 'valibot';
import { isIPv4, isIPv6, normalizeName } from '../names/normalize.js';
import { isObject } from '../util/strict-json.js';
import { normalizeSiteId } from './site-map.js';
import type { SiteMap } from '../model/want.js';

/** What the template (scripts/config.example.json) holds until the operator fills it in. */
export const PLACEHOLDER_API_ID = 'YOUR_API_ID';
export const PLACEHOLDER_API_KEY = 'YOUR_API_KEY';
/**
 * The template's example map, each name with its ids: an entry still there means `sites` was not (wholly) filled in.
 * Names under RFC 2606's `.example`, which no public CA issues for, so that no real mapping is taken for one.
 */
export const PLACEHOLDER_SITES: ReadonlyMap<string, readonly string[]> = new Map([
  ['your-domain.example', ['1234567']],
  ['www.your-domain.example', ['1234567', '7654321']],
  ['*.your-other-domain.example', ['2345678']],
]);

export type SiteIdValue = number | string;

export interface Issue {
  path: (string | number)[];
  message: string;
}

const UNKNOWN = 'unknown field';
const SITES = 'sites must be an object mapping domain names to site ids';
const SITE_ID = 'a site id must be a positive whole number or a string of digits';
const API_ID = 'the API id must be a number or a string of digits';
const API_KEY_CHARACTERS =
  'the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)';
const ON_FAILURE =
  'must be a command as a list of strings, e.g. ["/usr/bin/mail", "-s", "incap-cert failed", "ops@example.com"]';
const EDGE = 'must be HOST:PORT, e.g. 192.0.2.10:443, edge.example.net:443 or [2001:db8::1]:443';

/** ASCII control characters (C0 and DEL): never in a path, a key or a name. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';

export const isSiteId = (value: unknown): value is SiteIdValue =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) ||
  (typeof value === 'string' && /^[1-9]\d*$/.test(value));

const isApiId = (value: unknown): value is SiteIdValue =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
  (typeof value === 'string' && (/^\d+$/.test(value) || value === PLACEHOLDER_API_ID));

/** A JSON object (not an array) checked by `schema`; anything else gets `message`. */
function objectThen<const TSchema extends v.GenericSchema>(schema: TSchema, message: string) {
  const notObject = v.custom<never>(() => false, message);
  return v.lazy((input) => (isObject(input) ? schema : notObject));
}

/**
 * An object with exactly these fields: every unknown one is reported, not just the first. `message` is also what a
 * missing required field gets.
 */
function objectOf<const TEntries extends v.ObjectEntries>(
  entries: TEntries,
  message: string,
  notObjectMessage = message,
) {
  return objectThen(v.objectWithRest(entries, v.never(UNKNOWN), message), notObjectMessage);
}

const text = (message: string) =>
  v.pipe(
    v.string(message),
    v.check((value) => value.trim() !== '', message),
    v.check((value) => !hasControlCharacter(value), 'must not hold control characters'),
  );

const number = (min: number, max: number, whole: boolean, message: string) =>
  v.pipe(
    v.number(message),
    v.check(
      (value) =>
        Number.isFinite(value) && value >= min && value <= max && (!whole || Number.isInteger(value)),
      message,
    ),
  );

const seconds = (min: number, max: number) =>
  number(min, max, false, `must be a number of seconds from ${min} to ${max}`);

// ---- Values that the environment may also give: each schema checks one value, wherever it comes from. ----

export const ApiId = v.pipe(v.custom<SiteIdValue>(isApiId, API_ID), v.transform(String));

export const ApiKey = v.pipe(
  v.string('the API key must be a string'),
  v.check((value) => value !== '', 'the API key must not be empty'),
  // It travels in an HTTP header: a control character would make the request fail inside the HTTP client.
  v.check((value) => /^[\x21-\x7e]+$/.test(value), API_KEY_CHARACTERS),
);

/** Plain http is for tests against a loopback fake only; anything that leaves the machine must be https. */
export const ApiUrl = v.pipe(
  v.string('the URL must be a string'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    let url: URL;
    try {
      url = new URL(dataset.value);
    } catch {
      addIssue({ message: 'not a URL' });
      return NEVER;
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) {
      if (url.username || url.password || url.search || url.hash) {
        addIssue({ message: 'must not carry credentials, a query or a fragment' });
        return NEVER;
      }
      return url.href.replace(/\/+$/, '');
    }
    addIssue({
      message:
        url.protocol === 'http:'
          ? 'must use https:// (plain http:// is allowed only to loopback addresses, for tests)'
          : 'must be an https:// URL',
    });
    return NEVER;
  }),
);

export interface EdgeAddress {
  /** A name (lowercase ASCII) or an IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

/** `HOST:PORT`, IPv6 as `[::1]:443`: where `verify` connects instead of the site's own name. */
export const EdgeAddressSchema = v.pipe(
  v.string(EDGE),
  v.rawTransform(({ dataset, addIssue, NEVER }): EdgeAddress => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(dataset.value);
    const port = Number(match?.[3]);
    const v6 = match?.[1];
    const name = match?.[2];
    const host =
      v6 !== undefined
        ? isIPv6(v6)
          ? v6.toLowerCase()
          : undefined
        : name !== undefined
          ? isIPv4(name)
            ? name
            : normalizeName(name)
          : undefined;
    if (match === null || host === undefined || host.startsWith('*') || port < 1 || port > 65_535) {
      addIssue({ message: EDGE });
      return NEVER;
    }
    return { host, port };
  }),
);

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

// ---- The file. ----

const NOT_A_NAME = 'not a domain name (letters, digits, hyphens and dots; IDNs and a leading *. are fine)';

/**
 * Names as certificates hold them; two spellings of one name share one entry, ids in the order first listed. One
 * loop over the entries, so that every problem is named with its entry.
 */
const Sites = v.pipe(
  v.custom<Record<string, unknown>>(isObject, SITES),
  v.rawTransform(({ dataset, addIssue, NEVER }): SiteMap => {
    const sites = dataset.value;
    const at = (message: string, name: string, index?: number) => {
      const entry = {
        type: 'object' as const,
        origin: 'value' as const,
        input: sites,
        key: name,
        value: sites[name],
      };
      const list = Array.isArray(entry.value) ? (entry.value as unknown[]) : [];
      addIssue({
        message,
        path:
          index === undefined
            ? [entry]
            : [entry, { type: 'array', origin: 'value', input: list, key: index, value: list[index] }],
      });
    };
    const map = new Map<string, Set<string>>();
    for (const [name, value] of Object.entries(sites)) {
      const normal = normalizeName(name);
      if (normal === undefined) at(NOT_A_NAME, name);
      let list: readonly unknown[] = [value];
      if (Array.isArray(value)) {
        if (value.length === 0) at('the list of site ids must not be empty', name);
        list = value;
        value.forEach((id, index) => {
          if (!isSiteId(id)) at(SITE_ID, name, index);
        });
      } else if (!isSiteId(value)) at(`${SITE_ID}, or a list of them`, name);
      if (normal === undefined) continue;
      // A Set per name: a wildcard may list thousands of site ids, and includes() per id was quadratic.
      const ids = map.get(normal) ?? new Set<string>();
      for (const siteId of list) if (isSiteId(siteId)) ids.add(normalizeSiteId(siteId));
      map.set(normal, ids);
    }
    return dataset.issues === undefined
      ? new Map([...map].map(([name, ids]) => [name, [...ids]] as const))
      : NEVER;
  }),
);

const SOURCE_CLIENTS = ['lego', 'acme.sh', 'dehydrated'] as const;
const FOLDERS = 'must be a list of folder paths';
const FOLDER =
  'must be a folder path, or {"path": FOLDER, "owner": USER, "names": [NAME, ...]} for a folder another user writes';
const OWNER = 'must be a user name or a uid';

export type SourceClient = (typeof SOURCE_CLIENTS)[number];
export interface Source {
  client: SourceClient;
  /** Absolute (a relative one is taken from the working folder, as stateDir and liveDir are). */
  dir: string;
  /** Where the file names this folder, for the warning that refuses it: `sources["acme.sh"][0]`. */
  setting: string;
  /**
   * A user other than root (name or uid) whose files here are uploaded, only for certificates whose every name is
   * in `names`: that user can write a certificate for any name, and only the config says which are theirs.
   */
  owner?: string | number;
  names?: string[];
}

const SourcePath = v.pipe(
  v.string(FOLDER),
  v.check((dir) => dir.trim() !== '', FOLDER),
  v.check((dir) => !hasControlCharacter(dir), 'must not hold control characters'),
);

const SourceObject = objectOf(
  {
    path: SourcePath,
    owner: v.optional(
      v.union(
        [
          v.pipe(v.number(OWNER), v.safeInteger(OWNER), v.minValue(0, OWNER)),
          // a POSIX user name (useradd's rule), or a uid written as a string
          v.pipe(v.string(OWNER), v.regex(/^[a-z_][a-z0-9_.-]*\$?$|^\d+$/i, OWNER)),
        ],
        OWNER,
      ),
    ),
    names: v.optional(
      v.pipe(
        v.array(v.unknown(), 'must be a list of domain names'),
        v.minLength(1, 'must be a list of domain names'),
        v.rawTransform(({ dataset, addIssue, NEVER }) => {
          const names: string[] = [];
          for (const name of dataset.value) {
            const normal = typeof name === 'string' ? normalizeName(name) : undefined;
            if (normal === undefined) {
              addIssue({ message: NOT_A_NAME });
              return NEVER;
            }
            names.push(normal);
          }
          return names;
        }),
      ),
    ),
  },
  'must have a path',
);

/** A folder as a string, or as an object that may name an owner: each form with its own messages. */
const SourceEntry = v.lazy((input) =>
  typeof input === 'string'
    ? SourcePath
    : isObject(input)
      ? SourceObject
      : v.custom<never>(() => false, FOLDER),
);

const Folders = v.pipe(
  v.array(v.unknown(), FOLDERS),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const entries: v.InferOutput<typeof SourceEntry>[] = [];
    dataset.value.forEach((entry, index) => {
      const result = v.safeParse(SourceEntry, entry, { abortPipeEarly: true });
      if (!result.success) {
        const issue = result.issues[0];
        addIssue({
          message: issue.message,
          path: [
            { type: 'array', origin: 'value', input: dataset.value, key: index, value: entry },
            ...(issue.path ?? []),
          ],
        });
        return;
      }
      const value = result.output;
      if (typeof value !== 'string' && (value.owner === undefined) !== (value.names === undefined)) {
        addIssue({
          message: 'owner and names go together: the names are those the owner may write certificates for',
          path: [{ type: 'array', origin: 'value', input: dataset.value, key: index, value: entry }],
        });
        return;
      }
      entries.push(value);
    });
    return dataset.issues === undefined ? entries : NEVER;
  }),
);

/** Problems in the order the file lists the clients; the folders in that order too, each once. */
const Sources = objectThen(
  v.pipe(
    v.record(
      v.picklist(
        SOURCE_CLIENTS,
        `unknown ACME client; one of ${SOURCE_CLIENTS.join(', ')} (Certbot's folder is liveDir)`,
      ),
      Folders,
    ),
    v.transform((sources): Source[] => {
      const list: Source[] = [];
      for (const [client, folders] of Object.entries(sources) as [
        SourceClient,
        v.InferOutput<typeof SourceEntry>[],
      ][]) {
        folders.forEach((entry, index) => {
          const dir = resolve(typeof entry === 'string' ? entry : entry.path);
          if (list.some((known) => known.client === client && known.dir === dir)) return;
          // Spelled as the loader names fields in its messages: sources.lego[0], sources["acme.sh"][0].
          const key = /^[A-Za-z_$][\w$]*$/.test(client) ? `.${client}` : `[${JSON.stringify(client)}]`;
          const source: Source = { client, dir, setting: `sources${key}[${index}]` };
          if (typeof entry !== 'string' && entry.owner !== undefined && entry.names !== undefined) {
            source.owner = entry.owner;
            source.names = entry.names;
          }
          list.push(source);
        });
      }
      return list;
    }),
  ),
  'must be an object naming folders by client, e.g. {"lego": ["/root/.lego/certificates"], "acme.sh": ["/root/.acme.sh"], "dehydrated": ["/etc/dehydrated/certs"]}',
);

const OnFailure = v.pipe(
  v.array(v.unknown(), ON_FAILURE),
  v.minLength(1, ON_FAILURE),
  v.guard(
    (words: unknown[]): words is string[] => words.every(isNonEmptyString),
    'must hold only non-empty strings',
  ),
  v.check((words: string[]) => !words.some((word) => word.includes('\0')), 'must not hold NUL characters'),
  // A relative path would be taken from whatever folder the run was started in: it would pass `check` in one and
  // fail from another (a timer's or an ACME client's), on the day something failed.
  v.check(
    ([program]: string[]) => program === undefined || program.startsWith('/') || !program.includes('/'),
    'the program must be an absolute path (or a bare name looked up on PATH), not a relative one',
  ),
);

/** The fields of `api`. */
const API_ENTRIES = {
  id: v.optional(ApiId),
  key: v.optional(ApiKey),
  // The rule for URLs is applied to the value in effect (file or environment), by the loader.
  baseUrl: v.optional(
    v.pipe(
      v.string('the base URL must be a string'),
      v.check((value) => value !== '', 'the base URL must not be empty'),
    ),
  ),
  v3BaseUrl: v.optional(
    v.pipe(
      v.string('the v3 base URL must be a string'),
      v.check((value) => value !== '', 'the v3 base URL must not be empty'),
    ),
  ),
};

/** The fields of the file, in the order their problems are reported. */
const FILE_ENTRIES = {
  api: v.optional(objectOf(API_ENTRIES, 'must be an object with id, key and baseUrl')),
  sites: Sites,
  stateDir: v.optional(text('must be a folder path')),
  logFile: v.optional(text('must be a file path')),
  liveDir: v.optional(text('must be a folder path')),
  sources: v.optional(Sources),
  metricsFile: v.optional(text('must be a file path')),
  attempts: v.optional(number(1, 10, true, 'must be a whole number from 1 to 10')),
  timeoutSeconds: v.optional(seconds(0.1, 600)),
  deadlineSeconds: v.optional(seconds(1, 86_400)),
  hookDeadlineSeconds: v.optional(seconds(1, 86_400)),
  retryDelaySeconds: v.optional(seconds(0, 600)),
  concurrency: v.optional(number(1, 64, true, 'must be a whole number from 1 to 64')),
  ratePerMinute: v.optional(
    number(
      Number.MIN_VALUE,
      100_000,
      false,
      'must be a number of requests per minute above 0, at most 100000',
    ),
  ),
  edgeAddress: v.optional(text(EDGE)),
  // The renewal-path canary (src/canary/): edgeHttpAddress is checked in load.ts as edgeAddress is.
  edgeHttpAddress: v.optional(text(EDGE)),
  canary: v.optional(v.boolean('must be true or false')),
  canaryWebroots: v.optional(
    v.record(
      v.string(),
      v.pipe(v.string(), v.regex(/^\/[^\0]*$/, 'must be an absolute folder path')),
      'must be an object: {"NAME": "/web/root"}',
    ),
  ),
  canaryOwners: v.optional(
    v.array(
      v.pipe(v.string(), v.regex(/^[a-z_][a-z0-9_-]*\$?$|^\d+$/, 'must be a user name or uid')),
      'must be a list of user names',
    ),
  ),
  warnDays: v.optional(number(0, 3650, false, 'must be a number of days from 0 to 3650')),
  pruneOtherKeyType: v.optional(v.boolean('must be true or false')),
  onFailure: v.optional(OnFailure),
  ari: v.optional(v.boolean('must be true or false')),
};

export const ConfigFileSchema = objectOf(FILE_ENTRIES, SITES, 'the config must be a JSON object');

/** Every field a config file may hold, as its messages name it (`api.id`), in the schema's order. */
export type ConfigField = Exclude<keyof typeof FILE_ENTRIES, 'api'> | `api.${keyof typeof API_ENTRIES}`;

/** The same, at run time: what the field texts (src/config/field-texts.ts) are checked against. */
export const CONFIG_FIELDS: readonly ConfigField[] = Object.keys(FILE_ENTRIES).flatMap((name) =>
  name === 'api'
    ? Object.keys(API_ENTRIES).map((inner) => `api.${inner}` as ConfigField)
    : [name as ConfigField],
);

/** What a user writes in the file. */
export type ConfigFileInput = v.InferInput<typeof ConfigFileSchema>;
/** What the loader gets from a valid file. */
export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

/** Validates with every message ours, one per field (the first problem of each). */
export function validate<const TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
): { output: v.InferOutput<TSchema>; issues: undefined } | { output: undefined; issues: Issue[] } {
  const result = v.safeParse(schema, input, { abortPipeEarly: true, message: 'not valid here' });
  if (result.success) return { output: result.output, issues: undefined };
  return {
    output: undefined,
    issues: result.issues.map((issue) => ({
      path: (issue.path ?? []).map((item) => item.key as string | number),
      message: issue.message,
    })),
  };
}

/**
 * The file checked: every issue, and the parts of the file that are well-formed (for tools that want to go on with
 * them; the loader needs only the issues).
 */
export function checkConfigFile(raw: unknown): { value: ConfigFileInput; issues: Issue[] } {
  const { issues } = validate(ConfigFileSchema, raw);
  if (issues === undefined) return { value: raw as ConfigFileInput, issues: [] };
  if (!isObject(raw)) return { value: {} as ConfigFileInput, issues };
  const value = structuredClone(raw);
  for (const { path } of issues) mark(value, path);
  return { value: sweep(value) as ConfigFileInput, issues };
}

const BAD = Symbol('bad');

function mark(root: unknown, path: (string | number)[]): void {
  let parent: unknown = root;
  for (const key of path.slice(0, -1))
    parent = isObject(parent) || Array.isArray(parent) ? parent[key as never] : undefined;
  const key = path[path.length - 1];
  if ((isObject(parent) || Array.isArray(parent)) && key !== undefined && key in parent) {
    (parent as Record<string | number, unknown>)[key] = BAD;
  }
}

function sweep(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== BAD).map(sweep);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== BAD)
      .map(([key, item]) => [key, sweep(item)]),
  );
}
