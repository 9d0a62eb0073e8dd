/**
 * A world for sync tests around the deadline: sites all mapped to example.com, the leaf's lineage in the config's
 * live folder, and an onFailure that leaves a mark. `queued` reads the queue file, `rewrite` edits its entries (to
 * move their clocks), `ran` says whether onFailure ran since the last look.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCertbotLineage, type Leaf } from './pki.js';
import { createWorld, type World } from './world.js';

export interface QueuedEntry {
  siteId: string;
  state: string;
  since: string;
  lastFailure?: string;
  firstFailure?: string;
  lastError: string;
  unreachedSince: string;
}

export async function createSyncWorld(
  sites: readonly string[],
  leaf: Leaf,
  config: Record<string, unknown> = {},
) {
  const world: World = await createWorld({
    sites: Object.fromEntries(sites.map((id) => [id, 'example.com'])),
    map: { 'example.com': sites.map(Number) },
    config: { deadlineSeconds: 3, ...config },
  });
  const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
  const mark = join(world.dir, 'on-failure-ran');
  const hook = join(world.dir, 'on-failure.sh');
  writeFileSync(hook, `#!/bin/sh\ntouch '${mark}'\n`);
  chmodSync(hook, 0o755);
  const written = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    world.configFile,
    JSON.stringify({ ...written, liveDir: join(world.dir, 'le', 'live'), onFailure: [hook] }, null, 2),
    { mode: 0o600 },
  );
  const queued = (): QueuedEntry[] =>
    existsSync(world.queueFile)
      ? (JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: QueuedEntry[] }).entries
      : [];
  const rewrite = (change: (entry: QueuedEntry) => void) => {
    const file = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: QueuedEntry[] };
    file.entries.forEach(change);
    writeFileSync(world.queueFile, JSON.stringify(file, null, 2), { mode: 0o600 });
  };
  const ran = () => {
    const was = existsSync(mark);
    rmSync(mark, { force: true });
    return was;
  };
  return { world, lineage, queued, rewrite, ran };
}
