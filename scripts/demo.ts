/**
 * `npm run demo`: the whole job, end to end, on this machine only. Starts the project's fake Imperva API on
 * 127.0.0.1, makes a throwaway CA and ECDSA certificates laid out as Certbot lays out a lineage, and runs the real
 * built `incap-cert` as Certbot runs its deploy hook — then through a flaky API, a failed site, and the sync that
 * delivers it; last, the renewal-path canary finding a blocked challenge path.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeEdge, FakeHttpEdge } from '../test/support/fake-edge.js';
import { FakeImperva } from '../test/support/fake-imperva.js';
import { newApiKey, runCli, tempDir, writeConfig, type CliResult } from '../test/support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../test/support/pki.js';

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (text: string) => console.log(`\n${bold(`▶ ${text}`)}`);
function show(command: string, result: CliResult): void {
  console.log(`  $ ${command}`);
  for (const line of result.stdout.trimEnd().split('\n').filter(Boolean)) console.log(`  │ ${line}`);
  for (const line of result.stderr.trimEnd().split('\n').filter(Boolean)) console.log(`  │ (stderr) ${line}`);
  console.log(`  └ exit code ${result.code}`);
}

const work = tempDir('incap-cert-demo-');
const apiId = '12345';
const apiKey = newApiKey();
const fake = await FakeImperva.start({
  apiId,
  apiKey,
  sites: { '1234567': 'example.com', '7654321': 'www.example.com' },
});
// Imperva's edge, as a TLS server on 127.0.0.1 that serves, per SNI name and key type, what the fake API holds.
const edge = await FakeEdge.start({ imperva: fake });
const checks: [string, boolean][] = [];
let httpEdge: FakeHttpEdge | undefined;
try {
  step(`A fake Imperva API is listening on ${fake.url} (sites 1234567 example.com, 7654321 www.example.com)`);

  step('Certbot has just issued example.com (ECDSA P-256, names example.com and www.example.com)');
  const pki = await createPki();
  const letsencrypt = join(work, 'letsencrypt');
  const leaf = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
  const lineage = writeCertbotLineage(letsencrypt, 'example.com', leaf, 1);
  console.log(`  lineage ${lineage} → ../../archive/example.com/*1.pem`);
  console.log(`  leaf SHA-256 ${leaf.fingerprint}`);

  step('The config maps names to Imperva site ids (mode 0600; here the key comes from the environment)');
  const config = writeConfig(work, {
    api: { id: apiId, baseUrl: fake.url },
    sites: { 'example.com': 1234567, 'www.example.com': [7654321] },
    stateDir: join(work, 'state'),
    liveDir: join(letsencrypt, 'live'),
    logFile: join(work, 'log', 'incap-cert.log'),
    retryDelaySeconds: 1,
  });
  console.log(`  ${config}`);
  const env = {
    IMPERVA_API_KEY: apiKey,
    INCAP_CERT_CONFIG: config,
    RENEWED_LINEAGE: lineage,
    INCAP_CERT_EDGE: edge.address,
  };

  step('Dry run: what would be uploaded where');
  show('incap-cert deploy --dry-run', await runCli(['deploy', '--dry-run'], env));

  step('Certbot runs the deploy hook: RENEWED_LINEAGE=… incap-cert deploy');
  const deployed = await runCli(['deploy'], env);
  show('incap-cert deploy', deployed);
  checks.push(['the deploy hook exits 0', deployed.code === 0]);

  step('What the fake Imperva API received and now serves');
  for (const request of fake.acceptedUploads()) {
    const served = fake.serving(request.siteId ?? '');
    const renewed = served?.fingerprint === leaf.fingerprint;
    checks.push([`site ${request.siteId} serves the certificate`, renewed]);
    console.log(
      `  site ${request.siteId}: auth_type=${request.form.auth_type}, serves sha256 ${served?.fingerprint.slice(0, 16)}…` +
        ` (${renewed ? 'the certificate Certbot wrote' : 'NOT the certificate Certbot wrote'}),` +
        ` key in headers only: ${request.headers['x-api-key'] === apiKey && !('api_key' in request.form)}`,
    );
  }

  step(
    `Does the site serve it? verify asks the edge (here ${edge.address}) with each site's name, offering ECDSA only`,
  );
  const verified = await runCli(['verify'], env);
  show('incap-cert verify', verified);
  checks.push(['the edge serves the certificate Certbot wrote', verified.code === 0]);

  step("60 days on, Certbot renews; Imperva's front answers one upload with an HTML error page: retried");
  const renewed = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
  writeCertbotLineage(letsencrypt, 'example.com', renewed, 2);
  fake.inject({
    endpoint: 'upload',
    siteId: '7654321',
    fault: { status: 502, body: '<html>Bad gateway</html>' },
  });
  const flaky = await runCli(['deploy'], env);
  show('incap-cert deploy', flaky);
  checks.push([
    'the flaky upload is retried and delivered',
    flaky.code === 0 && fake.serving('7654321')?.fingerprint === renewed.fingerprint,
  ]);

  step(
    'A name is pointed at a site the account does not have yet: Certbot would carry on, so incap-cert queues it',
  );
  const grown = writeConfig(work, {
    api: { id: apiId, baseUrl: fake.url },
    sites: { 'example.com': [1234567, 5550001], 'www.example.com': 7654321 },
    stateDir: join(work, 'state'),
    liveDir: join(letsencrypt, 'live'),
    retryDelaySeconds: 1,
  });
  const failed = await runCli(['deploy'], { ...env, INCAP_CERT_CONFIG: grown });
  show('incap-cert deploy', failed);
  checks.push(['the failed site makes the hook exit 1', failed.code === 1]);
  show('incap-cert status', await runCli(['status'], { ...env, INCAP_CERT_CONFIG: grown }));

  step('The site is created in Imperva; the daily timer runs sync, which delivers what was owed');
  fake.addSite('5550001', 'example.com');
  const synced = await runCli(['sync'], { ...env, INCAP_CERT_CONFIG: grown });
  show('incap-cert sync', synced);
  const status = await runCli(['status'], { ...env, INCAP_CERT_CONFIG: grown });
  show('incap-cert status', status);
  checks.push([
    'sync delivers the queued site',
    synced.code === 0 && fake.serving('5550001')?.fingerprint === renewed.fingerprint,
  ]);
  checks.push(['status says everything is current', status.code === 0]);

  step(
    "Before the next renewal: canary places a challenge file in Certbot's web root and asks for it through the edge on port 80 (a WAF rule blocks www.example.com)",
  );
  const webroot = join(work, 'www');
  mkdirSync(webroot, { mode: 0o755 });
  mkdirSync(join(letsencrypt, 'renewal'), { mode: 0o755 });
  writeFileSync(
    join(letsencrypt, 'renewal', 'example.com.conf'),
    `version = 2.1.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = ${webroot},\n[[webroot_map]]\n`,
  );
  httpEdge = await FakeHttpEdge.start({ webroot: () => webroot, modes: { 'www.example.com': 'block' } });
  const canary = await runCli(['canary'], {
    ...env,
    INCAP_CERT_CONFIG: grown,
    INCAP_CERT_EDGE_HTTP: httpEdge.address,
  });
  show('incap-cert canary', canary);
  checks.push([
    'canary names the blocked path and its advice, and exits 1',
    canary.code === 1 &&
      /blocked: .*incident ID/.test(canary.stderr) &&
      /exempt \/\.well-known/.test(canary.stderr),
  ]);

  const ok = checks.every(([, passed]) => passed);
  for (const [what, passed] of checks) if (!passed) console.log(`  ✗ ${what}`);
  step(ok ? 'Every site serves the renewed certificate. Demo complete.' : 'The demo did not go as expected.');
  process.exitCode = ok ? 0 : 1;
} finally {
  await edge.close();
  await httpEdge?.close();
  await fake.close();
  rmSync(work, { recursive: true, force: true });
}
