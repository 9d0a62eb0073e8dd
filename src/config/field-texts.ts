/**
 * The config file's documentation: one text per field of the schema (src/config/schema.ts), and the few paragraphs
 * around them. `incap-cert help config`, the man page incap-cert-config(5) and docs/config.md are rendered from here
 * (src/cli/config-page.ts), so they cannot disagree; test/unit/config-fields.test.ts fails on a field without a text
 * or a text without a field. Texts are plain sentences; `code` is in backticks.
 */
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
import type { ConfigField } from './schema.js';

export interface FieldText {
  /** What the value is, in a few words. */
  value: string;
  /** The value when the field is left out, or `required`. */
  default: string;
  /** What the field does: one paragraph. */
  text: string;
}

export const FIELD_TEXTS = {
  'api.id': {
    value: 'number or string of digits',
    default: 'required',
    text: 'The Imperva API id. `IMPERVA_API_ID` in the environment takes its place.',
  },
  'api.key': {
    value: 'string',
    default: 'required',
    text:
      'The Imperva API key, with the Manage SSL Certificates permission (printable ASCII). `IMPERVA_API_KEY` in ' +
      'the environment takes its place. A config file that holds the key is refused while group or others can ' +
      'read it: `chmod 600` it. The key is never printed or logged.',
  },
  'api.baseUrl': {
    value: 'https:// URL',
    default: `\`${DEFAULT_BASE_URL}\``,
    text:
      'The v1 API: uploads, site status, account checks, removals (`https://my.incapsula.com` works too). ' +
      '`IMPERVA_API_URL` takes its place. Plain `http://` is accepted only for loopback addresses, for tests.',
  },
  'api.v3BaseUrl': {
    value: 'https:// URL',
    default: `\`${DEFAULT_V3_BASE_URL}\` (\`api.baseUrl\` when that is a loopback address)`,
    text: 'The v3 API (custom certificates per key type). `IMPERVA_V3_URL` takes its place. The same `https://` rule as `api.baseUrl`.',
  },
  sites: {
    value: 'object: domain name to a site id or a list of site ids',
    default: 'required',
    text:
      "The map. A certificate goes to every site whose name equals, case-insensitively, one of the certificate's " +
      'DNS names; a wildcard key (`*.example.org`) matches the same wildcard on the certificate, not the names ' +
      'under it. Internationalized names may be written in Unicode or punycode. A site gets one upload per key ' +
      'type per run, however many names point at it.',
  },
  stateDir: {
    value: 'folder path',
    default: `\`${DEFAULT_STATE_DIR}\``,
    text: 'The state folder: the queue of uploads that failed and that `sync` retries (mode 0700).',
  },
  logFile: {
    value: 'file path',
    default: 'none',
    text:
      'Also append every line as JSON to this file (mode 0600; a missing folder is made 0700). `--log-file` takes ' +
      'its place. The template sets `/var/log/incap-cert.log`, which the packaged logrotate file ' +
      '(`/etc/logrotate.d/incap-cert`) rotates weekly.',
  },
  liveDir: {
    value: 'folder path',
    default: `\`${DEFAULT_LIVE_DIR}\``,
    text: "Certbot's live folder, read by `sync`, `status`, `check`, `verify` and `remove`. `--live-dir` takes its place.",
  },
  sources: {
    value: 'object: client to a list of folders',
    default: 'none',
    text:
      'Where lego, acme.sh and dehydrated keep their certificates, for `sync`: ' +
      '`{"lego": ["/root/.lego/certificates"], "acme.sh": ["/root/.acme.sh"], "dehydrated": ["/etc/dehydrated/certs"]}`. ' +
      'A folder another user writes is given as `{"path": FOLDER, "owner": USER, "names": [NAME, ...]}`: only ' +
      'certificates whose every name is in `names` are taken from it.',
  },
  metricsFile: {
    value: 'file path',
    default: 'none',
    text:
      "A Prometheus text file, replaced after each run (for node_exporter's textfile collector). " +
      '`--metrics-file` takes its place.',
  },
  attempts: {
    value: 'whole number, 1 to 10',
    default: `\`${DEFAULT_ATTEMPTS}\``,
    text: 'Attempts per site and call, the first included; only transient failures are retried.',
  },
  timeoutSeconds: {
    value: 'seconds, 0.1 to 600',
    default: `\`${DEFAULT_TIMEOUT_SECONDS}\``,
    text: 'The limit for one request to Imperva.',
  },
  deadlineSeconds: {
    value: 'seconds, 1 to 86400',
    default: `\`${DEFAULT_DEADLINE_SECONDS}\``,
    text:
      'The limit for a whole run, retries included, of every command but `deploy`. What a run could not reach ' +
      'by then is left to the next `sync`.',
  },
  hookDeadlineSeconds: {
    value: 'seconds, 1 to 86400',
    default: `\`${DEFAULT_HOOK_DEADLINE_SECONDS}\``,
    text:
      "The limit for a `deploy` run (the hook), or `deadlineSeconds` if that is shorter: over before lego's " +
      '2-minute hook kill.',
  },
  retryDelaySeconds: {
    value: 'seconds, 0 to 600',
    default: `\`${DEFAULT_RETRY_DELAY_SECONDS}\``,
    text: 'The first retry waits about this long, each later one about twice as long (at most 60 s), with jitter.',
  },
  concurrency: {
    value: 'whole number, 1 to 64',
    default: `\`${DEFAULT_CONCURRENCY}\``,
    text: 'Requests in flight to Imperva at once.',
  },
  ratePerMinute: {
    value: 'requests per minute, above 0, at most 100000',
    default: "none: learned from Imperva's 429 answers",
    text: 'Pace requests to this rate from the start, and never go above it.',
  },
  edgeAddress: {
    value: 'HOST:PORT, or [IPv6]:PORT',
    default: "none: each site's own name",
    text: 'Where `verify` connects for every site. `INCAP_CERT_EDGE` takes its place.',
  },
  edgeHttpAddress: {
    value: 'HOST:PORT, or [IPv6]:PORT',
    default: "none: each site's edge on port 80",
    text: 'Where `canary` asks for the challenge over http (port 80) for every site. `INCAP_CERT_EDGE_HTTP` takes its place.',
  },
  canary: {
    value: 'true or false',
    default: 'true',
    text: '`sync` checks the renewal path through Imperva (as `canary`) when the last check is more than 20 hours old.',
  },
  canaryWebroots: {
    value: '{"NAME": "/web/root"}',
    default: 'none',
    text: 'The web root of each name renewed by lego, which records none; its names are unchecked without it.',
  },
  canaryOwners: {
    value: 'a list of user names or uids',
    default: 'none',
    text: 'Users besides root and the ACME client’s user who may own the folders on the way to a web root the canary writes into.',
  },
  warnDays: {
    value: 'days, 0 to 3650',
    default: "a sixth of each certificate's lifetime",
    text: 'Days before expiry from which a certificate counts as `expiring`: a fixed number for every certificate.',
  },
  pruneOtherKeyType: {
    value: 'true or false',
    default: '`false`',
    text:
      "With `true`, `sync` removes a site's custom certificate of the key type this host does not deploy, once the " +
      'edge serves ours.',
  },
  onFailure: {
    value: 'command as a list of strings',
    default: 'none',
    text:
      'A program run (no shell) once per run that ended with a failed site, with a JSON summary on its standard ' +
      'input: `["/usr/bin/mail", "-s", "incap-cert failed", "root"]`. The program is an absolute path or a name ' +
      'looked up on PATH. The template sets the mail command above, which needs a mail program ' +
      '(`apt install bsd-mailx`); `incap-cert install` leaves it out where `/usr/bin/mail` is missing.',
  },
  ari: {
    value: 'true or false',
    default: '`true`',
    text:
      "Whether `status`, `check` and `sync` ask the CA for each certificate's renewal window (ARI, RFC 9773) at the " +
      "ACME server Certbot's renewal configuration names. With `false`, the window is taken as 2/3 to 3/4 of the " +
      "certificate's lifetime.",
  },
} as const satisfies Record<ConfigField, FieldText>;

