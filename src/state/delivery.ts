import { join } from 'node:path';
import type { KeyType } from '../model/certificate.js';
import type { Log } from '../log/logger.js';
import * as v from 'valibot';
import { issueAt, StateFile, stateTime, type RunBounds } from './state-file.js';

/**
 * What this host delivered to Imperva: `delivered.json` in the state folder, one record per site and key type (the
 * last upload Imperva stored). It tells this host's certificates at Imperva from those some other host or tool put
 * there (a key-type switch leaves ours behind, and only ours is this host's to remove), keeps what Imperva said
 * about an upload (a flagged chain shows nowhere else), and dates each upload (the edge takes a while to serve it).
 *
 * The record is an aid, never a gate: it is read under the queue's trust rules (no link, no FIFO, owned by root or
 * us, writable by no one else, bounded in size), and one that cannot be trusted or parsed is set aside with a
 * warning and counts as empty. It is changed under the queue's lock, like every write in the state folder
 * (src/state/state-file.ts).
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

export function deliveryKey(siteId: string, keyType: KeyType): string {
  return `${siteId} ${keyType}`;
}

export class DeliveryRecord {
  readonly file: string;
  private readonly state: StateFile<Map<string, Delivery>>;

  constructor(
    readonly stateDir: string,
    log: Log,
    now: () => Date = () => new Date(),
    lockWaitMs = 15_000,
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    run: RunBounds = {},
  ) {
    this.file = join(stateDir, 'delivered.json');
    this.state = new StateFile(
      {
        file: this.file,
        label: 'delivery record',
        maxBytes: MAX_DELIVERY_BYTES,
        version: DELIVERY_VERSION,
        parse: parseDeliveries,
        serialize: (deliveries) => ({ deliveries: [...deliveries.values()] }),
        empty: () => new Map<string, Delivery>(),
        failureNote: 'the uploads stand',
      },
      log,
      now,
      run,
      lockWaitMs,
    );
  }

  /** What was delivered, by site and key type (deliveryKey); empty when there is no record or it cannot be used. */
  read(): Promise<Map<string, Delivery>> {
    return this.state.read();
  }

  /** Records these deliveries, each replacing the last of its site and key type. Never throws: a failure is a warning. */
  async record(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.state.change((all) => {
      for (const delivery of deliveries) all.set(deliveryKey(delivery.siteId, delivery.keyType), delivery);
    });
  }

  /** Forgets the deliveries of these sites and key types (removed from Imperva). Never throws. */
  async forget(keys: readonly { siteId: string; keyType: KeyType }[]): Promise<void> {
    if (keys.length === 0) return;
    await this.state.change((all) => {
      for (const { siteId, keyType } of keys) all.delete(deliveryKey(siteId, keyType));
    });
  }
}

/** A name as Imperva and the certificate hold it. */
const name = v.pipe(v.string(), v.minLength(1), v.maxLength(253), v.regex(/^[a-z0-9*._-]+$/i));

/** One delivery, every field what incap-cert writes (fields it does not know are left out). */
const DeliverySchema = v.object({
  siteId: v.pipe(v.string(), v.regex(/^[0-9]{1,15}$/)),
  keyType: v.picklist(['RSA', 'ECC']),
  fingerprint: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  sha1: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/)),
  notAfter: stateTime,
  // Any chain a certificate file can hold (MAX_CHAIN_BYTES, a few hundred bytes a certificate): at 20, a fullchain
  // with a CA bundle appended was uploaded, and its delivery refused by this reader, the record set aside each run.
  chainLength: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
  names: v.pipe(v.array(name), v.maxLength(1000)),
  at: stateTime,
  flags: v.array(v.picklist(['coverageError', 'chainError'])),
  uncovered: v.optional(v.array(name)),
});

function parseDeliveries(
  json: Record<string, unknown>,
): { value: Map<string, Delivery> } | { problem: string } {
  if (!Array.isArray(json.deliveries)) return { problem: 'it holds no list of deliveries' };
  const deliveries = new Map<string, Delivery>();
  for (const [index, item] of json.deliveries.entries()) {
    const read = v.safeParse(DeliverySchema, item);
    if (!read.success) return { problem: `entry ${index} is not valid (${issueAt(read.issues)})` };
    const delivery: Delivery = read.output;
    deliveries.set(deliveryKey(delivery.siteId, delivery.keyType), delivery);
  }
  return { value: deliveries };
}
