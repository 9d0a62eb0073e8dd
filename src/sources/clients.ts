import { lstatSync, readdirSync, readlinkSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { readChain } from '../certificate/chain.js';
import type { CertificateChain, CertificateFiles } from '../model/certificate.js';
import { type SiteMap, planTargets, wantOf, type Want } from '../model/want.js';
import { CertificateError } from '../model/errors.js';
import { writersOf } from '../util/trust.js';
import { uidOf } from '../util/users.js';

/**
 * Where another ACME client than Certbot keeps its certificates (config `sources`), so that `sync` can find them
 * again without the state folder. Certbot's live folder is `liveDir` (src/sources/live.ts).
 */
export interface ClientSource {
  client: 'lego' | 'acme.sh' | 'dehydrated';
  dir: string;
  /** Where the config names this folder (`sources["acme.sh"][0]`), for the warning that refuses it. */
  setting?: string;
  /** A user besides root whose files are taken, only for certificates whose every name is in `names`. */
  owner?: string | number;
  names?: readonly string[];
}

type ClientName = ClientSource['client'];

/** One certificate a client keeps: its files, and what to call it in a warning. */
interface Found {
  label: string;
  files: CertificateFiles;
}

/** Far more than any certificate chain or key: a bigger file is not one, and is not read. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * For every mapped site and key type, the certificate it should serve from the other ACME clients' folders: the
 * one that expires last, as for Certbot's lineages. A certificate that cannot be read is a warning and skipped; a
 * missing folder is a warning naming it. The layouts are described in docs/acme-clients.md.
 */
export function clientWants(
  sources: readonly ClientSource[],
  sites: SiteMap,
): { wants: Want[]; all: Want[]; skipped: string[]; refused: string[] } {
  const wants: Want[] = [];
  const skipped: string[] = [];
  const refused: string[] = [];
  for (const source of sources) {
    const dir = resolve(source.dir);
    const setting = source.setting ?? `sources[${JSON.stringify(source.client)}]`;
    const owner = source.owner === undefined ? undefined : uidOf(source.owner);
    if (source.owner !== undefined && owner === undefined) {
      refused.push(
        `${source.client} folder ${dir} refused: there is no user ${JSON.stringify(source.owner)} on this host (${setting}.owner)`,
      );
      continue;
    }
    // The folder itself first: one warning for a folder that is wholly someone else's, not one per certificate.
    const whole = writersOf(dir, dir, owner);
    if (whole.refused !== undefined) {
      refused.push(`${source.client} folder ${dir} refused: ${whole.refused}${allowedBy(whole, setting)}`);
      continue;
    }
    for (const found of FINDERS[source.client](dir, skipped)) {
      let byOwner = false;
      let refusal: string | undefined;
      for (const file of [found.files.cert, found.files.key, found.files.issuer]) {
        const verdict = file === undefined ? { byOwner: false } : writersOf(file, dir, owner);
        if (verdict.refused !== undefined) {
          refusal = `${verdict.refused}${allowedBy(verdict, setting)}`;
          break;
        }
        byOwner ||= verdict.byOwner;
      }
      if (refusal !== undefined) {
        refused.push(`${source.client} certificate ${found.label} refused: ${refusal}`);
        continue;
      }
      let chain: CertificateChain;
      try {
        // The certificate read is judged on its descriptor too: a folder above the source's root (not walked) could
        // be swapped by its owner between the walk and the read. The key must match this certificate.
        chain = readChain(found.files, (info) => {
          if (owner !== undefined && info.uid === owner) byOwner = true;
          const trusted = [0, process.getuid?.() ?? 0, ...(owner === undefined ? [] : [owner])];
          if (!trusted.includes(info.uid) || (info.mode & 0o022) !== 0) {
            const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
            throw new CertificateError(
              `the file opened, ${found.files.cert}, is not what was checked (owner user ${info.uid}, mode ${mode})`,
            );
          }
        });
      } catch (error) {
        if (!(error instanceof CertificateError)) throw error;
        skipped.push(`${source.client} certificate ${found.label} skipped: ${error.message}`);
        continue;
      }
      // That user can write a certificate for any name: only the names the config gives them are theirs.
      const foreign = byOwner ? chain.names.filter((name) => !(source.names ?? []).includes(name)) : [];
      if (foreign.length > 0) {
        refused.push(
          `${source.client} certificate ${found.label} refused: user ${owner} (${setting}.owner) could have written it, ` +
            `and ${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not in ${setting}.names`,
        );
        continue;
      }
      for (const target of planTargets(chain.names, sites)) {
        wants.push(wantOf(target, chain, found.files, 'live', false));
      }
    }
  }
  return { wants: newestPerSiteAndKeyType(wants), all: wants, skipped, refused };
}

/** For a refusal because of who owns a file: the setting that would accept that user. */
function allowedBy(verdict: { stranger?: number }, setting: string): string {
  return verdict.stranger === undefined
    ? ''
    : `; to upload what user ${verdict.stranger} writes here, name them in ${setting}.owner and the names they may write certificates for in ${setting}.names`;
}

/**
 * Per site and key type, the want whose certificate expires last; on a tie the earlier one. Imperva keeps one
 * custom certificate per site and key type, and two sources taking turns would upload on every run.
 */
export function newestPerSiteAndKeyType(wants: readonly Want[]): Want[] {
  const newest = new Map<string, Want>();
  for (const want of wants) {
    const key = `${want.siteId}/${want.chain.keyType}`;
    const known = newest.get(key);
    if (known === undefined || want.chain.notAfter > known.chain.notAfter) newest.set(key, want);
  }
  return [...newest.values()];
}

const FINDERS: Record<ClientName, (dir: string, skipped: string[]) => Found[]> = {
  lego: findLego,
  'acme.sh': findAcmeSh,
  dehydrated: findDehydrated,
};

/**
 * lego (4 and 5) writes `certificates/NAME.crt` (leaf and issuer; the leaf alone with --no-bundle),
 * `NAME.issuer.crt`, `NAME.key`, `NAME.json`, and optionally `NAME.pem` and `NAME.pfx`, all regular files. NAME is
 * the first domain with `*` written as `_`. lego's `--path` (the folder above `certificates/`) is accepted too.
 */
function findLego(dir: string, skipped: string[]): Found[] {
  const folder = isRealFolder(join(dir, 'certificates')) ? join(dir, 'certificates') : dir;
  const entries = listFolder(folder, 'lego', skipped);
  const names = new Set(entries.map((entry) => entry.name));
  const found: Found[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith('.crt')) continue;
    const base = entry.name.slice(0, -'.crt'.length);
    // `a.issuer.crt` is a.crt's issuer; only if there is no a.crt is it a certificate named `a.issuer`.
    if (base.endsWith('.issuer') && names.has(`${base.slice(0, -'.issuer'.length)}.crt`)) continue;
    const cert = join(folder, entry.name);
    collect(found, cert, 'lego', skipped, () => {
      checkFile(cert, 'certificate', false);
      const key = join(folder, `${base}.key`);
      checkFile(key, 'private key', false);
      const issuer = join(folder, `${base}.issuer.crt`);
      const hasIssuer = checkFile(issuer, 'issuer certificate', false);
      return { cert, key, issuer: hasIssuer ? issuer : undefined };
    });
  }
  return found;
}

