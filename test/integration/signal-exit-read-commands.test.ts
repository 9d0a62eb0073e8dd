/**
 * Every command stopped by a catchable signal exits 128 + its number, not only the ones that upload.
 * `status` and `check` read from Imperva too; stopped while Imperva does not answer, they exited 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let world: World | undefined;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
afterEach(() => world?.close());
after(() => world?.close());

const CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

describe('a read-only command stopped by a signal', () => {
  for (const command of ['status', 'check']) {
    for (const [signal, code] of Object.entries(CODES)) {
      it(`${command}, ${signal} while Imperva does not answer: exit ${code}, no stack trace`, async () => {
        world = await createWorld();
        const live = join(world.dir, 'le');
        writeCertbotLineage(live, 'example.com', leaf);
        world.fake.inject({ times: Infinity, fault: { hang: true } });
        const fake = world.fake;
        const child = spawn(process.execPath, [CLI, command, '--live-dir', join(live, 'live')], {
          env: { PATH: process.env.PATH, ...world.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
          child.on('close', (exit, by) => resolve([exit, by])),
        );
        // Wait until a request is held by the fake (no timing assumption about how long that takes).
        while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        child.kill(signal as NodeJS.Signals);
        const [exit, by] = await closed;
        assert.equal(by, null, 'exits on its own, not killed by the signal');
        assert.equal(exit, code, output);
        assert.doesNotMatch(output, /^\s+at /m);
      });
    }
  }
});
