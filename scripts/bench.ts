/**
 * `npm run bench`: the performance targets, measured against the fake Imperva API on 127.0.0.1, each as a ratio to
 * a baseline run in this same process of measurement (machines here are noisy: ratios, not seconds).
 *
 *  1. Fan-out: 200 sites behind 50 ms of API latency, against the seed's recipe (curl per site, one after another):
 *     at most 1/6 of its time, and never more requests in flight than the bound (8).
 *  2. Pace, don't bounce: 500 sites under a token-bucket limit of 5 and of 20 requests/second (burst of one
 *     second's worth): every site delivered, at most 5 % of requests answered 429, in at most 1.1× the ideal N/rate.
 *  3. Memory, without forced garbage collections: 1,000 sites within 100 MiB peak RSS; 5,000 failing sites (unknown
 *     to the API: res 9413) within 100 MiB.
 *  3b. CPU per upload at zero latency, at most 1.3× that of scripts/bench-got.mjs (the same requests with got and
 *     nothing else), both measured as (CPU for 1,000 uploads − CPU for 1 upload) / 999, median of 3 paired runs.
 *  4. Fast start, wall time against `node -e 0` (medians of 31 paired runs, clean environment): `--version` at most
 *     1.3×, `--help` and a mapped `deploy --dry-run` at most 2.5×, a hook run with nothing to upload at most 1.5×.
 *  5. A run that cannot finish continues: 200 mapped sites, 100 outdated, at 2 requests/s with a 30 s deadline reach
 *     "all current" within a bounded number of syncs, printed.
 * Exits 1 when a target is missed. Not part of `npm test`: it measures time, and tests never do.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
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
/** `npm run bench -- pace memory`: only those parts (fanout, pace, memory, cpu, start); all without arguments. */
const parts = process.argv.slice(2);
const only = (part: string) => parts.length === 0 || parts.includes(part);

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
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

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

