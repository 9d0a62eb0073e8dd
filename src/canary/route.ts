/**
 * Where each ACME client puts an http-01 challenge, read from the client's own configuration (pure: the caller
 * reads the file through its source's trust rule). How each client records it is described in docs/canary.md.
 */
import { join } from 'node:path';
import { webrootFor, type RenewalConf } from '../sources/renewal-conf.js';

/** The folder served as `/.well-known/acme-challenge/`, or why no canary is placed for the name. */
export type Route =
  | {
      kind: 'webroot';
      /** where the token goes */ folder: string;
      /** what the client's config names */ root: string;
    }
  /** DNS-01: the renewal never crosses Imperva's http path. */
  | { kind: 'not-needed'; reason: string }
  /** The renewal cannot pass through Imperva at all (tls-alpn-01, or standalone on a port other than 80). */
  | { kind: 'cannot-pass'; reason: string }
  /** The path exists, but incap-cert does not know (or may not use) the folder the client writes into. */
  | { kind: 'unchecked'; reason: string };

const CHALLENGE_PATH = ['.well-known', 'acme-challenge'];

function underRoot(root: string): Route {
  return { kind: 'webroot', folder: join(root, ...CHALLENGE_PATH), root };
}

/** Certbot: `authenticator`, `pref_challs`, `http01_port`, `webroot_path` and `[[webroot_map]]`. */
export function certbotRoute(conf: RenewalConf, name: string): Route {
  const authenticator = conf.authenticator ?? '';
  const challs = conf.prefChalls;
  if (authenticator.startsWith('dns-') || (challs.length > 0 && challs[0] === 'dns-01')) {
    return {
      kind: 'not-needed',
      reason: `Certbot renews with DNS-01 (authenticator = ${authenticator || 'unset'})`,
    };
  }
  if (challs.length > 0 && !challs.includes('http-01')) {
    return challs.includes('dns-01')
      ? { kind: 'not-needed', reason: `Certbot renews with DNS-01 (pref_challs = ${challs.join(',')})` }
      : {
          kind: 'cannot-pass',
          reason: `Certbot may only use ${challs.join(', ')} (pref_challs), never http-01`,
        };
  }
  if (authenticator === 'webroot') {
    const root = webrootFor(conf, name);
    if (root === undefined) {
      return {
        kind: 'unchecked',
        reason: `${conf.file} names no web root for ${name} (webroot_path, webroot_map)`,
      };
    }
    return underRoot(root);
  }
  if (authenticator === 'standalone') {
    const port = conf.http01Port ?? 80;
    return port === 80
      ? {
          kind: 'unchecked',
          reason: 'Certbot renews standalone on port 80, which only answers during a renewal',
        }
      : {
          kind: 'cannot-pass',
          reason: `Certbot renews standalone on port ${port} (http01_port); the CA only ever asks port 80`,
        };
  }
  return {
    kind: 'unchecked',
    reason: `Certbot renews with authenticator = ${authenticator || 'unset'}, whose challenge folder incap-cert does not know`,
  };
}

/**
 * acme.sh: `Le_Webroot` is a comma list, one entry per mode; name i (Le_Domain, then Le_Alt) takes entry i, names
 * past the end the last one. An entry is a path, `no` (standalone), `alpn`, `stateless`, `apache`, `nginx[:CONF]`,
 * `dns`, a DNS plugin (`dns_cf`) or `dns_persist`.
 */
export function acmeShRoute(conf: ReadonlyMap<string, string>, name: string): Route {
  const names = [conf.get('Le_Domain') ?? '', ...(conf.get('Le_Alt') ?? '').split(',')]
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '' && item !== 'no');
  const entries = (conf.get('Le_Webroot') ?? '').split(',').filter((item) => item !== '');
  if (entries.length === 0) return { kind: 'unchecked', reason: 'acme.sh records no Le_Webroot' };
  const index = names.indexOf(name.toLowerCase());
  const entry = entries[Math.min(index < 0 ? entries.length - 1 : index, entries.length - 1)] ?? '';
  if (entry === 'dns' || entry.startsWith('dns_')) {
    return { kind: 'not-needed', reason: `acme.sh renews with DNS-01 (Le_Webroot ${entry})` };
  }
  if (entry === 'alpn')
    return { kind: 'cannot-pass', reason: 'acme.sh renews with tls-alpn-01 (Le_Webroot alpn)' };
  if (entry.startsWith('/')) return underRoot(entry);
  if (entry === 'no') {
    const port = Number(conf.get('Le_HTTPPort') || '80');
    return port === 80
      ? {
          kind: 'unchecked',
          reason: 'acme.sh renews standalone on port 80, which only answers during a renewal',
        }
      : {
          kind: 'cannot-pass',
          reason: `acme.sh renews standalone on port ${port} (Le_HTTPPort); the CA asks port 80`,
        };
  }
  return {
    kind: 'unchecked',
    reason: `acme.sh renews in mode ${entry} (Le_Webroot), whose folder incap-cert does not know`,
  };
}

