import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  MetricsError,
  escapeLabel,
  mergeMetrics,
  parseMetrics,
  renderMetrics,
  writeMetrics,
  type MetricsUpdate,
} from '../../src/metrics/textfile.js';
import { tempDir } from '../support/harness.js';

const AT = new Date('2026-03-01T12:00:00.250Z');
const NOT_AFTER = new Date('2026-05-30T12:00:00Z');

function sync(overrides: Partial<MetricsUpdate> = {}): MetricsUpdate {
  return {
    command: 'sync',
    success: true,
    at: AT,
    expiries: [
      { siteId: '1234567', keyType: 'ECC', source: 'local', notAfter: NOT_AFTER },
      { siteId: '1234567', keyType: 'ECC', source: 'imperva', notAfter: NOT_AFTER },
      { siteId: '1234567', keyType: 'RSA', source: 'edge', notAfter: new Date('2026-04-01T00:00:00Z') },
    ],
    queueEntries: 2,
    ...overrides,
  };
}

describe('renderMetrics', () => {
  it('writes HELP and TYPE for each family, samples sorted, labels in their order, a final newline', () => {
    const text = renderMetrics(mergeMetrics([], sync()));
    assert.equal(
      text,
      [
        '# HELP incap_cert_last_run_timestamp_seconds When each incap-cert command last finished, in seconds since the epoch.',
        '# TYPE incap_cert_last_run_timestamp_seconds gauge',
        'incap_cert_last_run_timestamp_seconds{command="sync"} 1772366400.25',
        '# HELP incap_cert_last_run_success Whether the last run of each incap-cert command succeeded (1) or failed (0).',
        '# TYPE incap_cert_last_run_success gauge',
        'incap_cert_last_run_success{command="sync"} 1',
        "# HELP incap_cert_certificate_expiry_timestamp_seconds notAfter of the certificate per site and key type, as seen locally, in Imperva's API or at the edge, in seconds since the epoch.",
        '# TYPE incap_cert_certificate_expiry_timestamp_seconds gauge',
        'incap_cert_certificate_expiry_timestamp_seconds{site_id="1234567",key_type="ECC",source="imperva"} 1780142400',
        'incap_cert_certificate_expiry_timestamp_seconds{site_id="1234567",key_type="ECC",source="local"} 1780142400',
        'incap_cert_certificate_expiry_timestamp_seconds{site_id="1234567",key_type="RSA",source="edge"} 1775001600',
        '# HELP incap_cert_queue_entries Deliveries waiting in the retry queue.',
        '# TYPE incap_cert_queue_entries gauge',
        'incap_cert_queue_entries 2',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values: backslash, double quote, line feed', () => {
    assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const text = renderMetrics(mergeMetrics([], { command: 'we"ird\\\ncmd', success: false, at: AT }));
    assert.match(text, /^incap_cert_last_run_success\{command="we\\"ird\\\\\\ncmd"\} 0$/m);
    // ... and reads back to the same value.
    const back = parseMetrics(text).find((sample) => sample.name === 'incap_cert_last_run_success');
    assert.equal(back?.labels.command, 'we"ird\\\ncmd');
  });

  it('nothing to say: an empty file', () => {
    assert.equal(renderMetrics([]), '');
  });
});

describe('mergeMetrics', () => {
  it('a run with nothing to do records when it ran and keeps the last success as it was', () => {
    const failed = mergeMetrics([], { command: 'deploy', success: false, at: AT });
    const unmapped = renderMetrics(
      mergeMetrics(parseMetrics(renderMetrics(failed)), {
        command: 'deploy',
        at: new Date('2026-03-02T00:00:00Z'),
      }),
    );
    assert.match(unmapped, /^incap_cert_last_run_success\{command="deploy"\} 0$/m);
    assert.match(unmapped, /^incap_cert_last_run_timestamp_seconds\{command="deploy"\} 1772409600$/m);
    assert.doesNotMatch(
      renderMetrics(mergeMetrics([], { command: 'deploy', at: AT })),
      /incap_cert_last_run_success/,
    );
  });

  it("keeps other commands' samples and replaces this command's", () => {
    const first = mergeMetrics([], sync());
    const status = mergeMetrics(parseMetrics(renderMetrics(first)), {
      command: 'status',
      success: false,
      at: new Date('2026-03-02T00:00:00Z'),
      expiries: [
        { siteId: '1234567', keyType: 'ECC', source: 'imperva', notAfter: new Date('2026-06-30T00:00:00Z') },
      ],
    });
    const text = renderMetrics(status);
    assert.match(text, /^incap_cert_last_run_success\{command="sync"\} 1$/m);
    assert.match(text, /^incap_cert_last_run_success\{command="status"\} 0$/m);
    assert.match(text, /^incap_cert_last_run_timestamp_seconds\{command="sync"\} 1772366400.25$/m);
    assert.match(text, /^incap_cert_last_run_timestamp_seconds\{command="status"\} 1772409600$/m);
    assert.match(
      text,
      /^incap_cert_certificate_expiry_timestamp_seconds\{site_id="1234567",key_type="ECC",source="imperva"\} 1782777600$/m,
    );
    assert.match(text, /source="local"\} 1780142400$/m);
    assert.match(text, /^incap_cert_queue_entries 2$/m, 'a command that does not know the queue leaves it');
    assert.equal(text.match(/source="imperva"/g)?.length, 1);
  });

  it('replaceSources forgets earlier samples of those sources; forget drops a site and key type', () => {
    const first = mergeMetrics([], sync());
    const replaced = renderMetrics(
      mergeMetrics(first, {
        command: 'verify',
        success: true,
        at: AT,
        replaceSources: ['edge'],
        expiries: [{ siteId: '7654321', keyType: 'ECC', source: 'edge', notAfter: NOT_AFTER }],
      }),
    );
    assert.doesNotMatch(replaced, /site_id="1234567",key_type="RSA",source="edge"/);
    assert.match(replaced, /site_id="7654321",key_type="ECC",source="edge"/);
    assert.match(replaced, /site_id="1234567",key_type="ECC",source="local"/);
    const removed = renderMetrics(
      mergeMetrics(first, {
        command: 'remove',
        success: true,
        at: AT,
        forget: [{ siteId: '1234567', keyType: 'ECC' }],
      }),
    );
    assert.doesNotMatch(removed, /key_type="ECC"/);
    assert.match(removed, /site_id="1234567",key_type="RSA",source="edge"/);
  });
});

describe('mergeMetrics: what is true now', () => {
  const expiry = (siteId: string, keyType: 'RSA' | 'ECC', source: 'local' | 'imperva' | 'edge') =>
    new RegExp(`site_id="${siteId}",key_type="${keyType}",source="${source}"`);
  const twoSites = mergeMetrics([], {
    ...sync(),
    expiries: [
      { siteId: '1234567', keyType: 'ECC', source: 'local', notAfter: NOT_AFTER },
      { siteId: '1234567', keyType: 'ECC', source: 'edge', notAfter: NOT_AFTER },
      { siteId: '7654321', keyType: 'RSA', source: 'imperva', notAfter: NOT_AFTER },
      { siteId: '7654321', keyType: 'RSA', source: 'edge', notAfter: NOT_AFTER },
    ],
  });

  it('a site the config no longer maps loses every sample; a site this run reported keeps its own', () => {
    const text = renderMetrics(
      mergeMetrics(twoSites, {
        command: 'push',
        success: true,
        at: AT,
        mappedSites: new Set(['1234567']),
        // push --site-id to a site the map does not name: this run's own samples stand.
        expiries: [{ siteId: '5550001', keyType: 'ECC', source: 'local', notAfter: NOT_AFTER }],
      }),
    );
    assert.doesNotMatch(text, /site_id="7654321"/);
    assert.match(text, expiry('1234567', 'ECC', 'local'));
    assert.match(text, expiry('1234567', 'ECC', 'edge'));
    assert.match(text, expiry('5550001', 'ECC', 'local'));
    assert.match(text, /^incap_cert_last_run_success\{command="sync"\} 1$/m, 'samples of no site stay');
    assert.match(text, /^incap_cert_queue_entries 2$/m);
  });

  it('an empty map drops every site; no map (a command that did not load one) drops none', () => {
    const none = renderMetrics(
      mergeMetrics(twoSites, { command: 'status', success: true, at: AT, mappedSites: new Set() }),
    );
    assert.doesNotMatch(none, /site_id=/);
    const unjudged = renderMetrics(mergeMetrics(twoSites, { command: 'status', success: true, at: AT }));
    assert.equal(unjudged.match(/site_id=/g)?.length, 4);
  });

  it('forget with a source drops only that source of that site and key type', () => {
    const text = renderMetrics(
      mergeMetrics(twoSites, {
        command: 'sync',
        success: true,
        at: AT,
        forget: [{ siteId: '1234567', keyType: 'ECC', source: 'edge' }],
      }),
    );
    assert.doesNotMatch(text, expiry('1234567', 'ECC', 'edge'));
    assert.match(text, expiry('1234567', 'ECC', 'local'));
    assert.match(text, expiry('7654321', 'RSA', 'edge'));
  });

  it('forgetting comes first: what the same run saw is set afterwards', () => {
    const seen = new Date('2026-08-01T00:00:00Z');
    const text = renderMetrics(
      mergeMetrics(twoSites, {
        command: 'sync',
        success: true,
        at: AT,
        forget: [{ siteId: '1234567', keyType: 'ECC', source: 'edge' }],
        expiries: [{ siteId: '1234567', keyType: 'ECC', source: 'edge', notAfter: seen }],
      }),
    );
    assert.match(
      text,
      /^incap_cert_certificate_expiry_timestamp_seconds\{site_id="1234567",key_type="ECC",source="edge"\} 1785542400$/m,
    );
  });
});

describe('parseMetrics', () => {
  it('keeps only our families with their exact labels and a finite number', () => {
    const text = [
      '# HELP something else',
      'node_cpu_seconds_total{cpu="0"} 1',
      'incap_cert_queue_entries 3',
      'incap_cert_queue_entries{extra="x"} 4',
      'incap_cert_last_run_success{command="deploy"} 1 1700000000000',
      'incap_cert_last_run_success{command="push",command="x"} 1',
      'incap_cert_last_run_success{command="bad\\q"} 1',
      'incap_cert_last_run_success{command="unterminated} 1',
      'incap_cert_last_run_success{command="nan"} NaN',
      'incap_cert_last_run_success{command="junk"} 1 trailing junk',
      'incap_cert_certificate_expiry_timestamp_seconds{source="edge",key_type="RSA",site_id="1"} 5',
      'incap_cert_certificate_expiry_timestamp_seconds{site_id="1",key_type="RSA"} 5',
      '__proto__{command="x"} 1',
      'constructor 1',
    ].join('\n');
    assert.deepEqual(
      parseMetrics(text).map((sample) => [sample.name, sample.labels, sample.value]),
      [
        ['incap_cert_queue_entries', {}, 3],
        ['incap_cert_last_run_success', { command: 'deploy' }, 1],
        [
          'incap_cert_certificate_expiry_timestamp_seconds',
          { source: 'edge', key_type: 'RSA', site_id: '1' },
          5,
        ],
      ],
    );
  });
});

describe('writeMetrics', () => {
  it('creates the file mode 0644 and merges into what it holds, leaving no temp or lock file behind', async () => {
    const dir = tempDir();
    const file = join(dir, 'incap-cert.prom');
    await writeMetrics(file, sync());
    assert.equal(statSync(file).mode & 0o777, 0o644);
    await writeMetrics(file, { command: 'verify', success: false, at: AT });
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^incap_cert_last_run_success\{command="sync"\} 1$/m);
    assert.match(text, /^incap_cert_last_run_success\{command="verify"\} 0$/m);
    assert.match(text, /^incap_cert_queue_entries 2$/m);
    assert.deepEqual(readdirSync(dir), ['incap-cert.prom']);
  });

  it('refuses a symlink at the path: neither follows it nor replaces it', async () => {
    const dir = tempDir();
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'incap_cert_queue_entries 99\n');
    const file = join(dir, 'incap-cert.prom');
    symlinkSync(target, file);
    await assert.rejects(
      writeMetrics(file, { command: 'status', success: true, at: AT }),
      (error: unknown) => {
        assert.ok(error instanceof MetricsError);
        assert.equal(
          error.message,
          `metrics file ${file} is a symlink; it is not followed (root writes there)`,
        );
        return true;
      },
    );
    assert.equal(readFileSync(target, 'utf8'), 'incap_cert_queue_entries 99\n');
    assert.ok(lstatSync(file).isSymbolicLink());
  });

  it('starts afresh from a file that is not ours (too big, garbage)', async () => {
    const dir = tempDir();
    const file = join(dir, 'incap-cert.prom');
    writeFileSync(file, `incap_cert_queue_entries 5\n${'x'.repeat(2 * 1024 * 1024)}\n`);
    await writeMetrics(file, { command: 'status', success: true, at: AT });
    assert.doesNotMatch(readFileSync(file, 'utf8'), /queue_entries/);
    writeFileSync(file, '\u0000\u0001garbage{{{\nincap_cert_queue_entries 5\n');
    await writeMetrics(file, { command: 'status', success: true, at: AT });
    assert.match(readFileSync(file, 'utf8'), /^incap_cert_queue_entries 5$/m);
  });

  it('a folder that cannot be written: MetricsError naming the file, exit code 2, nothing left behind', async (t) => {
    if (process.getuid?.() === 0) {
      // root writes anywhere: use a folder that does not exist instead
      const file = join(tempDir(), 'missing', 'incap-cert.prom');
      await assert.rejects(writeMetrics(file, sync()), (error: unknown) => {
        assert.ok(error instanceof MetricsError);
        assert.equal(error.exitCode, 2);
        assert.equal(error.message, `cannot write metrics file ${file} (ENOENT)`);
        return true;
      });
      return;
    }
    t.diagnostic('not root: a read-only folder');
    const dir = join(tempDir(), 'ro');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    const file = join(dir, 'incap-cert.prom');
    await assert.rejects(
      writeMetrics(file, sync()),
      /^MetricsError: cannot write metrics file .* \(EACCES\)$/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
