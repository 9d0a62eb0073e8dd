/**
 * A source's certificate is judged on the file opened, not only on the path walked a moment before: the walk stops
 * at the source's root, and whoever owns a folder above it can swap a certificate folder of their own in between.
 * Their certificate (and their key, which matches it) would be uploaded to every site its names map to. The swap is
 * made at the open itself by a probe preloaded into the built CLI, so the test does not depend on a race.
 */
import assert from 'node:assert/strict';
import { chownSync, lchownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { writeAcmeSh } from '../support/client-layouts.js';
import { runProbed } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

/** When the CLI first opens SWAP_AT, renames the folder SWAP_FROM away and SWAP_WITH in its place. */
const SWAP_PROBE = `
const fs = require('node:fs');
const real = fs.openSync;
let swapped = false;
fs.openSync = function (path, ...rest) {
  if (!swapped && String(path) === process.env.SWAP_AT) {
    swapped = true;
    fs.renameSync(process.env.SWAP_FROM, process.env.SWAP_FROM + '.away');
    fs.renameSync(process.env.SWAP_WITH, process.env.SWAP_FROM);
  }
  return real.call(this, path, ...rest);
};
process.on('exit', () => fs.writeFileSync(process.env.PROBE_OUT, String(swapped)));
`;

const STRANGER = 4321;
let own: Leaf;
let forged: Leaf;
before(async () => {
  const pki = await createPki();
  own = await issueLeaf(pki, { names: ['example.com'] });
  // What the other user writes: a certificate for a name that is not theirs, and its key.
  forged = await issueLeaf(pki, { names: ['www.example.com'] });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe("an acme.sh certificate folder swapped for another user's between the walk and the read", () => {
  it('is refused, naming the owner of the file opened; nothing of theirs is uploaded', async () => {
    world = await createWorld();
    const home = join(world.dir, 'root-home', '.acme.sh');
    const ours = writeAcmeSh(home, 'example.com', own, true);
    const theirs = writeAcmeSh(join(world.dir, 'their-home'), 'example.com', forged, true);
    for (const path of [theirs.folder as string, theirs.cert, theirs.key, theirs.issuer])
      chownSync(path, STRANGER, STRANGER);
    const live = join(world.dir, 'no-certbot');
    mkdirSync(live);
    const config = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      world.configFile,
      JSON.stringify({ ...config, liveDir: live, sources: { 'acme.sh': [home] } }),
      {
        mode: 0o600,
      },
    );
    const result = await runProbed(SWAP_PROBE, ['sync'], {
      ...world.env,
      SWAP_AT: ours.cert,
      SWAP_FROM: ours.folder,
      SWAP_WITH: theirs.folder,
    });
    assert.equal(result.probed, 'true', 'the probe swapped the folder at the open');
    assert.deepEqual(
      world.fake.uploads().filter((upload) => upload.form.input_hash === forged.fingerprint),
      [],
      'their certificate and key reached no site',
    );
    assert.match(
      result.stderr,
      new RegExp(
        `acme\\.sh certificate .*example\\.com_ecc .*the file opened, .*fullchain\\.cer, is not what was checked \\(owner user ${STRANGER}, mode 0644\\)`,
      ),
    );
  });
});

describe("a Certbot config folder swapped for another user's between the walk and the read", () => {
  it('is refused, naming the owner of the file opened; nothing of theirs is uploaded', async () => {
    world = await createWorld();
    const le = join(world.dir, 'le');
    const lineage = writeCertbotLineage(le, 'example.com', own);
    const theirs = join(world.dir, 'their-le');
    writeCertbotLineage(theirs, 'example.com', forged);
    chownSync(theirs, STRANGER, STRANGER);
    for (const entry of readdirSync(theirs, { recursive: true }))
      lchownSync(join(theirs, String(entry)), STRANGER, STRANGER);
    const result = await runProbed(SWAP_PROBE, ['sync', '--live-dir', join(le, 'live')], {
      ...world.env,
      SWAP_AT: join(lineage, 'fullchain.pem'),
      SWAP_FROM: le,
      SWAP_WITH: theirs,
    });
    assert.equal(result.probed, 'true', 'the probe swapped the folder at the open');
    assert.deepEqual(
      world.fake.uploads().filter((upload) => upload.form.input_hash === forged.fingerprint),
      [],
      'their certificate and key reached no site',
    );
    assert.match(
      result.stderr,
      new RegExp(
        `certificate .*live/example\\.com/fullchain\\.pem is refused: the file opened is not what was checked \\(owner user ${STRANGER}, mode 0644\\)`,
      ),
    );
  });
});
