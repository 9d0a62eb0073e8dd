/**
 * `npm run bench`: the performance targets a user can feel, measured against the fake Imperva API on 127.0.0.1,
 * each as a ratio to a baseline run in this same process of measurement (machines here are noisy: ratios, not
 * seconds), on plain Node: the bench passes no runtime flag but `--require scripts/bench-max-rss.cjs`, which only
 * reads the process's resource usage as it exits.
 *
 *  fanout   200 sites behind 50 ms of API latency, against the seed's recipe (curl per site, one after another):
 *           at most 1/6 of its time, and never more requests in flight than the bound (8).
 *  pace     500 sites under a token-bucket limit of 5 and of 20 requests/second (burst of one second's worth, a full
 *           bucket at the start, the rate not configured: the first burst into the unknown limit counts): at most
 *           5 % of requests answered 429, in at most 1.1× the ideal N/rate.
 *  cpu      CPU per upload at zero latency, at most 1.3× that of scripts/bench-got.mjs (the same requests with got
 *           and nothing else), both as (CPU for 1,000 uploads − CPU for 1 upload) / 999, median of 3 paired runs.
 *  startup  wall time against `node -e 0` (medians of 31 paired runs, only PATH in the environment): `--version`,
 *           `--help` and a hook run with nothing to upload at most 3×, a mapped `deploy --dry-run` at most 4×.
 *  memory   peak RSS, median of 5 runs: 1,000 sites within 120 MiB; 5,000 failing sites (unknown to the API: res
 *           9413) within 160 MiB.
 *
 * `npm run bench` runs every part, prints the table and exits 1 when a target is missed; `-- --only startup,memory`
 * runs those parts; `-- --markdown` also writes the table into docs/performance.md between its marker lines
 * (scripts/bench-table.ts). Not part of `npm test`: it measures time, and tests never do.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeImperva } from '../test/support/fake-imperva.js';
import { CLI, ROOT, newApiKey, tempDir, writeConfig } from '../test/support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../test/support/pki.js';
import { TABLE_FILE, renderTable, replaceBetweenMarkers, type Row } from './bench-table.js';

const PARTS = ['fanout', 'pace', 'cpu', 'startup', 'memory'] as const;
type Part = (typeof PARTS)[number];
const API_ID = '12345';
const TABLE_PATH = join(ROOT, TABLE_FILE);
const work = tempDir('incap-cert-bench-');
const rows: Row[] = [];

function record(row: Row): void {
  rows.push(row);
  console.log(`  ${row.target}: ${row.measured} (target ${row.limit}) ${row.met ? '✓' : '✗'}`);
}

interface Run {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stdout, stderr }),
    );
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A run of the CLI (or any node script) with its peak RSS and CPU time, from scripts/bench-max-rss.cjs. */
async function measured(command: string, args: string[], env: Record<string, string>) {
  const file = join(work, `usage-${Math.random().toString(36).slice(2)}.json`);
  const result = await run(command, ['--require', join(ROOT, 'scripts', 'bench-max-rss.cjs'), ...args], {
    ...env,
    INCAP_CERT_BENCH_RSS: file,
  });
  const usage = JSON.parse(readFileSync(file, 'utf8')) as { maxRssKiB: number; cpuMicros: number };
  return { ...result, ...usage };
}

/** `incap-cert push` over the lineage; throws unless it ends with `code`. */
async function push(lineage: string, env: Record<string, string>, code = 0) {
  const result = await measured(process.execPath, [CLI, 'push', '--lineage', lineage], env);
  if (result.code !== code)
    throw new Error(`incap-cert push: exit ${result.code}, expected ${code}: ${result.stderr.slice(0, 500)}`);
  return result;
}

/** Site ids 1001…, all `*.example.com`: an agency's wildcard certificate across many sites. */
async function fanOut(
  count: number,
  leaf: Leaf,
  options: { latencyMs?: number; rateLimit?: { perSecond: number; burst: number }; unknownSites?: boolean },
) {
  const apiKey = newApiKey();
  const ids = Array.from({ length: count }, (_, index) => String(1001 + index));
  const { unknownSites, ...fakeOptions } = options;
  const fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: unknownSites === true ? {} : Object.fromEntries(ids.map((id) => [id, `site${id}.example.com`])),
    ...fakeOptions,
  });
  const dir = tempDir('incap-cert-bench-');
  const lineage = writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
  const config = writeConfig(dir, {
    api: { id: API_ID, key: apiKey, baseUrl: fake.url },
    sites: { '*.example.com': ids.map(Number) },
    stateDir: join(dir, 'state'),
  });
  return { fake, ids, lineage, apiKey, env: { INCAP_CERT_CONFIG: config } };
}

