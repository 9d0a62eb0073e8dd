/**
 * `npm run fake-imperva`: the project's fake Imperva API (and a fake edge) on 127.0.0.1, for trying incap-cert by
 * hand. Prints a ready config (written 0600 to a temporary folder) and the commands to try; runs until Ctrl-C.
 * Options: --sites 1234567=example.com,7654321=www.example.com (site id = domain).
 */
import { join } from 'node:path';
import { FakeEdge } from '../test/support/fake-edge.js';
import { FakeImperva } from '../test/support/fake-imperva.js';
import { newApiKey, tempDir, writeConfig } from '../test/support/harness.js';

const flag = process.argv.indexOf('--sites');
const spec = flag >= 0 ? (process.argv[flag + 1] ?? '') : '1234567=example.com,7654321=www.example.com';
const sites = Object.fromEntries(
  spec
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=') as [string, string]),
);
const apiId = '12345';
const apiKey = newApiKey();
const fake = await FakeImperva.start({ apiId, apiKey, sites });
const edge = await FakeEdge.start({ imperva: fake });
const dir = tempDir('incap-cert-fake-');
const config = writeConfig(dir, {
  api: { id: apiId, key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
  sites: Object.fromEntries(Object.entries(sites).map(([id, domain]) => [domain, Number(id)])),
  stateDir: join(dir, 'state'),
  liveDir: join(dir, 'letsencrypt', 'live'),
  edgeAddress: edge.address,
});

console.log(`fake Imperva API: ${fake.url} (v1 and v3; API id ${apiId}; the key is in the config below)`);
console.log(`fake edge:        ${edge.address} (serves per SNI name and key type what the API holds)`);
console.log(
  `sites:            ${Object.entries(sites)
    .map(([id, domain]) => `${id} ${domain}`)
    .join(', ')}`,
);
console.log(`config (0600):    ${config}`);
console.log('\ntry:');
console.log(`  export INCAP_CERT_CONFIG=${config}`);
console.log('  node dist/cli.cjs check');
console.log('  node dist/cli.cjs push --cert FULLCHAIN --key KEY --site-id 1234567');
console.log('  node dist/cli.cjs status --live');
console.log('  node dist/cli.cjs verify');
console.log('\nCtrl-C stops it.');

const stop = async () => {
  await edge.close();
  await fake.close();
  process.exit(0); // eslint-disable-line no-restricted-properties -- a script, not the CLI
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
