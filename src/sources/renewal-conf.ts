/**
 * The one reader of Certbot's renewal configuration, `renewal/NAME.conf` beside the live folder (NAME as in
 * `live/NAME`): how Certbot will renew the lineage — its authenticator, challenge preferences, web roots, key type,
 * ACME server and the deploy hook it saved. The format and what Certbot writes into it are described in
 * docs/acme-clients.md. Nothing here runs Certbot or any of its code.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writersOf } from '../util/trust.js';

/** What incap-cert reads from a renewal configuration; every other key and section is skipped. */
export interface RenewalConf {
  file: string;
  /** The Certbot version that last wrote the file (top of the file). */
  version: string | undefined;
  authenticator: string | undefined;
  installer: string | undefined;
  /** The ACME directory URL. */
  server: string | undefined;
  /** As Certbot writes it: `rsa` or `ecdsa`. */
  keyType: string | undefined;
  /** `pref_challs`, lowercase, in order: `http-01`, `dns-01`, `tls-alpn-01`. Empty: Certbot's own choice. */
  prefChalls: string[];
  /** The port standalone listens on for http-01; undefined: 80. */
  http01Port: number | undefined;
  webrootPath: string[];
  /** `[[webroot_map]]`: name (lowercase) → web root. */
  webrootMap: ReadonlyMap<string, string>;
  /** The deploy hook saved with the lineage (`--deploy-hook`), run by /bin/sh after each renewal. */
  renewHook: string | undefined;
}

/** The file was read, or why not: `missing` when there is no such file (Certbot would not renew the lineage). */
export type RenewalConfRead = { conf: RenewalConf } | { problem: string; missing: boolean };

/** Far more than Certbot ever writes there: a bigger file is not one of its renewal configurations. */
const MAX_BYTES = 64 * 1024;

/** Where Certbot keeps the renewal configuration of the lineage in `lineageDir` (`live/NAME`). */
export function renewalConfPath(lineageDir: string): string {
  const lineage = resolve(lineageDir);
  return join(dirname(dirname(lineage)), 'renewal', `${basename(lineage)}.conf`);
}

/**
 * Reads `file`, which must be a regular file (a link is not followed), at most 64 KiB, written only by root or the
 * running user — the file and every folder above it up to `top` (Certbot's folder, the live folder's parent), as
 * for the certificates of that folder (src/util/trust.ts).
 */
