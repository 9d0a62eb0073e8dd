/**
 * Writes a metrics file the way the commands do (several commands merging into one file, every family present,
 * label values that need escaping), for `promtool check metrics` in scripts/e2e.sh. Usage: metrics-sample.ts FILE
 */
import { writeMetrics } from '../src/metrics/textfile.js';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: metrics-sample.ts FILE');
  process.exitCode = 2;
} else {
  const now = Date.now();
  const day = 86_400_000;
  await writeMetrics(file, {
    command: 'sync',
    success: true,
    at: new Date(now),
    expiries: [
      { siteId: '1234567', keyType: 'ECC', source: 'local', notAfter: new Date(now + 89 * day) },
      { siteId: '1234567', keyType: 'ECC', source: 'imperva', notAfter: new Date(now + 89 * day) },
      { siteId: '1234567', keyType: 'RSA', source: 'imperva', notAfter: new Date(now + 20 * day) },
    ],
    queueEntries: 1,
  });
  // The hook uploads a renewal to a site the map still names; another site has left the map.
  await writeMetrics(file, {
    command: 'deploy',
    success: true,
    at: new Date(now + 500),
    mappedSites: new Set(['1234567']),
    forget: [{ siteId: '1234567', keyType: 'ECC', source: 'edge' }],
    expiries: [
      { siteId: '1234567', keyType: 'ECC', source: 'local', notAfter: new Date(now + 90 * day) },
      { siteId: '1234567', keyType: 'ECC', source: 'imperva', notAfter: new Date(now + 90 * day) },
    ],
  });
  await writeMetrics(file, {
    command: 'verify',
    success: false,
    at: new Date(now + 1000),
    replaceSources: ['edge'],
    expiries: [
      { siteId: '1234567', keyType: 'ECC', source: 'edge', notAfter: new Date(now + 89 * day) },
      { siteId: '7654321', keyType: 'RSA', source: 'edge', notAfter: new Date(now + 3 * day) },
    ],
  });
  await writeMetrics(file, {
    command: 'odd "name"\\\nwith escapes',
    success: true,
    at: new Date(now + 2000),
  });
}