/** acme.sh's own folders in its home, next to the certificates' (`deploy/` holds our plugin). */
const ACME_SH_FOLDERS = new Set(['ca', 'deploy', 'dnsapi', 'notify']);

/**
 * acme.sh keeps each certificate in a folder of its home named after the first domain (`*` kept as it is), with
 * `_ecc` appended for an ECDSA key: `fullchain.cer`, `DOMAIN.cer` (leaf), `ca.cer`, `DOMAIN.key`, `DOMAIN.conf`,
 * `DOMAIN.csr`. Like `acme.sh --list`, a folder is a certificate's when it holds `DOMAIN.conf` (or a full chain).
 */
function findAcmeSh(dir: string, skipped: string[]): Found[] {
  const found: Found[] = [];
  for (const entry of listFolder(dir, 'acme.sh', skipped)) {
    if (entry.name.startsWith('.') || ACME_SH_FOLDERS.has(entry.name)) continue;
    const folder = join(dir, entry.name);
    if (entry.isSymbolicLink() && entry.name.includes('.')) {
      skipped.push(`acme.sh folder ${folder} skipped: it is a symlink, and acme.sh does not make them`);
      continue;
    }
    if (!entry.isDirectory()) continue;
    const domain = entry.name.endsWith('_ecc') ? entry.name.slice(0, -'_ecc'.length) : entry.name;
    const cert = join(folder, 'fullchain.cer');
    if (!exists(cert) && !exists(join(folder, `${domain}.conf`))) continue;
    collect(found, folder, 'acme.sh', skipped, () => {
      checkFile(cert, 'certificate', false);
      const key = join(folder, `${domain}.key`);
      checkFile(key, 'private key', false);
      return { cert, key };
    });
  }
  return found;
}

