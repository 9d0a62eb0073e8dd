import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyType } from '../model/certificate.js';
import { LockTimeoutError, StateError } from '../model/errors.js';
import type { Log } from '../log/logger.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';
import { untrustedFolderReason } from '../util/trust.js';
import { atomicWrite } from './atomic-write.js';
import { withLock } from './lock.js';
import { readQueueText } from './queue-file.js';

/**
 * What this host delivered to Imperva: `delivered.json` in the state folder, one record per site and key type (the
 * last upload Imperva stored). It tells this host's certificates at Imperva from those some other host or tool put
 * there (a key-type switch leaves ours behind, and only ours is this host's to remove), keeps what Imperva said
 * about an upload (a flagged chain shows nowhere else), and dates each upload (the edge takes a while to serve it).
 *
 * The record is an aid, never a gate: it is read under the queue's trust rules (no link, no FIFO, owned by root or
 * us, writable by no one else, bounded in size), and one that cannot be trusted or parsed is set aside with a
 * warning and counts as empty. It is changed under the queue's lock, like every write in the state folder.
 */

/** What Imperva flagged on an upload it stored (src/imperva/errors.ts FlaggedUpload). */
export type DeliveryFlag = 'coverageError' | 'chainError';

export interface Delivery {
  siteId: string;
  keyType: KeyType;
  /** SHA-256 of the leaf, lowercase hex: what was sent as `input_hash`. */
  fingerprint: string;
  /** SHA-1 of the leaf, lowercase hex: what v3 lists as the fingerprint. */
  sha1: string;
  notAfter: string;
  /** How many certificates the chain sent held (a fuller chain is another delivery). */
  chainLength: number;
  /** The names mapped to the site when it was sent (other names are another delivery). */
  names: string[];
  /** When Imperva stored it (ISO time). */
  at: string;
  flags: DeliveryFlag[];
  /** With coverageError: the mapped names the certificate leaves out, when known. */
  uncovered?: string[] | undefined;
}

export const DELIVERY_VERSION = 1;
/** Two records per site; a few hundred bytes each: thousands of sites are a few MiB. */
const MAX_DELIVERY_BYTES = 16 * 1024 * 1024;
const FLAGS: ReadonlySet<string> = new Set(['coverageError', 'chainError']);

export function deliveryKey(siteId: string, keyType: KeyType): string {
  return `${siteId} ${keyType}`;
}

