/**
 * `npm run bench`: the performance targets, measured against the fake Imperva API on 127.0.0.1, each as a ratio to
 * a baseline run in this same process of measurement (machines here are noisy: ratios, not seconds).
 *
 *  1. Fan-out: 200 sites behind 50 ms of API latency, against the seed's recipe (curl per site, one after another):
 *     at most 1/6 of its time, and never more requests in flight than the bound (8).
 *  2. Rate limit: 100 sites under 20 requests/second (burst 20): every site delivered, in at most 2× the ideal time.
 *  3. Memory: 1,000 sites, peak RSS at most 100 MiB.
 *  4. Fast start: a hook run with nothing to upload, at most 1.6× the wall time of `node -e 0` (median of paired
 *     runs).
 * Exits 1 when a target is missed. Not part of `npm test`: it measures time, and tests never do.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeImperva } from '../test/support/fake-imperva.js';
import { CLI, ROOT, newApiKey, tempDir, writeConfig } from '../test/support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../test/support/pki.js';

const API_ID = '12345';
const work = tempDir('incap-cert-bench-');
const rows: { name: string; measured: string; limit: string; pass: boolean | undefined }[] = [];
const record = (name: string, measured: string, limit: string, pass?: boolean) => {
  rows.push({ name, measured, limit, pass });
  console.log(
    `  ${name}: ${measured}${limit ? ` (target ${limit})` : ''}${pass === undefined ? '' : pass ? ' ✓' : ' ✗'}`,
  );
};

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
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
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

/** Site ids 1001…, all `*.example.com`: an agency's wildcard certificate across many sites. */
async function fanOut(
  count: number,
  leaf: Leaf,
  options: { latencyMs?: number; rateLimit?: { perSecond: number; burst: number } },
) {
  const apiKey = newApiKey();
  const ids = Array.from({ length: count }, (_, index) => String(1001 + index));
  const fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: Object.fromEntries(ids.map((id) => [id, `site${id}.example.com`])),
    ...options,
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

function allServed(fake: FakeImperva, ids: string[], leaf: Leaf): boolean {
  return ids.every((id) => fake.serving(id)?.fingerprint === leaf.fingerprint);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('run `npm run build` first');
  const pki = await createPki();
  const leaf = await issueLeaf(pki, { names: ['*.example.com', 'example.com'] });

  // 1. Fan-out against the seed's recipe.
  console.log('1. 200 sites, 50 ms API latency: incap-cert against curl per site, one after another');
  {
    const { fake, ids, lineage, apiKey, env } = await fanOut(200, leaf, { latencyMs: 50 });
    writeFileSync(join(work, 'cert.b64'), Buffer.from(leaf.fullchainPem).toString('base64'));
    writeFileSync(join(work, 'key.b64'), Buffer.from(leaf.keyPem).toString('base64'));
    // The seed's loop, made to work: --data-urlencode (plain -d turns base64's '+' into spaces) and auth_type=ECC.
    const seed =
      `for id in ${ids.join(' ')}; do ` +
      `curl -s -o /dev/null -d api_id=${API_ID} -d api_key="$KEY" -d site_id=$id ` +
      `--data-urlencode certificate@${join(work, 'cert.b64')} --data-urlencode private_key@${join(work, 'key.b64')} ` +
      `-d auth_type=ECC ${fake.url}/api/prov/v1/sites/customCertificate/upload || exit 1; done`;
    const ratios: number[] = [];
    let most = 0;
    let served = true;
    for (let round = 0; round < 2; round += 1) {
      fake.requests.length = 0;
      const baseline = await run('bash', ['-c', seed], { KEY: apiKey });
      if (baseline.code !== 0 || fake.acceptedUploads().length !== 200)
        throw new Error(`the curl baseline failed: ${baseline.stderr}`);
      fake.requests.length = 0;
      fake.maxInFlight = 0;
      for (const site of fake.sites.values()) site.served = {};
      const ours = await run(process.execPath, [CLI, 'push', '--lineage', lineage], env);
      if (ours.code !== 0) throw new Error(`incap-cert failed: ${ours.stderr}`);
      served &&= allServed(fake, ids, leaf);
      most = Math.max(most, fake.maxInFlight);
      ratios.push(ours.ms / baseline.ms);
      console.log(`   round ${round + 1}: curl loop ${seconds(baseline.ms)}, incap-cert ${seconds(ours.ms)}`);
    }
    const ratio = median(ratios);
    record(
      'fan-out time / curl loop',
      `${ratio.toFixed(3)}× (1/${(1 / ratio).toFixed(1)})`,
      '≤ 0.167× (1/6)',
      ratio <= 1 / 6,
    );
    record('most requests in flight', String(most), '≤ 8', most <= 8);
    record('every site serves the certificate', String(served), 'true', served);
    await fake.close();
  }

  // 2. Under a rate limit.
  console.log('2. 100 sites under 20 requests/second, burst 20');
  {
    const rate = { perSecond: 20, burst: 20 };
    const { fake, ids, lineage, env } = await fanOut(100, leaf, { latencyMs: 20, rateLimit: rate });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a full bucket to start with
    const ours = await run(process.execPath, [CLI, 'push', '--lineage', lineage], env);
    if (ours.code !== 0) throw new Error(`incap-cert failed: ${ours.stderr}`);
    // The burst goes at once; the rest at the limit's pace.
    const idealMs = ((ids.length - rate.burst) / rate.perSecond) * 1000;
    const ratio = ours.ms / idealMs;
    console.log(
      `   incap-cert ${seconds(ours.ms)}, ideal ${seconds(idealMs)}, ${fake.requests.length} requests`,
    );
    record('rate-limited time / ideal', `${ratio.toFixed(2)}×`, '≤ 2×', ratio <= 2);
    record('every site delivered', String(allServed(fake, ids, leaf)), 'true', allServed(fake, ids, leaf));
    record('throttled answers (HTTP 429)', `${fake.throttled} of ${fake.requests.length} requests`, '');
    await fake.close();
  }

  // 3. Memory.
  console.log('3. 1,000 sites: peak memory');
  {
    const { fake, ids, lineage, env } = await fanOut(1000, leaf, {});
    const rssFile = join(work, 'rss');
    const ours = await run(
      process.execPath,
      ['--require', join(ROOT, 'scripts', 'bench-max-rss.cjs'), CLI, 'push', '--lineage', lineage],
      { ...env, INCAP_CERT_BENCH_RSS: rssFile },
    );
    if (ours.code !== 0) throw new Error(`incap-cert failed: ${ours.stderr}`);
    const mib = Number(readFileSync(rssFile, 'utf8')) / 1024;
    console.log(`   ${seconds(ours.ms)} for ${ids.length} uploads`);
    record('peak RSS, 1,000 sites', `${mib.toFixed(1)} MiB`, '≤ 100 MiB', mib <= 100);
    record('every site delivered', String(allServed(fake, ids, leaf)), 'true', allServed(fake, ids, leaf));
    await fake.close();
  }

  // 4. Fast start.
  console.log('4. a hook run with nothing to upload, against `node -e 0` (paired runs)');
  {
    const dir = tempDir('incap-cert-bench-');
    const other = await issueLeaf(pki, { names: ['unmapped.example.org', 'www.unmapped.example.org'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'unmapped.example.org', other);
    const config = writeConfig(dir, {
      api: { id: API_ID, key: newApiKey(), baseUrl: 'https://my.imperva.com' },
      sites: Object.fromEntries(
        Array.from({ length: 50 }, (_, index) => [`site${index}.example.com`, 1001 + index]),
      ),
      logFile: join(dir, 'incap-cert.log'),
    });
    const env = { INCAP_CERT_CONFIG: config, RENEWED_LINEAGE: lineage };
    const ratios: number[] = [];
    const node: number[] = [];
    const hook: number[] = [];
    for (let i = 0; i < 31; i += 1) {
      const a = await run(process.execPath, ['-e', '0'], {});
      const b = await run(process.execPath, [CLI, 'deploy'], env);
      if (b.code !== 0 || !b.stdout.includes('nothing to upload'))
        throw new Error(`the hook run failed: ${b.stderr}`);
      node.push(a.ms);
      hook.push(b.ms);
      ratios.push(b.ms / a.ms);
    }
    console.log(`   median node -e 0 ${median(node).toFixed(1)} ms, hook run ${median(hook).toFixed(1)} ms`);
    const ratio = median(ratios);
    record('unmapped hook run / node -e 0', `${ratio.toFixed(2)}×`, '≤ 1.6×', ratio <= 1.6);
  }

  console.log('\nsummary');
  for (const row of rows) {
    console.log(
      `  ${row.pass === undefined ? ' ' : row.pass ? 'PASS' : 'FAIL'}  ${row.name.padEnd(38)} ${row.measured.padEnd(26)} ${row.limit}`,
    );
  }
  process.exitCode = rows.some((row) => row.pass === false) ? 1 : 0;
}

await main();