/** The page's opening paragraphs, before the fields. */
export const CONFIG_INTRO: readonly string[] = [
  `incap-cert reads one JSON file: \`${DEFAULT_CONFIG_FILE}\`, or the file \`--config FILE\` or \`INCAP_CERT_CONFIG\` names. Only \`api.id\`, \`api.key\` and \`sites\` are required; \`incap-cert install\` and the Debian package put a template in place, and \`incap-cert check\` says what is still to fill in.`,
  'The file is read strictly, and every problem is reported at once, one line each naming the file and the field (exit 2, nothing uploaded): unknown fields, duplicate keys, keys such as `__proto__`, names that are not DNS names, values out of range. A JSON syntax error gives the line and column, but quotes nothing: the text may hold the key.',
  'incap-cert runs as root and runs the program `onFailure` names, so the file is refused when it or its folder can be written by group or others, or when a user other than root (and the one running incap-cert) owns it. Keep it mode 0600: it holds the API key.',
];

/** A small, complete file. */
export const CONFIG_EXAMPLE = `{
  "api": { "id": "12345", "key": "..." },
  "sites": {
    "example.com": 1234567,
    "www.example.com": [1234567, 7654321],
    "*.example.org": "2345678"
  },
  "logFile": "/var/log/incap-cert.log",
  "onFailure": ["/usr/bin/mail", "-s", "incap-cert: a certificate did not reach Imperva", "root"]
}`;