export class DeliveryRecord {
  readonly file: string;
  private readonly lockFile: string;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
    private readonly lockWaitMs = 15_000,
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    private readonly run: { endsAt?: number; signal?: AbortSignal } = {},
  ) {
    this.file = join(stateDir, 'delivered.json');
    this.lockFile = join(stateDir, 'queue.lock');
  }

  /** What was delivered, by site and key type (deliveryKey); empty when there is no record or it cannot be used. */
  async read(): Promise<Map<string, Delivery>> {
    const untrusted = untrustedFolderReason(this.stateDir);
    // The retry queue says so, once: a state folder others could write is not read for anything.
    if (untrusted !== undefined) {
      this.log.debug(`not reading the delivery record in ${this.stateDir}: ${untrusted}`);
      return new Map();
    }
    try {
      const loaded = await this.load();
      if (loaded.problem !== undefined) {
        this.log.warn(`delivery record ${this.file}: ${loaded.problem}; the next upload keeps it aside`);
      }
      return loaded.deliveries;
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      this.log.warn(error.message);
      return new Map();
    }
  }

  /** Records these deliveries, each replacing the last of its site and key type. Never throws: a failure is a warning. */
  async record(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.change((all) => {
      for (const delivery of deliveries) all.set(deliveryKey(delivery.siteId, delivery.keyType), delivery);
    });
  }

  /** Forgets the deliveries of these sites and key types (removed from Imperva). Never throws. */
  async forget(keys: readonly { siteId: string; keyType: KeyType }[]): Promise<void> {
    if (keys.length === 0) return;
    await this.change((all) => {
      for (const { siteId, keyType } of keys) all.delete(deliveryKey(siteId, keyType));
    });
  }

  private async change(fn: (all: Map<string, Delivery>) => void): Promise<void> {
    const untrusted = untrustedFolderReason(this.stateDir);
    if (untrusted !== undefined) {
      this.log.debug(`not recording deliveries in ${this.stateDir}: ${untrusted}`);
      return;
    }
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await withLock(
        this.lockFile,
        async () => {
          const loaded = await this.load();
          if (loaded.problem !== undefined) {
            const aside = `${this.file}.rejected-${this.now().toISOString().replace(/[:.]/g, '-')}`;
            await rename(this.file, aside);
            this.log.warn(`delivery record ${this.file}: ${loaded.problem}; kept aside as ${aside}`);
          }
          fn(loaded.deliveries);
          await atomicWrite(this.file, serialize(loaded.deliveries));
        },
        { waitMs: this.lockWaitMs, deadlineAt: this.run.endsAt, signal: this.run.signal },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        // The state folder's path is not a folder: the queue names it in its own line, once.
        this.log.debug(`not recording deliveries: ${this.stateDir} is not a folder`);
        return;
      }
      const why =
        error instanceof LockTimeoutError || error instanceof StateError
          ? error.message
          : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      this.log.warn(`cannot update the delivery record ${this.file} (${why}); the uploads stand`);
    }
  }

  /** The record as it is on disk, and why it cannot be used (then it is read as empty). */
  private async load(): Promise<{ deliveries: Map<string, Delivery>; problem?: string | undefined }> {
    const deliveries = new Map<string, Delivery>();
    const read = await readQueueText(this.file, MAX_DELIVERY_BYTES);
    if (read === undefined) return { deliveries };
    if ('unusable' in read) return { deliveries, problem: `not read (${read.unusable})` };
    let json: unknown;
    try {
      json = parseStrictJson(read.text);
    } catch (error) {
      return { deliveries, problem: `corrupt (${(error as Error).message})` };
    }
    if (!isObject(json) || json.version !== DELIVERY_VERSION || !Array.isArray(json.deliveries)) {
      return { deliveries, problem: `not a delivery record of version ${DELIVERY_VERSION}` };
    }
    for (const [index, item] of json.deliveries.entries()) {
      const delivery = readDelivery(item);
      if (delivery === undefined) return { deliveries: new Map(), problem: `entry ${index} is not valid` };
      deliveries.set(deliveryKey(delivery.siteId, delivery.keyType), delivery);
    }
    return { deliveries };
  }
}

function serialize(deliveries: Map<string, Delivery>): string {
  return `${JSON.stringify({ version: DELIVERY_VERSION, deliveries: [...deliveries.values()] }, null, 2)}\n`;
}

const isName = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 253 && /^[a-z0-9*._-]+$/i.test(value);
const isTime = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));

/** One record, every field checked; undefined when any is not what incap-cert writes. */
function readDelivery(item: unknown): Delivery | undefined {
  if (!isObject(item)) return undefined;
  const { siteId, keyType, fingerprint, sha1, notAfter, chainLength, names, at, flags, uncovered } = item;
  if (typeof siteId !== 'string' || !/^[0-9]{1,15}$/.test(siteId)) return undefined;
  if (keyType !== 'RSA' && keyType !== 'ECC') return undefined;
  if (typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint)) return undefined;
  if (typeof sha1 !== 'string' || !/^[0-9a-f]{40}$/.test(sha1)) return undefined;
  if (!isTime(notAfter) || !isTime(at)) return undefined;
  if (
    typeof chainLength !== 'number' ||
    !Number.isInteger(chainLength) ||
    chainLength < 1 ||
    chainLength > 20
  )
    return undefined;
  if (!Array.isArray(names) || names.length > 1000 || !names.every(isName)) return undefined;
  if (!Array.isArray(flags) || !flags.every((flag) => typeof flag === 'string' && FLAGS.has(flag)))
    return undefined;
  if (uncovered !== undefined && (!Array.isArray(uncovered) || !uncovered.every(isName))) return undefined;
  return {
    siteId,
    keyType,
    fingerprint,
    sha1,
    notAfter,
    chainLength,
    names: names,
    at,
    flags: flags as DeliveryFlag[],
    ...(uncovered === undefined ? {} : { uncovered: uncovered }),
  };
}
