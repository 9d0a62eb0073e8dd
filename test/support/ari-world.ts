/**
 * A world for the CA's schedule (ARI): a Certbot lineage for example.com whose renewal configuration names a fake
 * CA, pushed once so that Imperva holds it (status is healthy but for the schedule).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateIdentifier } from '../../src/ari/identifier.js';
import { FakeCa, renewalConf } from './fake-ca.js';
import { runCli } from './harness.js';
import { issueLeaf, writeCertbotLineage, type Leaf, type Pki } from './pki.js';
import { createWorld, type World } from './world.js';

const DAY = 86_400_000;
export const ARI_NAME = 'example.com';

export interface AriWorld {
  world: World;
  ca: FakeCa;
  leaf: Leaf;
  /** The lineage's live folder, its Certbot config folder and live folder. */
  live: string;
  configDir: string;
  liveDir: string;
  /** The certificate identifier the CA is asked about. */
  id: string;
  /** The time the certificate's dates are counted from. */
  now: number;
}

/** A lineage of `days` days, issued `ageDays` ago, renewed by Certbot `version`, its conf naming `server`. */
export async function createAriWorld(
  pki: Pki,
  days: number,
  ageDays: number,
  options: { version?: string; config?: Record<string, unknown>; server?: string } = {},
): Promise<AriWorld> {
  const world = await createWorld({
    map: { [ARI_NAME]: 1234567 },
    ...(options.config ? { config: options.config } : {}),
  });
  const ca = await FakeCa.start();
  const configDir = join(world.dir, 'letsencrypt');
  const now = Date.now();
  const leaf = await issueLeaf(pki, {
    names: [ARI_NAME],
    notBefore: new Date(now - ageDays * DAY),
    notAfter: new Date(now - ageDays * DAY + days * DAY),
  });
  const live = writeCertbotLineage(configDir, ARI_NAME, leaf);
  mkdirSync(join(configDir, 'renewal'), { recursive: true, mode: 0o755 });
  writeFileSync(
    join(configDir, 'renewal', `${ARI_NAME}.conf`),
    renewalConf(options.server ?? ca.directoryUrl, options.version),
    { mode: 0o644 },
  );
  const pushed = await runCli(['push', '--lineage', live], world.env);
  assert.equal(pushed.code, 0, pushed.stderr);
  ca.requests.length = 0;
  const read = await certificateIdentifier(leaf.certPem);
  assert.ok('id' in read);
  return { world, ca, leaf, live, configDir, liveDir: join(configDir, 'live'), id: read.id, now };
}
