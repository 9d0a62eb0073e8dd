import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { SiteMap, Want } from '../../src/model/want.js';
import { ConfigError } from '../../src/model/errors.js';
import type { Log } from '../../src/log/logger.js';
import { clientWants, newestPerSiteAndKeyType, type ClientSource } from '../../src/sources/clients.js';
import { liveWants } from '../../src/sources/live.js';
import { writeAcmeSh, writeDehydrated, writeLego } from '../support/client-layouts.js';
import { tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';

const DAY = 86_400_000;
const sites: SiteMap = new Map([
  ['example.com', ['1']],
  ['www.example.com', ['1']],
  ['*.example.com', ['2']],
  ['other.example', ['3']],
]);

let pki: Pki;
let ec: Leaf;
let rsa: Leaf;
let wildcard: Leaf;
const dirs: string[] = [];
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
  rsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
  wildcard = await issueLeaf(pki, { names: ['*.example.com'], keyType: 'rsa' });
});
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dir(): string {
  const made = tempDir('incap-cert-sources-');
  dirs.push(made);
  return made;
}

/** The sources say what they skipped in their return value; these hand it to a Log, as the commands do. */
function clientWantsTold(sources: readonly ClientSource[], sites: SiteMap, log: Log): Want[] {
  const read = clientWants(sources, sites);
  for (const line of read.skipped) log.warn(line);
  return read.wants;
}

function liveWantsTold(liveDir: string, sites: SiteMap, log: Log): Want[] {
  const read = liveWants(liveDir, sites);
  for (const line of read.skipped) log.warn(line);
  return read.wants;
}

function recorder(): { log: Log; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => {};
  return { log: { info: ignore, debug: ignore, error: ignore, warn: (m) => warnings.push(m) }, warnings };
}

/** What a want says, for comparing: site, key type, leaf fingerprint, files. */
function summary(wants: readonly Want[]) {
  return wants
    .map((want) => ({
      siteId: want.siteId,
      keyType: want.chain.keyType,
      fingerprint: want.chain.fingerprint,
      chainLength: want.chain.chainLength,
      files: want.files,
      origin: want.origin,
      explicit: want.explicit,
    }))
    .sort((a, b) => `${a.siteId}/${a.keyType}`.localeCompare(`${b.siteId}/${b.keyType}`));
}

describe('clientWants: lego', () => {
  it('reads certificates/: the bundle, a --no-bundle leaf completed by its issuer file, and a wildcard as _.DOMAIN', () => {
    const path = dir();
    const bundled = writeLego(path, 'example.com', ec);
    const leafOnly = writeLego(join(path, 'rsa'), 'example.com', rsa, false);
    const star = writeLego(path, '*.example.com', wildcard);
    const { log, warnings } = recorder();
    const wants = clientWantsTold(
      [
        { client: 'lego', dir: join(path, 'certificates') },
        { client: 'lego', dir: join(path, 'rsa') }, // lego's --path: certificates/ below it
      ],
      sites,
      log,
    );
    assert.deepEqual(warnings, []);
    assert.ok(star.cert.endsWith('/_.example.com.crt'));
    assert.deepEqual(summary(wants), [
      {
        siteId: '1',
        keyType: 'ECC',
        fingerprint: ec.fingerprint,
        chainLength: 2,
        files: { cert: bundled.cert, key: bundled.key, issuer: bundled.issuer },
        origin: 'live',
        explicit: false,
      },
      {
        siteId: '1',
        keyType: 'RSA',
        fingerprint: rsa.fingerprint,
        chainLength: 2,
        files: { cert: leafOnly.cert, key: leafOnly.key, issuer: leafOnly.issuer },
        origin: 'live',
        explicit: false,
      },
      {
        siteId: '2',
        keyType: 'RSA',
        fingerprint: wildcard.fingerprint,
        chainLength: 2,
        files: { cert: star.cert, key: star.key, issuer: star.issuer },
        origin: 'live',
        explicit: false,
      },
    ]);
  });

  it('a certificate named like an issuer file is still read when there is no certificate it belongs to', async () => {
    const path = dir();
    const odd = await issueLeaf(pki, { names: ['other.example'] });
    writeLego(path, 'a.issuer', odd); // a.issuer.crt, a.issuer.issuer.crt: no a.crt
    const { log, warnings } = recorder();
    const wants = clientWantsTold([{ client: 'lego', dir: path }], sites, log);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      wants.map((want) => [want.siteId, want.chain.fingerprint, want.files.cert]),
      [['3', odd.fingerprint, join(path, 'certificates', 'a.issuer.crt')]],
    );
  });
});