/** The run did its work: a measurement of a run that did not is no measurement. */
function assertServed(fake: FakeImperva, ids: string[], leaf: Leaf): void {
  const missed = ids.filter((id) => fake.serving(id)?.fingerprint !== leaf.fingerprint);
  if (missed.length > 0)
    throw new Error(`${missed.length} of ${ids.length} sites do not serve the certificate`);
}

function writeBase64(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, Buffer.from(text).toString('base64'));
  return file;
}

async function benchFanOut(leaf: Leaf): Promise<void> {
  console.log('fanout: 200 sites, 50 ms API latency: incap-cert against curl per site, one after another');
  const { fake, ids, lineage, apiKey, env } = await fanOut(200, leaf, { latencyMs: 50 });
  const certFile = writeBase64('cert.b64', leaf.fullchainPem);
  const keyFile = writeBase64('key.b64', leaf.keyPem);
  // The seed's loop, made to work: --data-urlencode (plain -d turns base64's '+' into spaces) and auth_type=ECC.
  const seed =
    `for id in ${ids.join(' ')}; do ` +
    `curl -s -o /dev/null -d api_id=${API_ID} -d api_key="$KEY" -d site_id=$id ` +
    `--data-urlencode certificate@${certFile} --data-urlencode private_key@${keyFile} ` +
    `-d auth_type=ECC ${fake.url}/api/prov/v1/sites/customCertificate/upload || exit 1; done`;
  const ratios: number[] = [];
  let most = 0;
  for (let round = 0; round < 2; round += 1) {
    fake.requests.length = 0;
    const baseline = await run('bash', ['-c', seed], { KEY: apiKey });
    if (baseline.code !== 0 || fake.acceptedUploads().length !== ids.length)
      throw new Error(`the curl baseline failed: ${baseline.stderr}`);
    fake.requests.length = 0;
    fake.maxInFlight = 0;
    for (const site of fake.sites.values()) site.served = {};
    const ours = await push(lineage, env);
    assertServed(fake, ids, leaf);
    most = Math.max(most, fake.maxInFlight);
    ratios.push(ours.ms / baseline.ms);
    console.log(`   round ${round + 1}: curl loop ${seconds(baseline.ms)}, incap-cert ${seconds(ours.ms)}`);
  }
  await fake.close();
  const ratio = median(ratios);
  record({
    target:
      '200 sites behind 50 ms of API latency, time against the seed’s recipe (curl per site, one after another)',
    measured: `${ratio.toFixed(3)}× (1/${(1 / ratio).toFixed(1)})`,
    limit: '≤ 1/6 (0.167×)',
    met: ratio <= 1 / 6,
  });
  record({
    target: '…most requests in flight at once',
    measured: String(most),
    limit: '≤ 8',
    met: most <= 8,
  });
}

async function benchPace(leaf: Leaf): Promise<void> {
  for (const perSecond of [5, 20]) {
    const count = 500;
    console.log(`pace: ${count} sites under a token-bucket limit of ${perSecond} requests/second`);
    const rate = { perSecond, burst: perSecond };
    const { fake, ids, lineage, env } = await fanOut(count, leaf, { latencyMs: 20, rateLimit: rate });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a full bucket to start with
    const ours = await push(lineage, env);
    assertServed(fake, ids, leaf);
    const idealMs = (ids.length / rate.perSecond) * 1000;
    const ratio = ours.ms / idealMs;
    const share = fake.throttled / fake.requests.length;
    console.log(
      `   incap-cert ${seconds(ours.ms)}, ideal ${seconds(idealMs)}, ${fake.requests.length} requests, ${fake.throttled} answered 429`,
    );
    await fake.close();
    record({
      target: `500 sites under ${perSecond} requests/second (token bucket), time against the ideal N/rate`,
      measured: `${ratio.toFixed(3)}×`,
      limit: '≤ 1.1×',
      met: ratio <= 1.1,
    });
    record({
      target: '…requests answered 429 (the first burst into the unknown limit counts)',
      measured: `${(share * 100).toFixed(1)} %`,
      limit: '≤ 5 %',
      met: share <= 0.05,
    });
  }
}

