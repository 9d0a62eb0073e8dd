/**
 * Root uploads only what root (or an owner the config names) wrote — for every kind of source, not one: Certbot's
 * live and archive folders, and acme.sh, lego and dehydrated folders named in `sources`. Each is spoiled in each way
 * another user could have written it (the folder it lives in, its key, its certificate, a folder above it up to the
 * source's root), and `sync` must upload nothing of it and say why. The tests run as root: "another user" is uid 1234.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeAcmeSh, writeDehydrated, writeLego } from '../support/client-layouts.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const STRANGER = 1234;

let forged: Leaf;
before(async () => {
  forged = await issueLeaf(await createPki(), { names: ['www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

interface Laid {
  /** The config fields that name the source. */
  fields: Record<string, unknown>;
  /** The source's root, the folder of the certificate, the certificate and the key. */
  root: string;
  folder: string;
  cert: string;
  key: string;
}

const clients: [string, (dir: string) => Laid][] = [
  [
    'Certbot',
    (dir) => {
      const configDir = join(dir, 'letsencrypt');
      const lineage = writeCertbotLineage(configDir, 'www.example.com', forged);
      const archive = join(configDir, 'archive', 'www.example.com');
      return {
        fields: { liveDir: join(configDir, 'live') },
        // Certbot's folders count up to the live folder's parent (/etc/letsencrypt).
        root: configDir,
        folder: lineage,
        cert: join(archive, 'fullchain1.pem'),
        key: join(archive, 'privkey1.pem'),
      };
    },
  ],
  [
    'acme.sh',
    (dir) => {
      const home = join(dir, '.acme.sh');
      const files = writeAcmeSh(home, 'www.example.com', forged, true);
      return { fields: { sources: { 'acme.sh': [home] } }, root: home, folder: files.folder ?? '', ...files };
    },
  ],
  [
    'lego',
    (dir) => {
      const path = join(dir, 'lego');
      const files = writeLego(path, 'www.example.com', forged);
      return { fields: { sources: { lego: [path] } }, root: path, folder: dirname(files.cert), ...files };
    },
  ],
  [
    'dehydrated',
    (dir) => {
      const base = join(dir, 'dehydrated');
      const files = writeDehydrated(base, 'www.example.com', forged, 1700000000);
      // The files dehydrated's links lead to.
      return {
        fields: { sources: { dehydrated: [base] } },
        root: base,
        folder: files.folder ?? '',
        cert: join(files.folder ?? '', 'fullchain-1700000000.pem'),
        key: join(files.folder ?? '', 'privkey-1700000000.pem'),
      };
    },
  ],
];

const spoils: [string, (laid: Laid) => string][] = [
  [
    'the source’s root owned by another user',
    (laid) => (chownSync(laid.root, STRANGER, STRANGER), laid.root),
  ],
  [
    'the certificate’s folder owned by another user',
    (laid) => (chownSync(laid.folder, STRANGER, STRANGER), laid.folder),
  ],
  ['the key owned by another user', (laid) => (chownSync(laid.key, STRANGER, STRANGER), laid.key)],
  ['the certificate writable by others', (laid) => (chmodSync(laid.cert, 0o666), laid.cert)],
  ['the certificate’s folder writable by others', (laid) => (chmodSync(laid.folder, 0o777), laid.folder)],
];

describe('every kind of source: what another user could have written is not uploaded', () => {
  for (const [client, lay] of clients) {
    for (const [title, spoil] of spoils) {
      it(`${client}, ${title}: sync uploads nothing of it and names the path`, async () => {
        world = await createWorld();
        const laid = lay(world.dir);
        const named = spoil(laid);
        const base = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
        const file = join(world.dir, 'trust.json');
        writeFileSync(
          file,
          JSON.stringify({ ...base, liveDir: join(world.dir, 'no-certbot'), ...laid.fields }),
          { mode: 0o600 },
        );
        const result = await runCli(['sync'], { INCAP_CERT_CONFIG: file });
        assert.deepEqual(world.fake.uploads(), [], `nothing uploaded:\n${result.stderr}`);
        assert.notEqual(result.code, 0, result.stderr);
        assert.ok(result.stderr.includes(named), `the path is named:\n${result.stderr}`);
        assert.match(result.stderr, /refused/, result.stderr);
      });
    }
  }
});

describe('every hook hand-off: a key another user owns is refused, exit 3, nothing sent', () => {
  const handOffs: [string, (dir: string) => { args: string[]; env: Record<string, string> }][] = [
    [
      'Certbot (RENEWED_LINEAGE), its archive key',
      (dir) => {
        const lineage = writeCertbotLineage(join(dir, 'le'), 'www.example.com', forged);
        chownSync(join(dir, 'le', 'archive', 'www.example.com', 'privkey1.pem'), STRANGER, STRANGER);
        return { args: ['deploy'], env: { RENEWED_LINEAGE: lineage } };
      },
    ],
    [
      'acme.sh (CERT_KEY_PATH)',
      (dir) => {
        const files = writeAcmeSh(join(dir, '.acme.sh'), 'www.example.com', forged, true);
        chownSync(files.key, STRANGER, STRANGER);
        return {
          args: ['deploy'],
          env: {
            CERT_FULLCHAIN_PATH: files.cert,
            CERT_KEY_PATH: files.key,
            CA_CERT_PATH: files.issuer,
            Le_Domain: 'www.example.com',
          },
        };
      },
    ],
    [
      'dehydrated (push --cert --key, its versioned key)',
      (dir) => {
        const files = writeDehydrated(join(dir, 'dehydrated'), 'www.example.com', forged, 1700000000);
        chownSync(join(files.folder ?? '', 'privkey-1700000000.pem'), STRANGER, STRANGER);
        return { args: ['push', '--cert', files.cert, '--key', files.key], env: {} };
      },
    ],
  ];
  for (const [title, arrange] of handOffs) {
    it(title, async () => {
      world = await createWorld();
      const { args, env } = arrange(world.dir);
      const result = await runCli(args, { ...world.env, ...env });
      assert.equal(result.code, 3, result.stderr);
      assert.deepEqual(world.fake.uploads(), []);
      assert.match(result.stderr, new RegExp(`is owned by user ${STRANGER} \\(mode 0600\\)`));
    });
  }
});