/**
 * acme.sh writes its domain file as shell assignments `Le_Key='value'`; only those lines are read (nothing is run),
 * later lines overriding earlier ones as the shell would.
 */
export function parseAcmeShConf(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^(Le_[A-Za-z0-9_]+)=(?:'([^']*)'|"([^"$`\\]*)"|([^\s'"$`\\;&|]*))\s*$/.exec(line.trim());
    if (match?.[1] !== undefined) values.set(match[1], match[2] ?? match[3] ?? match[4] ?? '');
  }
  return values;
}

/**
 * dehydrated: its config files are bash, so only literal `WELLKNOWN=` and `CHALLENGETYPE=` lines count (later
 * files and lines override earlier ones, as sourcing them would). A value built from variables or commands is
 * not guessed: the lineage is unchecked, except the variables in `known` (BASEDIR: Debian's config sets
 * `WELLKNOWN="${BASEDIR}/acme-challenges"`). WELLKNOWN is itself the folder served as `/.well-known/acme-challenge/`.
 */
export function dehydratedRoute(
  texts: readonly { file: string; text: string }[],
  known: Readonly<Record<string, string>> = {},
): Route {
  let wellknown: string | undefined;
  let challenge = 'http-01';
  let opaque: string | undefined;
  for (const { file, text } of texts) {
    for (const line of text.split(/\r?\n/)) {
      const match = /^\s*(?:export\s+)?(WELLKNOWN|CHALLENGETYPE)=(.*)$/.exec(line);
      if (match === null) continue;
      const given = (match[2] ?? '').replace(/\s+#.*$/, '').trim();
      // Single quotes expand nothing in bash.
      const raw = given.startsWith("'")
        ? given
        : given.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
            const value = known[braced ?? bare ?? ''];
            // Only a plain path is put in; anything else stays for the literal check below to refuse.
            return value !== undefined && /^[\w./-]+$/.test(value) ? value : whole;
          });
      const literal = /^(?:'([^']*)'|"([^"$`\\]*)"|([^\s'"$`\\;&|()]*))$/.exec(raw);
      const value = literal === null ? undefined : (literal[1] ?? literal[2] ?? literal[3] ?? '');
      if (match[1] === 'WELLKNOWN') {
        wellknown = value;
        opaque =
          value === undefined ? `${file} sets WELLKNOWN=${raw}, which is not a literal path` : undefined;
      } else if (value !== undefined) {
        challenge = value;
      }
    }
  }
  if (challenge === 'dns-01')
    return { kind: 'not-needed', reason: 'dehydrated renews with DNS-01 (CHALLENGETYPE)' };
  if (challenge === 'tls-alpn-01') {
    return { kind: 'cannot-pass', reason: 'dehydrated renews with tls-alpn-01 (CHALLENGETYPE)' };
  }
  if (opaque !== undefined) return { kind: 'unchecked', reason: opaque };
  const folder = wellknown === undefined || wellknown === '' ? '/var/www/dehydrated' : wellknown;
  return { kind: 'webroot', folder, root: folder };
}

/** lego keeps nothing about challenges: config `canaryWebroots` names its web roots, else the name is unchecked. */
export function legoRoute(webroots: Readonly<Record<string, string>> | undefined, name: string): Route {
  const root = webroots?.[name.toLowerCase()];
  if (root === undefined) {
    return {
      kind: 'unchecked',
      reason: `lego records no web root; name one for ${name} in config canaryWebroots`,
    };
  }
  return underRoot(root);
}