describe('clientWants: acme.sh', () => {
  it('reads DOMAIN/ (RSA) and DOMAIN_ecc/ (ECDSA) in its home, and nothing of its own folders', () => {
    const home = dir();
    const rsaFiles = writeAcmeSh(home, 'example.com', rsa, false);
    const ecFiles = writeAcmeSh(home, 'example.com', ec, true);
    const star = writeAcmeSh(home, '*.example.com', wildcard, false);
    mkdirSync(join(home, 'backup-by-hand')); // not acme.sh's, not a certificate's: ignored
    const { log, warnings } = recorder();
    const wants = clientWantsTold([{ client: 'acme.sh', dir: home }], sites, log);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      summary(wants).map((want) => [
        want.siteId,
        want.keyType,
        want.fingerprint,
        want.chainLength,
        want.files,
      ]),
      [
        ['1', 'ECC', ec.fingerprint, 2, { cert: ecFiles.cert, key: ecFiles.key }],
        ['1', 'RSA', rsa.fingerprint, 2, { cert: rsaFiles.cert, key: rsaFiles.key }],
        ['2', 'RSA', wildcard.fingerprint, 2, { cert: star.cert, key: star.key }],
      ],
    );
    assert.ok(ecFiles.cert.endsWith('/example.com_ecc/fullchain.cer'));
    assert.ok(ecFiles.key.endsWith('/example.com_ecc/example.com.key'));
  });

  it('a certificate folder whose issuance never finished is a warning naming it', () => {
    const home = dir();
    writeAcmeSh(home, 'example.com', ec, true);
    mkdirSync(join(home, 'new.example_ecc'));
    writeFileSync(join(home, 'new.example_ecc', 'new.example.conf'), "Le_Domain='new.example'\n");
    const { log, warnings } = recorder();
    const wants = clientWantsTold([{ client: 'acme.sh', dir: home }], sites, log);
    assert.equal(wants.length, 1);
    assert.deepEqual(warnings, [
      `acme.sh certificate ${join(home, 'new.example_ecc')} skipped: certificate ${join(home, 'new.example_ecc', 'fullchain.cer')} does not exist`,
    ]);
  });
});

describe('clientWants: dehydrated', () => {
  it('reads certs/NAME/fullchain.pem and privkey.pem through their symlinks: the newest files', async () => {
    const base = dir();
    writeDehydrated(base, 'example.com', ec, 1_700_000_000);
    const renewed = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
    const files = writeDehydrated(base, 'example.com', renewed, 1_700_100_000);
    const { log, warnings } = recorder();
    for (const given of [base, join(base, 'certs')]) {
      const wants = clientWantsTold([{ client: 'dehydrated', dir: given }], sites, log);
      assert.deepEqual(
        summary(wants).map((want) => [want.siteId, want.keyType, want.fingerprint, want.files]),
        [['1', 'ECC', renewed.fingerprint, { cert: files.cert, key: files.key }]],
      );
    }
    assert.deepEqual(warnings, []);
  });
});

describe('clientWants: what is refused or missing', () => {
  it('a missing folder is a warning naming it, never an exception', () => {
    const { log, warnings } = recorder();
    const missing = join(dir(), 'nowhere');
    const sources: ClientSource[] = [
      { client: 'lego', dir: missing },
      { client: 'acme.sh', dir: missing },
      { client: 'dehydrated', dir: missing },
    ];
    assert.deepEqual(clientWantsTold(sources, sites, log), []);
    assert.deepEqual(warnings, [
      `lego folder ${missing} (config sources) does not exist`,
      `acme.sh folder ${missing} (config sources) does not exist`,
      `dehydrated folder ${missing} (config sources) does not exist`,
    ]);
  });

  it('a broken certificate is a warning and skipped; the others are still read', () => {
    const path = dir();
    writeLego(path, 'example.com', ec);
    const broken = writeLego(path, 'other.example', ec);
    writeFileSync(broken.cert, 'not a certificate\n');
    const { log, warnings } = recorder();
    const wants = clientWantsTold([{ client: 'lego', dir: path }], sites, log);
    assert.deepEqual(
      wants.map((want) => want.siteId),
      ['1'],
    );
    assert.deepEqual(warnings, [
      `lego certificate ${broken.cert} skipped: certificate ${broken.cert} is not a PEM certificate`,
    ]);
  });

  it('follows no symlink the client does not make, and never opens a FIFO', () => {
    const path = dir();
    const outside = join(dir(), 'elsewhere.pem');
    writeFileSync(outside, ec.fullchainPem);
    // lego writes regular files only.
    const lego = writeLego(path, 'example.com', ec);
    rmSync(lego.cert);
    symlinkSync(outside, lego.cert);
    // dehydrated links within the certificate's folder only.
    const base = dir();
    const dehydrated = writeDehydrated(base, 'example.com', ec, 1);
    rmSync(dehydrated.cert);
    symlinkSync(outside, dehydrated.cert);
    const escaped = writeDehydrated(base, 'www.example.com', ec, 1);
    rmSync(escaped.key);
    symlinkSync('../example.com/privkey-1.pem', escaped.key);
    // acme.sh: a FIFO where the full chain should be would block a read forever.
    const home = dir();
    const acme = writeAcmeSh(home, 'example.com', ec, true);
    rmSync(acme.cert);
    execFileSync('mkfifo', [acme.cert]);
    mkdirSync(join(home, 'real'));
    symlinkSync(join(home, 'real'), join(home, 'linked.example_ecc'));

    const { log, warnings } = recorder();
    const wants = clientWantsTold(
      [
        { client: 'lego', dir: path },
        { client: 'dehydrated', dir: base },
        { client: 'acme.sh', dir: home },
      ],
      sites,
      log,
    );
    assert.deepEqual(wants, []);
    assert.deepEqual(warnings, [
      `lego certificate ${lego.cert} skipped: certificate ${lego.cert} is not a regular file (a symlink)`,
      `dehydrated certificate ${dehydrated.folder} skipped: certificate ${dehydrated.cert} is a symlink to ${outside}, outside its own folder (dehydrated links within it)`,
      `dehydrated certificate ${escaped.folder} skipped: private key ${escaped.key} is a symlink to ../example.com/privkey-1.pem, outside its own folder (dehydrated links within it)`,
      `acme.sh certificate ${acme.folder} skipped: certificate ${acme.cert} is not a regular file (a FIFO)`,
      `acme.sh folder ${join(home, 'linked.example_ecc')} skipped: it is a symlink, and acme.sh does not make them`,
    ]);
  });
});