function allServed(fake: FakeImperva, ids: string[], leaf: Leaf): boolean {
  return ids.every((id) => fake.serving(id)?.fingerprint === leaf.fingerprint);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('run `npm run build` first');
  const pki = await createPki();
  const leaf = await issueLeaf(pki, { names: ['*.example.com', 'example.com'] });

  // 1. Fan-out against the seed's recipe.
  if (only('fanout')) {
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
        console.log(
          `   round ${round + 1}: curl loop ${seconds(baseline.ms)}, incap-cert ${seconds(ours.ms)}`,
        );
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
  }

  // 2. Pace, don't bounce.
  for (const perSecond of only('pace') ? [5, 20] : []) {
    const count = 500;
    console.log(`2. ${count} sites under a token-bucket limit of ${perSecond} requests/second`);
    const rate = { perSecond, burst: perSecond };
    const { fake, ids, lineage, env } = await fanOut(count, leaf, { latencyMs: 20, rateLimit: rate });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a full bucket to start with
    const ours = await run(process.execPath, [CLI, 'push', '--lineage', lineage], env);
    if (ours.code !== 0) throw new Error(`incap-cert failed: ${ours.stderr}`);
    const idealMs = (ids.length / rate.perSecond) * 1000;
    const ratio = ours.ms / idealMs;
    const share = fake.throttled / fake.requests.length;
    console.log(
      `   incap-cert ${seconds(ours.ms)}, ideal ${seconds(idealMs)}, ${fake.requests.length} requests, ${fake.throttled} answered 429`,
    );
    record(`${perSecond}/s: time / ideal N/rate`, `${ratio.toFixed(3)}×`, '≤ 1.1×', ratio <= 1.1);
    record(`${perSecond}/s: requests answered 429`, `${(share * 100).toFixed(1)} %`, '≤ 5 %', share <= 0.05);
    const served = allServed(fake, ids, leaf);
    record(`${perSecond}/s: every site delivered`, String(served), 'true', served);
    await fake.close();
  }

  // 3. Memory, and CPU per upload.
  if (only('memory')) {
    console.log('3. peak memory, without forced garbage collections');
    for (const [count, failing] of [
      [1000, false],
      [5000, true],
    ] as const) {
      const { fake, ids, lineage, env } = await fanOut(count, leaf, { unknownSites: failing });
      const ours = await measured(process.execPath, [CLI, 'push', '--lineage', lineage], env);
      if (ours.code !== (failing ? 1 : 0))
        throw new Error(`incap-cert: exit ${ours.code}: ${ours.stderr.slice(0, 500)}`);
      const mib = ours.maxRssKiB / 1024;
      console.log(
        `   ${seconds(ours.ms)} for ${ids.length} sites${failing ? ', every one failing (res 9413)' : ''}`,
      );
      const what = failing ? `peak RSS, ${count} failing sites` : `peak RSS, ${count} sites`;
      record(what, `${mib.toFixed(1)} MiB`, '≤ 100 MiB', mib <= 100);
      if (!failing) {
        const served = allServed(fake, ids, leaf);
        record('every site delivered', String(served), 'true', served);
      }
      await fake.close();
    }
  }
  if (only('cpu')) {
    console.log('3b. CPU per upload at zero latency, against the same requests made with got alone');
    const many = 1000;
    const { fake, ids, lineage, apiKey, env } = await fanOut(many, leaf, {});
    const certFile = join(work, 'cert.b64');
    const keyFile = join(work, 'key.b64');
    writeFileSync(certFile, Buffer.from(leaf.fullchainPem).toString('base64'));
    writeFileSync(keyFile, Buffer.from(leaf.keyPem).toString('base64'));
    const one = await fanOut(1, leaf, {});
    const gotEnv = (sites: string[], url: string, key: string) => ({
      BENCH_URL: url,
      BENCH_ID: API_ID,
      BENCH_KEY: key,
      BENCH_CERT: certFile,
      BENCH_PRIVKEY: keyFile,
      BENCH_HASH: createHash('sha256').update(leaf.fullchainPem).digest('hex'),
      BENCH_SITES: sites.join(','),
      BENCH_CONCURRENCY: '8',
    });
    const ratios: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const ours = async (lineagePath: string, envOf: Record<string, string>) => {
        const result = await measured(process.execPath, [CLI, 'push', '--lineage', lineagePath], envOf);
        if (result.code !== 0) throw new Error(`incap-cert failed: ${result.stderr.slice(0, 500)}`);
        return result.cpuMicros;
      };
      const bare = async (sites: string[], url: string, key: string) => {
        const result = await measured(
          process.execPath,
          [join(ROOT, 'scripts', 'bench-got.mjs')],
          gotEnv(sites, url, key),
        );
        if (result.code !== 0) throw new Error(`the got baseline failed: ${result.stderr.slice(0, 500)}`);
        return result.cpuMicros;
      };
      const oursPer = ((await ours(lineage, env)) - (await ours(one.lineage, one.env))) / (many - 1);
      const gotPer =
        ((await bare(ids, fake.url, apiKey)) - (await bare(one.ids, one.fake.url, one.apiKey))) / (many - 1);
      console.log(
        `   round ${round + 1}: incap-cert ${(oursPer / 1000).toFixed(3)} ms, got alone ${(gotPer / 1000).toFixed(3)} ms of CPU per upload`,
      );
      ratios.push(oursPer / gotPer);
    }
    const ratio = median(ratios);
    record('CPU per upload / got alone', `${ratio.toFixed(2)}×`, '≤ 1.3×', ratio <= 1.3);
    await fake.close();
    await one.fake.close();
  }

  // 4. Fast start.
  if (only('start')) {
    console.log(
      '4. start-up of every kind of run, against `node -e 0` (medians of 31 paired runs, clean environment)',
    );
    {
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
      // Only PATH and these: NODE_EXTRA_CA_CERTS, NODE_OPTIONS and the like stay out of both sides.
      const cases: [string, string[], Record<string, string>, (out: string) => boolean, number][] = [
        ['--version / node -e 0', ['--version'], {}, (out) => /^\d+\.\d+\.\d+\n$/.test(out), 1.3],
        ['--help / node -e 0', ['--help'], {}, (out) => out.includes('Usage: incap-cert'), 2.5],
        [
          'mapped deploy --dry-run / node -e 0',
          ['deploy', '--dry-run'],
          { INCAP_CERT_CONFIG: config, RENEWED_LINEAGE: mapped },
          (out) => out.startsWith('dry run: would upload'),
          2.5,
        ],
        [
          'unmapped hook run / node -e 0',
          ['deploy'],
          { INCAP_CERT_CONFIG: config, RENEWED_LINEAGE: unmapped },
          (out) => out.includes('nothing to upload'),
          1.5,
        ],
      ];
      for (const [name, args, env, ok, limit] of cases) {
        const ratios: number[] = [];
        const node: number[] = [];
        const ours: number[] = [];
        for (let i = 0; i < 31; i += 1) {
          const a = await run(process.execPath, ['-e', '0'], {});
          const b = await run(process.execPath, [CLI, ...args], env);
          if (b.code !== 0 || !ok(b.stdout)) throw new Error(`${name}: exit ${b.code}: ${b.stderr}`);
          node.push(a.ms);
          ours.push(b.ms);
          ratios.push(b.ms / a.ms);
        }
        console.log(
          `   ${name}: node -e 0 ${median(node).toFixed(1)} ms, ours ${median(ours).toFixed(1)} ms`,
        );
        const ratio = median(ratios);
        record(name, `${ratio.toFixed(2)}×`, `≤ ${limit}×`, ratio <= limit);
      }
    }
  }

  if (only('resume')) {
    console.log(
      '5. 200 mapped sites, 100 outdated, at 2 requests/s with a 30 s deadline: syncs until all current',
    );
    const count = 200;
    const apiKey = newApiKey();
    const ids = Array.from({ length: count }, (_, index) => String(2001 + index));
    const fake = await FakeImperva.start({
      apiId: API_ID,
      apiKey,
      sites: Object.fromEntries(ids.map((id) => [id, `site${id}.example.com`])),
    });
    const dir = tempDir('incap-cert-bench-');
    writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
    // Half the sites already hold the certificate, the other half an older one: uploaded before the limit bites.
    const old = await issueLeaf(pki, { names: ['*.example.com', 'example.com'] });
    for (const [index, id] of ids.entries()) {
      const chosen = index < count / 2 ? leaf : old;
      const response = await fetch(`${fake.url}/api/prov/v1/sites/customCertificate/upload`, {
        method: 'POST',
        headers: {
          'x-API-Id': API_ID,
          'x-API-Key': apiKey,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          site_id: id,
          certificate: Buffer.from(chosen.fullchainPem).toString('base64'),
          private_key: Buffer.from(chosen.keyPem).toString('base64'),
          auth_type: 'ECC',
          input_hash: chosen.fingerprint,
        }),
      });
      await response.text();
    }
    fake.setRateLimit({ perSecond: 2, burst: 2 });
    const config = writeConfig(dir, {
      api: { id: API_ID, key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
      sites: { '*.example.com': ids.map(Number) },
      stateDir: join(dir, 'state'),
      liveDir: join(dir, 'le', 'live'),
      deadlineSeconds: 30,
    });
    let runs = 0;
    let allCurrent = false;
    const bound = 6;
    while (runs < bound && !allCurrent) {
      runs += 1;
      const result = await run(process.execPath, [CLI, 'sync'], { INCAP_CERT_CONFIG: config });
      const summary = result.stdout.split('\n').find((line) => line.startsWith('sync:')) ?? result.stderr;
      console.log(`   sync ${runs}: exit ${result.code}, ${summary}`);
      allCurrent = ids.every((id) => fake.serving(id)?.fingerprint === leaf.fingerprint);
    }
    record('syncs until 200 sites are current', `${runs}`, `≤ ${bound} syncs (bounded)`, allCurrent);
    await fake.close();
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
