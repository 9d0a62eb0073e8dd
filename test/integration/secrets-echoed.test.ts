/**
 * When Imperva echoes the API key or the private key in an error — whole, cut short, base64, URL-encoded, split
 * over lines — no part of either reaches stdout, stderr, the log file or the onFailure input.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runGuarded } from '../support/guarded-run.js';
import { tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'], keyType: 'rsa' });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

/** Any 8-character piece of any form of the secrets left in `text`. */
function pieceLeft(text: string, secrets: readonly string[]): string | undefined {
  for (const secret of secrets) {
    for (let start = 0; start + 8 <= secret.length; start += 1) {
      const piece = secret.slice(start, start + 8);
      if (text.includes(piece)) return piece;
    }
  }
  return undefined;
}

function secretForms(apiKey: string, keyPem: string): string[] {
  const body = keyPem.split('\n').filter((line) => /^[A-Za-z0-9+/=]+$/.test(line));
  return [
    apiKey,
    Buffer.from(apiKey).toString('base64'),
    Buffer.from(keyPem).toString('base64'),
    body.join(''),
  ];
}

type Echo = (apiKey: string, keyPem: string) => string;
const filler = 'Invalid input: the request could not be processed because '.padEnd(170, '.');
const sent = (keyPem: string) => Buffer.from(keyPem).toString('base64');
const bodyLines = (keyPem: string) => keyPem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));

const echoes: [string, Echo][] = [
  ['the API key, cut short by the 200-character message limit', (key) => `${filler} key ${key}`],
  ['the API key split over lines', (key) => `bad key:\n${key.slice(0, 14)}\n${key.slice(14)}`],
  ['the API key in base64', (key) => `bad credentials ${Buffer.from(key).toString('base64')}`],
  ['the API key URL-encoded', (key) => `api_id=12345&api_key=${encodeURIComponent(key)}`],
  ['the private key as sent (base64), cut short', (_key, pem) => `${filler} private_key=${sent(pem)}`],
  ['the middle of the private key as sent', (_key, pem) => `bad key ${sent(pem).slice(300, 420)}`],
  [
    'private key lines, split and re-wrapped',
    (_key, pem) => {
      const lines = bodyLines(pem);
      return `key:\n${lines[2]?.slice(10)}\n${lines[3]}${lines[4]?.slice(0, 30)}`;
    },
  ],
];

describe('secrets echoed by Imperva never persist', () => {
  for (const [title, echo] of echoes) {
    it(`${title}: not on stdout, stderr, in the log file or the onFailure input`, async () => {
      const dir = tempDir();
      const captured = join(dir, 'on-failure-input.json');
      const hook = join(dir, 'on-failure.sh');
      writeFileSync(hook, `#!/bin/sh\ncat > '${captured}'\n`);
      chmodSync(hook, 0o755);
      world = await createWorld({ map: { 'example.com': 1234567 }, config: { onFailure: [hook] } });
      world.fake.inject({
        endpoint: 'upload',
        times: Infinity,
        fault: {
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({ res: 2, res_message: echo(world.apiKey, leaf.keyPem) }),
        },
      });
      const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const logFile = join(world.dir, 'log', 'incap-cert.log');
      const result = await runGuarded(['deploy', '--verbose', '--log-file', logFile], {
        env: { ...world.env, RENEWED_LINEAGE: live },
      });
      assert.equal(result.hung, false);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /upload failed: Imperva answered res 2/);
      assert.ok(existsSync(captured), 'the onFailure command ran');
      const texts = {
        stdout: result.stdout,
        stderr: result.stderr,
        log: readFileSync(logFile, 'utf8'),
        onFailure: readFileSync(captured, 'utf8'),
      };
      const secrets = secretForms(world.apiKey, leaf.keyPem);
      for (const [where, text] of Object.entries(texts)) {
        assert.equal(pieceLeft(text, secrets), undefined, `a piece of a secret is in ${where}: ${text}`);
      }
      // Redacted where Imperva's text is quoted; a text over 200 characters is not quoted at all (src/imperva/answer.ts).
      assert.match(texts.stderr, /\[redacted\]|Imperva answered res 2 \(invalid input\)$/m);
    });
  }

  it('nor in the queue file (lastError)', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    world.fake.inject({
      endpoint: 'upload',
      times: Infinity,
      fault: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ res: 2, res_message: `${filler} key ${world.apiKey}` }),
      },
    });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runGuarded(['deploy'], { env: { ...world.env, RENEWED_LINEAGE: live } });
    assert.equal(result.code, 1, result.stderr);
    const queue = readFileSync(world.queueFile, 'utf8');
    assert.equal(pieceLeft(queue, secretForms(world.apiKey, leaf.keyPem)), undefined, queue);
  });
});
