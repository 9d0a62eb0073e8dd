/**
 * Success means success, and input is bounded: through the built CLI against the fake API. An odd `res` is an
 * unexpected answer (retried, queued when it persists); an answer over 1 MiB — plain, or compressed and inflating
 * past it — is abandoned and retried, even when what it would have said is a success.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Fault } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});

async function deploy(rule: { fault: Fault; times?: number }) {
  const world = await createWorld({ map: { 'example.com': 1234567 } });
  try {
    world.fake.inject({ endpoint: 'upload', ...rule });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    const queue = existsSync(world.queueFile) ? readFileSync(world.queueFile, 'utf8') : undefined;
    return { result, uploads: world.fake.uploads().length, served: world.fake.serving('1234567'), queue };
  } finally {
    await world.close();
  }
}

const json = (body: string): Fault => ({ contentType: 'application/json', body });

describe('only res 0 or "0" is a success', { concurrency: true }, () => {
  const odd: [string, string][] = [
    ['res null', '{"res":null,"res_message":"OK"}'],
    ['no res', '{"res_message":"OK"}'],
    ['res ""', '{"res":"","res_message":"OK"}'],
    ['res false', '{"res":false}'],
    ['res []', '{"res":[]}'],
    ['res " "', '{"res":" "}'],
  ];
  for (const [title, body] of odd) {
    it(`${title} once: retried, then delivered`, async () => {
      const { result, uploads, served } = await deploy({ fault: json(body) });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^site 1234567: Imperva answered .*; retrying in .* \(attempt 2 of 4\)$/m);
      assert.equal(uploads, 2);
      assert.equal(served?.fingerprint, leaf.fingerprint);
    });
  }

  it('res null for ever: not a success, queued, exit 1', async () => {
    const { result, uploads, queue } = await deploy({ fault: json('{"res":null}'), times: Infinity });
    assert.equal(result.code, 1);
    assert.equal(uploads, 4);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(example\.com\): upload failed: Imperva answered an unexpected res \(null\) \(HTTP 200\)$/m,
    );
    assert.ok(queue?.includes('"1234567"'), 'queued');
  });
});

describe('answers over 1 MiB are abandoned and retried', { concurrency: true }, () => {
  // What each would say, were it read to the end, is a success: only the bound tells them apart.
  const big = `{"res":0,"res_message":"OK","pad":"${' '.repeat(2 * 1024 * 1024)}"}`;
  const bomb = `{"res":0,"res_message":"OK","pad":"${'0'.repeat(64 * 1024 * 1024)}"}`;
  const cases: [string, Fault][] = [
    ['a 2 MiB answer', json(big)],
    [
      'a gzip answer that inflates to 64 MiB',
      {
        contentType: 'application/json',
        headers: { 'content-encoding': 'gzip' },
        bodyBytes: gzipSync(bomb, { level: 9 }),
      },
    ],
    [
      'a brotli answer that inflates to 64 MiB',
      {
        contentType: 'application/json',
        headers: { 'content-encoding': 'br' },
        bodyBytes: brotliCompressSync(bomb, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }),
      },
    ],
  ];
  for (const [title, fault] of cases) {
    it(`${title}: an unexpected answer, retried, then delivered`, async () => {
      const { result, uploads, served } = await deploy({ fault });
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^site 1234567: Imperva answered with more than 1 MiB \(HTTP 200\); retrying in .* \(attempt 2 of 4\)$/m,
      );
      assert.equal(uploads, 2);
      assert.equal(served?.fingerprint, leaf.fingerprint);
    });
  }
});