export function readRenewalConf(file: string, top: string): RenewalConfRead {
  const label = `renewal configuration ${file}`;
  try {
    if (lstatSync(file).isSymbolicLink()) {
      return { problem: `${label} is a symbolic link; Certbot writes a plain file there`, missing: false };
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${label} does not exist`, missing: true };
    return { problem: `${label} cannot be read (${code ?? 'unknown error'})`, missing: false };
  }
  const writers = writersOf(file, top);
  if (writers.refused !== undefined)
    return { problem: `${label} is refused: ${writers.refused}`, missing: false };
  let text: string;
  try {
    text = readBounded(file);
  } catch (error) {
    if (error instanceof RenewalConfError) return { problem: `${label} ${error.message}`, missing: false };
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: `${label} cannot be read (${code ?? 'unknown error'})`, missing: false };
  }
  try {
    return { conf: parseRenewalConf(text, file) };
  } catch (error) {
    if (!(error instanceof RenewalConfError)) throw error;
    return { problem: `${label}: ${error.message}`, missing: false };
  }
}

/** The web root Certbot's webroot plugin uses for `name`: its `[[webroot_map]]` entry, else the last web root. */
export function webrootFor(conf: RenewalConf, name: string): string | undefined {
  return conf.webrootMap.get(name.toLowerCase()) ?? conf.webrootPath.at(-1);
}

class RenewalConfError extends Error {}

function readBounded(file: string): string {
  // O_NONBLOCK: a FIFO planted there must not hang the run; it is refused by its kind just below.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new RenewalConfError('is not a regular file');
    if (info.size > MAX_BYTES) throw new RenewalConfError('is larger than 64 KiB, too large to be one');
    const buffer = Buffer.alloc(info.size);
    let read = 0;
    while (read < buffer.length) {
      const got = readSync(fd, buffer, read, buffer.length - read, read);
      if (got === 0) break;
      read += got;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

type Value = string | string[];

/**
 * Parses the ConfigObj text Certbot writes: `key = value` lines, `[section]` and `[[subsection]]` headers, `#`
 * comments (whole lines, or after a value), values in single, double or triple quotes, and lists — items
 * separated by commas, one item written with a trailing comma (`webroot_path = /var/www/a,`), a lone `,` for an empty
 * list. Sections other than `[renewalparams]` and its `[[webroot_map]]` are skipped (Certbot 5 adds
 * `[acme_renewal_info]`). A line ConfigObj would refuse, a duplicate key or section, is an error naming the line.
 */
export function parseRenewalConf(text: string, file: string): RenewalConf {
  if (text.includes('\0')) throw new RenewalConfError('holds a NUL byte, so it is not text');
  const lines = text.split(/\r?\n/);
  const root = new Map<string, Value>();
  const params = new Map<string, Value>();
  const webroots = new Map<string, Value>();
  /** The open sections, outermost first; [] at the top of the file. */
  let path: string[] = [];
  const seenSections = new Set<string>();
  let keys = root;
  let seenKeys = new Set<string>();
  for (let index = 0; index < lines.length; index++) {
    const at = `line ${index + 1}`;
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const header = /^(\[+)\s*(.*?)\s*(\]+)\s*(?:#.*)?$/.exec(line);
      if (header === null || header[1]?.length !== header[3]?.length) {
        throw new RenewalConfError(`${at}: the section header ${line} is not closed as it is opened`);
      }
      const depth = (header[1] ?? '').length;
      if (depth > path.length + 1) throw new RenewalConfError(`${at}: section ${line} is nested too deep`);
      path = [...path.slice(0, depth - 1), unquote(header[2] ?? '')];
      const id = path.join('\0');
      if (seenSections.has(id)) throw new RenewalConfError(`${at}: section ${line} appears twice`);
      seenSections.add(id);
      keys =
        path.length === 1 && path[0] === 'renewalparams'
          ? params
          : path.length === 2 && path[0] === 'renewalparams' && path[1] === 'webroot_map'
            ? webroots
            : new Map<string, Value>(); // a section incap-cert does not read
      seenKeys = new Set();
      continue;
    }
    const pair = /^((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$/.exec(line);
    if (pair === null) throw new RenewalConfError(`${at}: expected "key = value"`);
    const key = unquote((pair[1] ?? '').trim());
    if (seenKeys.has(key)) throw new RenewalConfError(`${at}: ${key} is set twice in one section`);
    seenKeys.add(key);
    let raw = pair[2] ?? '';
    const triple = raw.slice(0, 3);
    if ((triple === "'''" || triple === '"""') && !raw.slice(3).includes(triple)) {
      // A triple-quoted value goes on until the line that closes it.
      const start = index;
      while (!raw.slice(3).includes(triple)) {
        index++;
        if (index >= lines.length) {
          throw new RenewalConfError(`line ${start + 1}: the ${triple} value of ${key} is never closed`);
        }
        raw += `\n${lines[index]}`;
      }
    }
    keys.set(key, parseValue(raw, `${at} (${key})`));
  }
  return {
    file,
    version: text1(root, 'version'),
    authenticator: text1(params, 'authenticator'),
    installer: text1(params, 'installer'),
    server: text1(params, 'server'),
    keyType: text1(params, 'key_type')?.toLowerCase(),
    prefChalls: list(params, 'pref_challs').map((challenge) => challenge.toLowerCase()),
    http01Port: port(params, 'http01_port'),
    webrootPath: list(params, 'webroot_path'),
    webrootMap: new Map(
      [...webroots].map(([name, value]) => {
        const dir = typeof value === 'string' ? value : value.length === 1 ? value[0] : undefined;
        if (dir === undefined) throw new RenewalConfError(`webroot_map: ${name} names no single web root`);
        return [name.toLowerCase(), dir];
      }),
    ),
    renewHook: text1(params, 'renew_hook'),
  };
}

/** One value: a string, or a list when it holds a comma outside quotes. */
function parseValue(raw: string, where: string): Value {
  const triple = raw.slice(0, 3);
  if (triple === "'''" || triple === '"""') {
    const end = raw.indexOf(triple, 3);
    if (!/^\s*(?:#.*)?$/.test(raw.slice(end + 3)))
      throw new RenewalConfError(`${where}: text after the closing ${triple}`);
    return raw.slice(3, end);
  }
  if (/^,\s*(?:#.*)?$/.test(raw)) return [];
  const items: string[] = [];
  let isList = false;
  let rest = raw;
  for (;;) {
    rest = rest.trimStart();
    if (rest === '' || rest.startsWith('#')) {
      // Nothing (more): an empty value, or the end after a trailing comma.
      if (!isList) items.push('');
      break;
    }
    const quote = rest[0];
    let item: string;
    if (quote === '"' || quote === "'") {
      const end = rest.indexOf(quote, 1);
      if (end < 0) throw new RenewalConfError(`${where}: the ${quote} quote is never closed`);
      item = rest.slice(1, end);
      rest = rest.slice(end + 1).trimStart();
    } else {
      // Unquoted: up to a comma or a comment. (ConfigObj quotes values holding either when it writes them.)
      const end = rest.search(/[,#]/);
      item = (end < 0 ? rest : rest.slice(0, end)).trimEnd();
      rest = end < 0 ? '' : rest.slice(end);
      if (item === '') throw new RenewalConfError(`${where}: an empty item before a comma`);
    }
    items.push(item);
    if (rest.startsWith(',')) {
      isList = true;
      rest = rest.slice(1);
      continue;
    }
    if (rest !== '' && !rest.startsWith('#')) {
      throw new RenewalConfError(`${where}: unexpected text after a quoted value`);
    }
    break;
  }
  return isList ? items : (items[0] ?? '');
}

function unquote(word: string): string {
  return /^(["']).*\1$/.test(word) ? word.slice(1, -1) : word;
}

function text1(keys: ReadonlyMap<string, Value>, key: string): string | undefined {
  const value = keys.get(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string')
    throw new RenewalConfError(`${key} is a list, where Certbot writes one value`);
  return value;
}

function list(keys: ReadonlyMap<string, Value>, key: string): string[] {
  const value = keys.get(key);
  if (value === undefined || value === '') return [];
  return typeof value === 'string' ? [value] : value.filter((item) => item !== '');
}

function port(keys: ReadonlyMap<string, Value>, key: string): number | undefined {
  const value = text1(keys, key);
  if (value === undefined) return undefined;
  const number = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(number >= 1 && number <= 65535)) throw new RenewalConfError(`${key} = ${value} is not a port number`);
  return number;
}