describe('newestPerSiteAndKeyType', () => {
  it('per site and key type the certificate that expires last wins, across Certbot and every client', async () => {
    const older = await issueLeaf(pki, { names: ['example.com'], notAfter: new Date(Date.now() + 30 * DAY) });
    const newest = await issueLeaf(pki, {
      names: ['example.com'],
      notAfter: new Date(Date.now() + 89 * DAY),
    });
    const middle = await issueLeaf(pki, {
      names: ['example.com'],
      notAfter: new Date(Date.now() + 60 * DAY),
    });
    const le = dir();
    writeCertbotLineage(le, 'example.com', older);
    const lego = dir();
    writeLego(lego, 'example.com', middle);
    const dehydrated = dir();
    writeDehydrated(dehydrated, 'example.com', newest, 5);
    const acme = dir();
    writeAcmeSh(acme, 'example.com', rsa, false);
    const { log } = recorder();
    const wants = newestPerSiteAndKeyType([
      ...liveWantsTold(join(le, 'live'), sites, log),
      ...clientWantsTold(
        [
          { client: 'lego', dir: lego },
          { client: 'dehydrated', dir: dehydrated },
          { client: 'acme.sh', dir: acme },
        ],
        sites,
        log,
      ),
    ]);
    assert.deepEqual(
      summary(wants).map((want) => [want.siteId, want.keyType, want.fingerprint]),
      [
        ['1', 'ECC', newest.fingerprint],
        ['1', 'RSA', rsa.fingerprint],
      ],
    );
  });

  it('on a tie the earlier want stays (Certbot before the other clients)', () => {
    const le = dir();
    const lineage = writeCertbotLineage(le, 'example.com', ec);
    const lego = dir();
    writeLego(lego, 'example.com', ec);
    const { log } = recorder();
    const wants = newestPerSiteAndKeyType([
      ...liveWantsTold(join(le, 'live'), sites, log),
      ...clientWantsTold([{ client: 'lego', dir: lego }], sites, log),
    ]);
    assert.deepEqual(
      wants.map((want) => want.files.lineage),
      [lineage],
    );
  });
});

describe('config sources', () => {
  const api = { id: 1, key: 'secret-key-0123456789abcdef' };

  it('names folders by client; each becomes a ClientSource with an absolute folder', () => {
    const file = writeConfig(dir(), {
      api,
      sites: {},
      sources: {
        lego: ['/root/.lego/certificates', 'rel/lego'],
        'acme.sh': ['/root/.acme.sh'],
        dehydrated: [],
      },
    });
    assert.deepEqual(loadConfig({ config: file }, {}).sources, [
      { client: 'lego', dir: '/root/.lego/certificates', setting: 'sources.lego[0]' },
      { client: 'lego', dir: join(process.cwd(), 'rel/lego'), setting: 'sources.lego[1]' },
      { client: 'acme.sh', dir: '/root/.acme.sh', setting: 'sources["acme.sh"][0]' },
    ]);
  });

  it('an unknown client or a folder that is not a string is an issue naming the field', () => {
    const file = writeConfig(dir(), {
      api,
      sites: {},
      sources: { certbot: ['/etc/letsencrypt/live'], 'acme.sh': '/root/.acme.sh', lego: [''] },
    });
    assert.throws(
      () => loadConfig({ config: file }, {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.issues.join('\n') ===
          [
            `${file}: sources.certbot: unknown ACME client; one of lego, acme.sh, dehydrated (Certbot's folder is liveDir)`,
            `${file}: sources["acme.sh"]: must be a list of folder paths`,
            `${file}: sources.lego[0]: must be a folder path, or {"path": FOLDER, "owner": USER, "names": [NAME, ...]} for a folder another user writes`,
          ].join('\n'),
    );
  });
});