async function benchCpu(leaf: Leaf): Promise<void> {
  console.log('cpu: CPU per upload at zero latency, against the same requests made with got alone');
  const many = 1000;
  const certFile = writeBase64('cert.b64', leaf.fullchainPem);
  const keyFile = writeBase64('key.b64', leaf.keyPem);
  const hash = createHash('sha256').update(leaf.fullchainPem).digest('hex');
  const gotCpu = async (world: Awaited<ReturnType<typeof fanOut>>) => {
    const result = await measured(process.execPath, [join(ROOT, 'scripts', 'bench-got.mjs')], {
      BENCH_URL: world.fake.url,
      BENCH_ID: API_ID,
      BENCH_KEY: world.apiKey,
      BENCH_CERT: certFile,
      BENCH_PRIVKEY: keyFile,
      BENCH_HASH: hash,
      BENCH_SITES: world.ids.join(','),
      BENCH_CONCURRENCY: '8',
    });
    if (result.code !== 0) throw new Error(`the got baseline failed: ${result.stderr.slice(0, 500)}`);
    return result.cpuMicros;
  };
  const ratios: number[] = [];
  for (let round = 0; round < 3; round += 1) {
    const manySites = await fanOut(many, leaf, {});
    const oneSite = await fanOut(1, leaf, {});
    const oursPer =
      ((await push(manySites.lineage, manySites.env)).cpuMicros -
        (await push(oneSite.lineage, oneSite.env)).cpuMicros) /
      (many - 1);
    const gotPer = ((await gotCpu(manySites)) - (await gotCpu(oneSite))) / (many - 1);
    await manySites.fake.close();
    await oneSite.fake.close();
    console.log(
      `   round ${round + 1}: incap-cert ${(oursPer / 1000).toFixed(3)} ms, got alone ${(gotPer / 1000).toFixed(3)} ms of CPU per upload`,
    );
    ratios.push(oursPer / gotPer);
  }
  const ratio = median(ratios);
  record({
    target: 'CPU per upload at zero latency, against the same requests made with got alone',
    measured: `${ratio.toFixed(2)}×`,
    limit: '≤ 1.3×',
    met: ratio <= 1.3,
  });
}

async function benchStartup(pki: Pki): Promise<void> {
  console.log(
    'startup: wall time against `node -e 0` (medians of 31 paired runs, only PATH in the environment)',
  );
  const dir = tempDir('incap-cert-bench-');
  const other = await issueLeaf(pki, { names: ['unmapped.example.org', 'www.unmapped.example.org'] });
  const unmapped = writeCertbotLineage(join(dir, 'le'), 'unmapped.example.org', other);
  const mappedLeaf = await issueLeaf(pki, { names: ['site1.example.com'] });
  const mapped = writeCertbotLineage(join(dir, 'le'), 'site1.example.com', mappedLeaf);
  const config = writeConfig(dir, {
    api: { id: API_ID, key: newApiKey(), baseUrl: 'https://my.imperva.com' },
    sites: Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [`site${index}.example.com`, 1001 + index]),
    ),
    stateDir: join(dir, 'state'),
  });
  const hook = { INCAP_CERT_CONFIG: config };
  // Only PATH and these: NODE_EXTRA_CA_CERTS, NODE_OPTIONS and the like stay out of both sides.
  const cases: { target: string; args: string[]; env: Record<string, string>; ok: RegExp; limit: number }[] =
    [
      { target: '`--version`', args: ['--version'], env: {}, ok: /^incap-cert \d+\.\d+\.\d+\n$/, limit: 3 },
      { target: '`--help`', args: ['--help'], env: {}, ok: /incap-cert/, limit: 3 },
      {
        target: 'a hook run with nothing to upload',
        args: ['deploy'],
        env: { ...hook, RENEWED_LINEAGE: unmapped },
        ok: /nothing to upload/,
        limit: 3,
      },
      {
        target: 'a mapped `deploy --dry-run`',
        args: ['deploy', '--dry-run'],
        env: { ...hook, RENEWED_LINEAGE: mapped },
        ok: /would upload/,
        limit: 4,
      },
    ];
  for (const { target, args, env, ok, limit } of cases) {
    const ratios: number[] = [];
    const node: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 31; i += 1) {
      const a = await run(process.execPath, ['-e', '0'], {});
      const b = await run(process.execPath, [CLI, ...args], env);
      if (b.code !== 0 || !ok.test(b.stdout))
        throw new Error(
          `${args.join(' ')}: exit ${b.code}: ${b.stdout.slice(0, 200)} ${b.stderr.slice(0, 500)}`,
        );
      node.push(a.ms);
      ours.push(b.ms);
      ratios.push(b.ms / a.ms);
    }
    console.log(
      `   ${args.join(' ')}: node -e 0 ${median(node).toFixed(1)} ms, ours ${median(ours).toFixed(1)} ms`,
    );
    const ratio = median(ratios);
    record({
      target: `${target}, wall time against \`node -e 0\``,
      measured: `${ratio.toFixed(2)}×`,
      limit: `≤ ${limit}×`,
      met: ratio <= limit,
    });
  }
}

