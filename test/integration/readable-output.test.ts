/**
 * Quiet, readable logs and output (issue 20): every log-file line says which command, process and run wrote it; a
 * table is output, not a log line per row; one cause is one line with a count (-v lists the sites); status shows
 * what Imperva holds where this host has nothing, the days left, a labelled fingerprint, and `flagged` where
 * Imperva flags the certificate this host delivered; text names key types as Certbot does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const worlds: World[] = [];
after(async () => {
  for (const one of worlds) await one.close();
});

let ecc: Leaf;
let www: Leaf;
before(async () => {
  const pki = await createPki();
  ecc = await issueLeaf(pki, { names: ['example.com'], keyType: 'ec' });
  www = await issueLeaf(pki, { names: ['www.example.com'], keyType: 'ec' });
});

async function newWorld(options: Parameters<typeof createWorld>[0] = {}): Promise<World> {
  const world = await createWorld(options);
  worlds.push(world);
  return world;
}

interface LogLine {
  level: string;
  message: string;
  command?: string;
  pid?: number;
  runId?: string;
}

function logLines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LogLine);
}

describe('the log file', () => {
  it('names the command, the process and the run on every line; tables and debug lines stay out of it', async () => {
    const logFile = join(tempDir(), 'incap-cert.log');
    const world = await newWorld({ config: { logFile } });
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'example.com', ecc);
    writeCertbotLineage(live, 'www.example.com', www);
    const synced = await runCli(['sync', '--live-dir', join(live, 'live')], world.env);
    assert.equal(synced.code, 0, synced.stderr);
    const status = await runCli(['status', '-v', '--live-dir', join(live, 'live')], world.env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^SITE\s+NAMES/m);

    const lines = logLines(logFile);
    for (const line of lines) {
      assert.match(line.runId ?? '', /^[0-9a-f]{8}$/);
      assert.equal(typeof line.pid, 'number');
      assert.ok(line.command === 'sync' || line.command === 'status', JSON.stringify(line));
    }
    const syncRun = lines.filter((line) => line.command === 'sync');
    const statusRun = lines.filter((line) => line.command === 'status');
    assert.ok(syncRun.length > 0 && statusRun.length > 0, JSON.stringify(lines));
    assert.equal(new Set(syncRun.map((line) => line.runId)).size, 1, 'the same run id through one run');
    assert.equal(new Set(statusRun.map((line) => line.runId)).size, 1, 'the same run id through one run');
    assert.notEqual(syncRun[0]?.runId, statusRun[0]?.runId);
    assert.notEqual(syncRun[0]?.pid, statusRun[0]?.pid);
    // The status table went to stdout only: no row of it is a log line.
    for (const line of lines) assert.doesNotMatch(line.message, /^SITE\s|^1234567\s|^7654321\s/);
    assert.ok(!syncRun.some((line) => line.level === 'debug'), 'debug lines only with -v');
    assert.ok(
      statusRun.some((line) => line.level === 'debug'),
      'with -v, debug lines too',
    );
  });
});

describe('one cause, one line', () => {
  it('sites with no certificate on this host: one warning with the count; -v names each', async () => {
    const world = await newWorld({
      sites: { '1234567': 'example.com', '2': 'a.example', '3': 'b.example', '4': 'c.example' },
      map: { 'example.com': 1234567, 'a.example': 2, 'b.example': 3, 'c.example': 4 },
    });
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'example.com', ecc);
    for (const command of ['status', 'sync']) {
      const result = await runCli([command, '--live-dir', join(live, 'live')], world.env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^warning: 3 mapped sites have no certificate on this host; nothing keeps them current \(each with --verbose\)$/m,
      );
      assert.doesNotMatch(result.stderr, /site [234] \(/);
      const verbose = await runCli([command, '-v', '--live-dir', join(live, 'live')], world.env);
      for (const site of ['2 (a.example)', '3 (b.example)', '4 (c.example)']) {
        assert.ok(
          verbose.stdout.includes(`debug: site ${site}: no certificate on this host covers it`),
          verbose.stdout,
        );
      }
    }
  });

  it('status: one Imperva failure shared by every site is one problem line with the count', async () => {
    const world = await newWorld();
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'example.com', ecc);
    writeCertbotLineage(live, 'www.example.com', www);
    world.fake.inject({ endpoint: 'certificates', times: Infinity, fault: { status: 404 } });
    world.fake.inject({ endpoint: 'status', times: Infinity, fault: { status: 503 } });
    const result = await runCli(['status', '--live-dir', join(live, 'live')], world.env);
    assert.equal(result.code, 1, result.stderr);
    const problems = result.stdout.split('\n').filter((line) => /HTTP 503 with an HTML page$/.test(line));
    assert.equal(problems.length, 1, result.stdout);
    assert.match(
      problems[0] ?? '',
      /^2 sites \(site \d+ ECDSA, site \d+ ECDSA\): Imperva answered HTTP 503 with an HTML page$/,
    );
    // The retries of one cause: the first is said, the rest (every site, every attempt) only with -v.
    assert.equal(result.stdout.match(/retrying in/g)?.length, 1, result.stdout);
    const verbose = await runCli(['status', '-v', '--live-dir', join(live, 'live')], world.env);
    assert.equal(verbose.stdout.match(/retrying in/g)?.length, 6, verbose.stdout);
  });
});

describe('status as an operator reads it', () => {
  it('KEY in Certbot words, a labelled sha256 prefix, days left, and what Imperva holds where this host has none', async () => {
    const world = await newWorld();
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'example.com', ecc);
    writeCertbotLineage(live, 'www.example.com', www);
    assert.equal((await runCli(['sync', '--live-dir', join(live, 'live')], world.env)).code, 0);
    // This host now has only example.com: www.example.com's row still shows what Imperva holds.
    const only = join(world.dir, 'only');
    writeCertbotLineage(only, 'example.com', ecc);
    const text = await runCli(['status', '--live-dir', join(only, 'live')], world.env);
    const [header, ...rows] = text.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^SITE\s+NAMES\s+KEY\s+LOCAL\s+IMPERVA\s+DAYS\s+STATE\s+QUEUED$/);
    const mine = rows.find((row) => row.startsWith('1234567'));
    assert.match(
      mine ?? '',
      new RegExp(
        `^1234567\\s+example\\.com\\s+(ECDSA|ECC)\\s+\\d{4}-\\d\\d-\\d\\d sha256 ${ecc.fingerprint.slice(0, 8)}…\\s+` +
          '\\d{4}-\\d\\d-\\d\\d\\s+\\d+\\s+current\\s+-$',
      ),
    );
    assert.doesNotMatch(mine ?? '', /#|\bECC\b/, 'no bare serial; ECDSA in text');
    const theirs = rows.find((row) => row.startsWith('7654321'));
    assert.match(
      theirs ?? '',
      /^7654321\s+www\.example\.com\s+(ECDSA|ECC)\s+-\s+\d{4}-\d\d-\d\d\s+\d+\s+no-local-certificate\s+-$/,
    );

    const json = await runCli(['status', '--json', '--live-dir', join(only, 'live')], world.env);
    const sites = (
      JSON.parse(json.stdout) as {
        sites: {
          siteId: string;
          keyType: string | null;
          daysLeft: number | null;
          imperva: { expirationDate: string };
        }[];
      }
    ).sites;
    const held = sites.find((one) => one.siteId === '7654321');
    assert.equal(held?.keyType, 'ECC', '--json keeps Imperva words');
    assert.equal(held?.imperva.expirationDate, www.notAfter.toISOString());
    assert.ok((held?.daysLeft ?? -1) > 0);
    assert.equal(sites.find((one) => one.siteId === '1234567')?.keyType, 'ECC');
  });

  it('a certificate Imperva holds and flags is flagged, not outdated', async () => {
    const world = await newWorld();
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'example.com', ecc);
    writeCertbotLineage(live, 'www.example.com', www);
    assert.equal((await runCli(['sync', '--live-dir', join(live, 'live')], world.env)).code, 0);
    world.fake.mismatched.add('1234567');
    const text = await runCli(['status', '--live-dir', join(live, 'live')], world.env);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^1234567\s+example\.com\s+.*\sflagged\s+-$/m);
    assert.match(text.stdout, /^site 1234567 (ECDSA|ECC): flagged: /m);
    const json = await runCli(['status', '--json', '--live-dir', join(live, 'live')], world.env);
    const sites = (JSON.parse(json.stdout) as { sites: { siteId: string; state: string }[] }).sites;
    assert.equal(sites.find((one) => one.siteId === '1234567')?.state, 'flagged');
    assert.equal(sites.find((one) => one.siteId === '7654321')?.state, 'current');
  });
});

describe('key types in Certbot words', () => {
  it('ECDSA is accepted as input and sent to Imperva as ECC', async () => {
    const world = await newWorld({ map: { 'www.example.com': 7654321 } });
    const live = join(world.dir, 'le');
    writeCertbotLineage(live, 'www.example.com', www);
    assert.equal((await runCli(['sync', '--live-dir', join(live, 'live')], world.env)).code, 0);
    const removed = await runCli(
      ['remove', '--site-id', '7654321', '--key-type', 'ecdsa', '--force', '--live-dir', join(live, 'live')],
      world.env,
    );
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(
      world.fake.requestsTo('remove').map((request) => [request.form.site_id, request.form.auth_type]),
      [['7654321', 'ECC']],
    );
    assert.match(removed.stdout, /removed the (ECDSA|ECC) custom certificate of site 7654321/);
    assert.doesNotMatch(removed.stdout, /\bECC\b/);
  });
});
