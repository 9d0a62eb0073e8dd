/**
 * `--json` yields one document on every path, a stop during any kind of wait included: the wait for the queue's lock,
 * the metrics file's lock, a retry delay, an upload Imperva holds, onFailure. Each run is stopped with SIGTERM once
 * it is in that wait; stdout must then hold exactly one JSON document, saying it was interrupted, whose exit code is
 * the process's. Each run is killed after a bound; a run that had to be killed fails.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli, writeConfig } from '../support/harness.js';
import { holdLock, runTimed, type TimedResult } from '../support/held-locks.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
const edges: FakeEdge[] = [];
afterEach(async () => {
  for (const edge of edges.splice(0)) await edge.close();
  await world?.close();
});
after(() => world?.close());

/** The one document on stdout. */
function documentOf(result: TimedResult): Record<string, unknown> {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

interface Arranged {
  args: string[];
  env?: Record<string, string>;
  waiting: () => boolean;
}

interface Wait {
  title: string;
  command: string;
  /**
   * The exit code: 143, but for the metrics, written after the exit code is decided (the run's work was done before
   * the signal came: it exits with its own outcome, its samples left out, as test/integration/metrics-stop says).
   */
  code?: number;
  /** Sets the wait up in the world; gives the arguments, the environment added, and when the run is waiting. */
  arrange: (w: World, lineage: string) => Arranged | Promise<Arranged>;
}

const uploadsSeen = (w: World) => () => w.fake.requestsTo('upload').length > 0;
/** Once it has been true for `ms`: the run is then in the wait that follows. */
const settledFor = (ms: number, condition: () => boolean) => {
  let since: number | undefined;
  return () => {
    if (!condition()) return false;
    since ??= Date.now();
    return Date.now() - since >= ms;
  };
};

const waits: Wait[] = [
  {
    title: 'sync, waiting for the queue lock to record a failure',
    command: 'sync',
    arrange: (w) => {
      w.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { res: 9999 } });
      holdLock(join(w.stateDir, 'queue.lock'));
      return { args: ['sync'], waiting: settledFor(1_500, uploadsSeen(w)) };
    },
  },
  {
    title: 'deploy, waiting for the metrics file’s lock',
    command: 'deploy',
    code: 0,
    arrange: (w, lineage) => {
      const metrics = join(w.dir, 'metrics', 'incap-cert.prom');
      holdLock(`${metrics}.lock`);
      return {
        args: ['deploy', '--metrics-file', metrics],
        env: { RENEWED_LINEAGE: lineage },
        waiting: settledFor(1_500, () => w.fake.acceptedUploads().length === 2),
      };
    },
  },
  {
    title: 'sync, during a retry delay',
    command: 'sync',
    arrange: (w) => {
      w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 503 } });
      return { args: ['sync'], waiting: settledFor(500, uploadsSeen(w)) };
    },
  },
  {
    title: 'sync, waiting out a 429’s Retry-After',
    command: 'sync',
    arrange: (w) => {
      w.fake.inject({
        endpoint: 'upload',
        times: Infinity,
        fault: { status: 429, headers: { 'retry-after': '30' } },
      });
      return { args: ['sync'], waiting: settledFor(500, uploadsSeen(w)) };
    },
  },
  {
    title: 'verify --wait, between its rounds',
    command: 'verify',
    arrange: async (w, lineage) => {
      // The upload never shows at the edge during this test.
      const edge = await FakeEdge.start({ imperva: w.fake, propagationMs: 3_600_000, own: 'site' });
      edges.push(edge);
      const env = { INCAP_CERT_EDGE: edge.address };
      assert.equal((await runCli(['deploy'], { ...w.env, ...env, RENEWED_LINEAGE: lineage })).code, 0);
      // Without a record of the upload, the site is stale rather than pending (uploaded within the verify grace).
      rmSync(join(w.stateDir, 'delivered.json'));
      const probes = () => edge.hellos.length + edge.handshakes.length;
      return { args: ['verify', '--wait', '600'], env, waiting: settledFor(1_000, () => probes() > 0) };
    },
  },
  {
    title: 'deploy, while Imperva holds the upload unanswered',
    command: 'deploy',
    arrange: (w, lineage) => {
      w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { hang: true } });
      return {
        args: ['deploy'],
        env: { RENEWED_LINEAGE: lineage },
        waiting: settledFor(300, uploadsSeen(w)),
      };
    },
  },
  {
    title: 'sync, while onFailure runs',
    command: 'sync',
    arrange: (w) => {
      w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9999 } });
      const mark = join(w.dir, 'on-failure-started');
      return { args: ['sync'], waiting: settledFor(200, () => existsSync(mark)) };
    },
  },
];

describe('--json, SIGTERM during each kind of wait: one document', () => {
  for (const wait of waits) {
    it(`${wait.title}: exit ${wait.code ?? 143}, one document`, async () => {
      const hook = (dir: string) => {
        const program = join(dir, 'on-failure.sh');
        writeFileSync(program, `#!/bin/sh\ntouch '${join(dir, 'on-failure-started')}'\nsleep 30\n`);
        chmodSync(program, 0o755);
        return program;
      };
      world = await createWorld();
      const w = world;
      const lineage = writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
      mkdirSync(join(w.dir, 'metrics'));
      // Long waits, so that the run is surely in the wait when it is stopped.
      writeConfig(w.dir, {
        api: { id: '12345', key: w.apiKey, baseUrl: w.fake.url, v3BaseUrl: w.fake.url },
        sites: { 'example.com': 1234567, 'www.example.com': [7654321] },
        stateDir: w.stateDir,
        liveDir: join(w.dir, 'le', 'live'),
        retryDelaySeconds: 30,
        onFailure: [hook(w.dir)],
      });
      const { args, env, waiting } = await wait.arrange(w, lineage);
      const result = await runTimed(
        [...args, '--json'],
        { ...w.env, ...env },
        { signalWhen: waiting, boundMs: 40_000 },
      );
      assert.equal(
        result.killed,
        false,
        `the run did not end after SIGTERM (${String(result.afterSignalMs)} ms after it):\n${result.stderr}`,
      );
      assert.ok(result.afterSignalMs !== undefined, `the run was never in the wait:\n${result.stderr}`);
      assert.ok(result.afterSignalMs < 8_000, `the run took ${result.afterSignalMs} ms after SIGTERM`);
      const doc = documentOf(result);
      assert.equal(doc.command, wait.command);
      assert.equal(doc.exitCode, result.code, 'the document’s exit code is the process’s');
      assert.equal(result.code, wait.code ?? 143, result.stderr);
      if (result.code === 143) assert.equal(doc.interrupted, 'SIGTERM', JSON.stringify(doc));
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });
  }
});