/**
 * dehydrated keeps each certificate in `certs/NAME/` (NAME: the first domain, or the alias): `fullchain.pem` and
 * `privkey.pem` are symlinks to `fullchain-TIMESTAMP.pem` and `privkey-TIMESTAMP.pem` in the same folder
 * (`privkey.pem` is a plain file when keys are not renewed). Its BASEDIR (the folder above `certs/`) is accepted
 * too.
 */
function findDehydrated(dir: string, skipped: string[]): Found[] {
  const certs = isRealFolder(join(dir, 'certs')) ? join(dir, 'certs') : dir;
  const found: Found[] = [];
  for (const entry of listFolder(certs, 'dehydrated', skipped)) {
    if (entry.name.startsWith('.')) continue;
    const folder = join(certs, entry.name);
    if (entry.isSymbolicLink()) {
      skipped.push(`dehydrated folder ${folder} skipped: it is a symlink, and dehydrated does not make them`);
      continue;
    }
    if (!entry.isDirectory()) continue;
    const cert = join(folder, 'fullchain.pem');
    collect(found, folder, 'dehydrated', skipped, () => {
      checkFile(cert, 'certificate', true);
      const key = join(folder, 'privkey.pem');
      checkFile(key, 'private key', true);
      return { cert, key };
    });
  }
  return found;
}

/** The entries of a client's folder, sorted; a folder that cannot be read is a warning, not an exception. */
function listFolder(folder: string, client: ClientName, skipped: string[]): Dirent[] {
  let stats: Stats;
  try {
    stats = statSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    skipped.push(
      `${client} folder ${folder} (config sources) ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'unknown error'})`}`,
    );
    return [];
  }
  if (!stats.isDirectory()) {
    skipped.push(`${client} folder ${folder} (config sources) is not a folder`);
    return [];
  }
  try {
    return readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (error) {
    skipped.push(
      `${client} folder ${folder} (config sources) cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`,
    );
    return [];
  }
}

/** Runs a finder's checks for one certificate; a problem is a warning, and the certificate is left out. */
function collect(
  found: Found[],
  label: string,
  client: ClientName,
  skipped: string[],
  files: () => CertificateFiles,
): void {
  try {
    found.push({ label, files: files() });
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    skipped.push(`${client} certificate ${label} skipped: ${error.message}`);
  }
}

/**
 * Whether `file` is there, refusing anything the client would not have written: only a regular file of sane size,
 * or (where the client makes them) a symlink to one in the same folder. A FIFO or device could block or feed the
 * run forever; a link elsewhere would read a file the client never wrote. A missing file is left to readChain and
 * the key check, which say so in their own words.
 */
function checkFile(file: string, role: string, symlinkInFolder: boolean): boolean {
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CertificateError(
      `${role} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`,
    );
  }
  if (stats.isSymbolicLink() && symlinkInFolder) {
    const target = readlinkSync(file);
    if (target.includes('/')) {
      throw new CertificateError(
        `${role} ${file} is a symlink to ${target}, outside its own folder (dehydrated links within it)`,
      );
    }
    try {
      stats = lstatSync(join(file, '..', target));
    } catch {
      throw new CertificateError(
        `${role} ${file} is a dangling symlink (its target ${target} does not exist)`,
      );
    }
    if (stats.isSymbolicLink()) throw new CertificateError(`${role} ${file} is a symlink to a symlink`);
  }
  if (!stats.isFile()) throw new CertificateError(`${role} ${file} is not a regular file (${kindOf(stats)})`);
  if (stats.size > MAX_PEM_BYTES) {
    throw new CertificateError(`${role} ${file} is larger than 1 MiB, too large to be a PEM file`);
  }
  return true;
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}

function isRealFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
