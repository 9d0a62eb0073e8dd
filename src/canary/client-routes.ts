/**
 * The lineages of the other ACME clients (config `sources`: acme.sh, dehydrated, lego) and where each puts its
 * http-01 challenge, read from the client's own files when they pass the trust rule of their source. Which files
 * are read, and why, is in docs/canary.md.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import type { Source } from '../config/schema.js';
import { clientWants } from '../sources/clients.js';
import { writersOf } from '../util/trust.js';
import { uidOf } from '../util/users.js';
import { acmeShRoute, dehydratedRoute, legoRoute, parseAcmeShConf, type Route } from './route.js';

/** One certificate of another client: its names and, per name, where the challenge goes. */
export interface ClientLineage {
  /** The certificate file, as the renewal schedule (src/ari/) names these lineages. */
  lineage: string;
  names: readonly string[];
  route: (name: string) => Route;
  /** The client's user: the owner of its folder (`sources`), accepted as an owner of its web roots. */
  clientOwner: { uid: number; gid: number } | undefined;
}

/** Far more than any of these clients writes in a config file. */
const MAX_BYTES = 64 * 1024;

/** dehydrated looks for its `config` in these folders first, then in its own (docs/canary.md). */
const DEHYDRATED_CONFIGS = ['/etc/dehydrated/config', '/usr/local/etc/dehydrated/config'];

export function clientLineages(config: Config): ClientLineage[] {
  const lineages: ClientLineage[] = [];
  for (const source of config.sources) {
    const seen = new Set<string>();
    const owner = source.owner === undefined ? undefined : uidOf(source.owner);
    const clientOwner = ownerOf(source.dir);
    // The same reader, with the same trust rule, as the uploads: a certificate refused there is not checked here.
    for (const want of clientWants([source], config.sites).all) {
      const file = want.chain.certFile;
      if (seen.has(file)) continue;
      seen.add(file);
      lineages.push({
        lineage: file,
        names: want.chain.names,
        route: routerFor(source, file, owner, config),
        clientOwner,
      });
    }
  }
  return lineages;
}

function routerFor(
  source: Source,
  certFile: string,
  owner: number | undefined,
  config: Config,
): (name: string) => Route {
  const folder = dirname(resolve(certFile));
  switch (source.client) {
    case 'lego':
      return (name) => legoRoute(config.canary.webroots, name);
    case 'acme.sh': {
      const domain = basename(folder).replace(/_ecc$/, '');
      const read = readTrusted(join(folder, `${domain}.conf`), source.dir, owner);
      if ('problem' in read) return () => ({ kind: 'unchecked', reason: read.problem });
      const conf = parseAcmeShConf(read.text);
      return (name) => acmeShRoute(conf, name);
    }
    case 'dehydrated': {
      const route = dehydratedRouteFor(source, folder, owner);
      return () => route;
    }
  }
}

/**
 * dehydrated's own order: the first `config` whose CERTDIR (unset: BASEDIR/certs; BASEDIR unset: the file's own
 * folder) holds this certificate, then every `*.sh` in its literal CONFIG_D in name order, then the certificate's
 * own `certs/NAME/config`.
 */
function dehydratedRouteFor(source: Source, certFolder: string, owner: number | undefined): Route {
  const certDir = dirname(certFolder);
  const texts: { file: string; text: string }[] = [];
  const candidates = [...DEHYDRATED_CONFIGS, join(dirname(certDir), 'config')];
  let main: { file: string; text: string; baseDir: string } | undefined;
  for (const file of candidates) {
    if (!isFile(file)) continue;
    const read = readTrusted(file, dirname(file), owner);
    if ('problem' in read) return { kind: 'unchecked', reason: read.problem };
    const baseDir = resolve(dirname(file), literal(read.text, 'BASEDIR') ?? '.');
    if (resolve(baseDir, literal(read.text, 'CERTDIR') ?? 'certs') !== certDir) continue;
    main = { file, text: read.text, baseDir };
    break;
  }
  if (main === undefined) {
    return {
      kind: 'unchecked',
      reason: `no dehydrated config keeps its certificates in ${certDir} (looked at ${candidates.join(', ')})`,
    };
  }
  texts.push({ file: main.file, text: main.text });
  const configD = literal(main.text, 'CONFIG_D');
  if (configD !== undefined && configD !== '') {
    let entries: string[] = [];
    try {
      entries = readdirSync(configD)
        .filter((entry) => entry.endsWith('.sh'))
        .sort();
    } catch {
      entries = []; // dehydrated itself stops on a CONFIG_D it cannot read; the next renewal says so
    }
    for (const entry of entries) {
      const file = join(configD, entry);
      const read = readTrusted(file, configD, owner);
      if ('problem' in read) return { kind: 'unchecked', reason: read.problem };
      texts.push({ file, text: read.text });
    }
  }
  const own = join(certFolder, 'config');
  if (isFile(own)) {
    const read = readTrusted(own, source.dir, owner);
    if ('problem' in read) return { kind: 'unchecked', reason: read.problem };
    texts.push({ file: own, text: read.text });
  }
  return dehydratedRoute(texts, { BASEDIR: main.baseDir });
}

/** The last literal `KEY=value` line of a shell file (quoted or bare, no expansion), or undefined. */
function literal(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const match = new RegExp(
      `^\\s*(?:export\\s+)?${key}=(?:'([^']*)'|"([^"$\`\\\\]*)"|([^\\s'"$\`\\\\;&|()#]*))\\s*(?:#.*)?$`,
    ).exec(line);
    if (match !== null) value = match[1] ?? match[2] ?? match[3] ?? '';
  }
  return value;
}

/**
 * A client's config file, read only when it is a regular file (a link is not followed) of at most 64 KiB that
 * nobody but root, the running user or the source's owner could have written (src/util/trust.ts).
 */
function readTrusted(
  file: string,
  top: string,
  owner: number | undefined,
): { text: string } | { problem: string } {
  const writers = writersOf(file, top, owner);
  if (writers.refused !== undefined) return { problem: `${file} is refused: ${writers.refused}` };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return {
      problem: `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`,
    };
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return { problem: `${file} is not a regular file` };
    if (info.size > MAX_BYTES)
      return { problem: `${file} is larger than 64 KiB, too large to be a client's config` };
    return { text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Who owns `path` (an ACME client's folder: that client's user), or undefined when it cannot be seen. */
export function ownerOf(path: string): { uid: number; gid: number } | undefined {
  try {
    const { uid, gid } = lstatSync(path);
    return { uid, gid };
  } catch {
    return undefined;
  }
}
