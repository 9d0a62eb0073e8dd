/**
 * `npm run demo`: the whole job, end to end, on this machine only. Starts the project's fake Imperva API on
 * 127.0.0.1, makes a throwaway CA and an ECDSA certificate laid out as Certbot lays out a lineage, runs the real
 * built `incap-cert` as Certbot would run its deploy hook, and shows what the fake Imperva now serves.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
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
try {
  step(`A fake Imperva API is listening on ${fake.url} (sites 1234567 example.com, 7654321 www.example.com)`);

  step('Certbot has just renewed example.com (ECDSA P-256, names example.com and www.example.com)');
  const pki = await createPki();
  const leaf = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
  const lineage = writeCertbotLineage(join(work, 'letsencrypt'), 'example.com', leaf);
  console.log(`  lineage ${lineage} → ../../archive/example.com/*1.pem`);
  console.log(`  leaf SHA-256 ${leaf.fingerprint}`);

  step(
    'The config maps the certificate names to Imperva site ids (mode 0600; the key comes from the environment)',
  );
  const config = writeConfig(work, {
    api: { id: apiId, baseUrl: fake.url },
    sites: { 'example.com': 1234567, 'www.example.com': [7654321] },
    logFile: join(work, 'log', 'incap-cert.log'),
  });
  console.log(`  ${config}`);

  const env = { IMPERVA_API_KEY: apiKey, INCAP_CERT_CONFIG: config, RENEWED_LINEAGE: lineage };
  step('Dry run: what would be uploaded where');
  show('incap-cert deploy --dry-run', await runCli(['deploy', '--dry-run'], env));

  step('Certbot runs the deploy hook: RENEWED_LINEAGE=… incap-cert deploy');
  const deployed = await runCli(['deploy'], env);
  show('incap-cert deploy', deployed);

  step('What the fake Imperva API received and now serves');
  for (const request of fake.acceptedUploads()) {
    const served = fake.serving(request.siteId ?? '');
    console.log(
      `  site ${request.siteId}: auth_type=${request.form.auth_type}, serves sha256 ${served?.fingerprint.slice(0, 16)}…` +
        ` (${served?.fingerprint === leaf.fingerprint ? 'the renewed certificate' : 'NOT the renewed certificate'}),` +
        ` credentials in headers only: ${request.headers['x-api-key'] === apiKey && !('api_key' in request.form)}`,
    );
  }

  step('A site id the account does not have: the failure is loud, the other site still gets its certificate');
  const broken = writeConfig(work, {
    api: { id: apiId, baseUrl: fake.url },
    sites: { 'example.com': [1234567, 999], 'www.example.com': 7654321 },
  });
  show(
    'incap-cert deploy  (site 999 unknown)',
    await runCli(['deploy'], { ...env, INCAP_CERT_CONFIG: broken }),
  );

  const ok =
    deployed.code === 0 &&
    fake.serving('1234567')?.fingerprint === leaf.fingerprint &&
    fake.serving('7654321')?.fingerprint === leaf.fingerprint;
  step(ok ? 'Both sites serve the renewed certificate. Demo complete.' : 'The demo did not go as expected.');
  process.exitCode = ok ? 0 : 1;
} finally {
  await fake.close();
  rmSync(work, { recursive: true, force: true });
}
