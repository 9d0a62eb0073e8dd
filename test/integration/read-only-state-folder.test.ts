/**
 * status and check keep the CA's answers in the ARI cache, but they never make the state folder for it: run by hand
 * before anything is installed (as root, or as a user who cannot write /var/lib), they made /var/lib/incap-cert, or
 * warned that they could not. The cache is an aid; the next run asks the CA again. Through the built CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { FakeCa } from '../support/fake-ca.js';
import { createAriWorld } from '../support/ari-world.js';
import { runCli } from '../support/harness.js';
import { createPki } from '../support/pki.js';
import type { World } from '../support/world.js';

const DAY = 86_400_000;
let world: World | undefined;
let ca: FakeCa | undefined;
after(async () => {
  await world?.close();
  await ca?.close();
});

describe('read-only commands and a state folder that is not there yet', () => {
  for (const command of ['status', 'check'] as const) {
    it(`${command} asks the CA but makes no state folder, and says nothing about it`, async () => {
      await world?.close();
      await ca?.close();
      const made = await createAriWorld(await createPki(), 90, 1);
      ({ world, ca } = made);
      made.ca.answers.set(made.id, {
        window: { start: new Date(made.now + 58 * DAY), end: new Date(made.now + 60 * DAY) },
      });
      rmSync(made.world.stateDir, { recursive: true, force: true });
      const run = await runCli([command, '--live-dir', made.liveDir], made.world.env);
      assert.ok(made.ca.asked > 0, 'the CA was asked');
      assert.equal(existsSync(made.world.stateDir), false, `${command} made ${made.world.stateDir}`);
      assert.doesNotMatch(run.stderr, /ARI cache/);
    });
  }
});
