/**
 * The API key and the private key never appear in stdout, stderr or the log file — in success and in every kind
 * of failure, with --verbose.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { FaultRule } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertNoSecrets, createWorld, secretsOf, type World } from '../support/world.js';

let ec: Leaf;
before(async () => {
  ec = await issueLeaf(await createPki(), { names: ['example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

const scenarios: {
  title: string;
  fault?: FaultRule['fault'];
  wrongKey?: boolean;
  code: number;
  stderr: RegExp;
}[] = [
  { title: 'success', code: 0, stderr: /^$/ },
  { title: 'authentication refused (9411)', wrongKey: true, code: 1, stderr: /res 9411/ },
  {
    title: 'HTTP 500 with an HTML page',
    fault: { status: 500, body: '<html>Error</html>' },
    code: 1,
    stderr: /HTTP 500 with an HTML page/,
  },
  {
    title: 'HTTP 200 with an HTML page',
    fault: { status: 200, body: '<html>Incapsula incident</html>' },
    code: 1,
    stderr: /HTML page instead of JSON/,
  },
  {
    title: 'a connection reset',
    fault: { reset: true },
    code: 1,
    stderr: /cannot reach 127\.0\.0\.1 \(ECONNRESET\)/,
  },
];

describe('secrets never leak', () => {
  it('there is no flag for the key: it cannot reach argv, and a try is refused without echoing it', async () => {
    world = await createWorld();
    const secret = 'typed-on-the-command-line-0123456789';
    for (const args of [
      ['deploy', `--api-key=${secret}`],
      ['push', '--key-file', secret],
      ['check', '--imperva-api-key', secret],
    ]) {
      const result = await runCli(args, world.env);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^error: unknown option --[a-z-]+/);
      assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, [secret]);
    }
    assert.equal(world.fake.requests.length, 0);
  });

  for (const scenario of scenarios) {
    it(`${scenario.title}, with --verbose and a log file`, async () => {
      world = await createWorld({ map: { 'example.com': 1234567 } });
      if (scenario.fault !== undefined)
        world.fake.inject({ endpoint: 'upload', times: Infinity, fault: scenario.fault });
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
      const logFile = join(world.dir, 'log', 'incap-cert.log');
      const wrongKey = 'wrong-but-still-secret-key-9876543210';
      const result = await runCli(['deploy', '--verbose', '--log-file', logFile], {
        ...world.env,
        RENEWED_LINEAGE: lineage,
        ...(scenario.wrongKey === true ? { IMPERVA_API_KEY: wrongKey } : {}),
      });
      assert.equal(result.code, scenario.code, result.stderr);
      assert.match(result.stderr.trim(), scenario.stderr);
      assert.equal(
        world.fake.uploads().length,
        scenario.fault === undefined ? 1 : 4,
        'attempts: 1, or 4 when transient',
      );
      const log = readFileSync(logFile, 'utf8');
      assert.match(log, /"level":"(info|error)"/);
      const queue = existsSync(world.queueFile) ? readFileSync(world.queueFile, 'utf8') : '';
      assert.equal(queue !== '', scenario.code !== 0, 'a failure is queued, a success is not');
      assertNoSecrets({ stdout: result.stdout, stderr: result.stderr, 'log file': log, queue }, [
        ...secretsOf(world.apiKey, ec),
        wrongKey,
      ]);
    });
  }
});