async function benchMemory(leaf: Leaf): Promise<void> {
  console.log('memory: peak RSS, median of 5 runs, V8’s default heap');
  for (const { count, failing, limit } of [
    { count: 1000, failing: false, limit: 120 },
    { count: 5000, failing: true, limit: 160 },
  ]) {
    const peaks: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      const { fake, ids, lineage, env } = await fanOut(count, leaf, { unknownSites: failing });
      const ours = await push(lineage, env, failing ? 1 : 0);
      if (!failing) assertServed(fake, ids, leaf);
      await fake.close();
      peaks.push(ours.maxRssKiB / 1024);
      console.log(
        `   ${seconds(ours.ms)} for ${count} sites${failing ? ', every one failing (res 9413)' : ''}: ${(ours.maxRssKiB / 1024).toFixed(1)} MiB`,
      );
    }
    const mib = median(peaks);
    record({
      target: `${count.toLocaleString('en')} ${failing ? 'failing sites (unknown to the API)' : 'sites'}, peak memory (RSS)`,
      measured: `${mib.toFixed(0)} MiB (${Math.min(...peaks).toFixed(0)}–${Math.max(...peaks).toFixed(0)})`,
      limit: `≤ ${limit} MiB`,
      met: mib <= limit,
    });
  }
}

/** The parts asked for by `--only` (comma-separated or repeated), all without it. */
function partsOf(only: string[] | undefined): Part[] {
  if (only === undefined) return [...PARTS];
  const asked = only.flatMap((value) => value.split(',')).filter((name) => name !== '');
  const unknown = asked.filter((name) => !(PARTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
  return PARTS.filter((part) => asked.includes(part));
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { markdown: { type: 'boolean', default: false }, only: { type: 'string', multiple: true } },
  });
  const parts = partsOf(values.only);
  if (values.markdown && parts.length < PARTS.length)
    throw new Error('--markdown writes the whole table: run every part (no --only)');
  if (!existsSync(CLI)) throw new Error('run `npm run build` first');
  // Refuse missing markers now rather than after minutes of measuring.
  if (values.markdown) replaceBetweenMarkers(readFileSync(TABLE_PATH, 'utf8'), '', TABLE_FILE);
  const pki = await createPki();
  const leaf = await issueLeaf(pki, { names: ['*.example.com', 'example.com'] });
  const benches: Record<Part, () => Promise<void>> = {
    fanout: () => benchFanOut(leaf),
    pace: () => benchPace(leaf),
    cpu: () => benchCpu(leaf),
    startup: () => benchStartup(pki),
    memory: () => benchMemory(leaf),
  };
  for (const part of parts) await benches[part]();

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const table = renderTable(rows);
  console.log(`\n${table}`);
  if (values.markdown) {
    const block =
      `Written by \`npm run bench -- --markdown\` (Node.js ${process.version}, ${platform()} ${arch()}, ` +
      `${cpus().length} × ${cpu}):\n\n${table}`;
    writeFileSync(TABLE_PATH, replaceBetweenMarkers(readFileSync(TABLE_PATH, 'utf8'), block, TABLE_FILE));
    console.log(`${TABLE_FILE}: performance table written`);
  }
  return rows.every((row) => row.met) ? 0 : 1;
}

// Exit 1: a target missed; 2: nothing to judge (a wrong argument, missing markers, a run that failed).
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
