/**
 * The config is judged as the file that is read, not only as the path checked a moment before: whoever can replace
 * a folder above it (a home folder of another user that holds root's config folder) could swap in a file of their
 * own between the check and the open, and root would run their onFailure and send the key where they say. The swap
 * is made at the open itself by a probe preloaded into the built CLI, so the test does not depend on a race.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { runProbed } from '../support/harness.js';
import { createWorld, type World } from '../support/world.js';

/** Renames SWAP_WITH over SWAP_FROM when the CLI first opens SWAP_FROM; says whether it did in PROBE_OUT. */
const SWAP_PROBE = `
const fs = require('node:fs');
const real = fs.openSync;
let swapped = false;
fs.openSync = function (path, ...rest) {
  if (!swapped && String(path) === process.env.SWAP_FROM) {
    swapped = true;
    fs.renameSync(process.env.SWAP_WITH, process.env.SWAP_FROM);
  }
  return real.call(this, path, ...rest);
};
process.on('exit', () => fs.writeFileSync(process.env.PROBE_OUT, String(swapped)));
`;

const STRANGER = 4321;
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a config swapped between the trust check and the read', () => {
  for (const [what, prepare, said] of [
    [
      'for a file another user owns',
      (file: string) => chownSync(file, STRANGER, STRANGER),
      /the file opened is owned by user 4321, not by root/,
    ],
    [
      'for a file writable by others',
      (file: string) => chmodSync(file, 0o666),
      /the file opened is writable by group or others \(mode 0666\)/,
    ],
  ] as const) {
    it(`${what}: refused, exit 2, nothing sent to the address it names`, async () => {
      world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
      // Their file: the same config, with an onFailure of theirs (root would run it) — shown refused, not read.
      const swap = join(world.dir, 'theirs.json');
      const theirs = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(swap, JSON.stringify({ ...theirs, onFailure: ['/bin/sh', '-c', 'touch /tmp/owned'] }), {
        mode: 0o600,
      });
      mkdirSync(join(world.dir, 'unused'), { recursive: true });
      prepare(swap);
      const result = await runProbed(SWAP_PROBE, ['check', '--live-dir', join(world.dir, 'unused')], {
        ...world.env,
        SWAP_FROM: world.configFile,
        SWAP_WITH: swap,
      });
      assert.equal(result.probed, 'true', 'the probe swapped the file at the open');
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^error: ${world.configFile.replaceAll('.', '\\.')}: not trusted: `, 'm'),
      );
      assert.match(result.stderr, said);
      assert.equal(world.fake.requests.length, 0, 'nothing was sent');
    });
  }
});
