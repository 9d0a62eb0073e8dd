/**
 * A world with one mapped site behind a fake edge (test/support/fake-edge.ts) that serves what the fake API holds,
 * and the delivery record as the tests of what follows from it read and age it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeEdge } from './fake-edge.js';
import { writeConfig } from './harness.js';
import { createWorld, type World } from './world.js';

export interface EdgeWorld {
  w: World;
  /** Certbot's config folder, and its live folder. */
  le: string;
  live: string;
  /** The CLI's environment, the edge's address included. */
  env: Record<string, string>;
  edge: FakeEdge;
  /** Rewrites the config with these fields added. */
  configure: (fields: Record<string, unknown>) => void;
  close: () => Promise<void>;
}

/** `example.com` mapped to `siteId` (or `map`); the edge serves an upload after `propagationMs` (default at once). */
export async function createEdgeWorld(
  siteId: string,
  options: { propagationMs?: number; map?: Record<string, unknown> } = {},
): Promise<EdgeWorld> {
  const w = await createWorld({
    sites: { [siteId]: 'example.com' },
    map: options.map ?? { 'example.com': Number(siteId) },
  });
  const edge = await FakeEdge.start({ imperva: w.fake, propagationMs: options.propagationMs ?? 0 });
  const base = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
  return {
    w,
    le: join(w.dir, 'le'),
    live: join(w.dir, 'le', 'live'),
    env: { ...w.env, INCAP_CERT_EDGE: edge.address },
    edge,
    configure: (fields) => writeConfig(w.dir, { ...base, ...fields }),
    close: async () => {
      await edge.close();
      await w.close();
    },
  };
}

export interface DeliveryFile {
  version: number;
  deliveries: { siteId: string; keyType: string; fingerprint: string; at: string; flags: string[] }[];
}

export const deliveryFile = (w: World) => join(w.stateDir, 'delivered.json');
export const readDeliveries = (w: World) => JSON.parse(readFileSync(deliveryFile(w), 'utf8')) as DeliveryFile;

/** Moves every recorded delivery back in time (as if the uploads were made `ms` earlier). */
export function backdateDeliveries(w: World, ms: number): void {
  const record = readDeliveries(w);
  for (const delivery of record.deliveries)
    delivery.at = new Date(Date.parse(delivery.at) - ms).toISOString();
  writeFileSync(deliveryFile(w), JSON.stringify(record), { mode: 0o600 });
}
