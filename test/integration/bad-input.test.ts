/**
 * Bad input: one line on stderr naming the file, field or site, the documented exit code, no stack trace, and
 * nothing uploaded.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import {
  API_ID,
  assertNoSecrets,
  assertOneLineError,
  createWorld,
  secretsOf,
  type World,
} from '../support/world.js';

let pki: Pki;
let ec: Leaf;
let other: Leaf;
let expired: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
  other = await issueLeaf(pki, { names: ['example.com'] });
  expired = await issueLeaf(pki, {
    names: ['example.com'],
    notBefore: new Date(Date.now() - 100 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

interface Case {
  title: string;
  /** Prepares the world and returns the CLI's arguments and extra environment. */
  arrange: (w: World, lineage: string) => { args?: string[]; env?: Record<string, string | undefined> };
  code: 2 | 3;
  stderr: (w: World, lineage: string) => RegExp;
}

const QUEUED = `${JSON.stringify(
  {
    version: 1,
    entries: [
      {
        siteId: '7654321',
        authType: 'ECC',
        names: ['www.example.com'],
        source: {
          cert: '/etc/letsencrypt/live/example.com/fullchain.pem',
          key: '/etc/letsencrypt/live/example.com/privkey.pem',
        },
        fingerprint: 'ab'.repeat(32),
        notAfter: '2027-01-01T00:00:00.000Z',
        lastError: 'Imperva answered HTTP 503',
        attempts: 4,
        firstFailure: '2026-11-26T00:00:00.000Z',
        lastFailure: '2026-11-26T00:00:00.000Z',
      },
    ],
  },
  null,
  2,
)}\n`;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cases: Case[] = [
  {
    title: 'deploy without RENEWED_LINEAGE',
    arrange: () => ({ env: { RENEWED_LINEAGE: undefined } }),
    code: 2,
    stderr: () =>
      /^error: deploy needs the certificate its ACME client names: RENEWED_LINEAGE \(Certbot\), .*; to push by hand, use: incap-cert push --lineage DIR$/,
  },
  {
    title: 'a missing lineage folder',
    arrange: (w) => ({ env: { RENEWED_LINEAGE: join(w.dir, 'le', 'live', 'gone.example') } }),
    code: 3,
    stderr: (w) =>
      new RegExp(
        `^error: lineage folder ${escape(join(w.dir, 'le', 'live', 'gone.example'))} does not exist or is not a folder$`,
      ),
  },
  {
    title: 'a dangling key symlink',
    arrange: (w) => {
      rmSync(join(w.dir, 'le', 'archive', 'example.com', 'privkey1.pem'));
      return {};
    },
    code: 3,
    stderr: (_w, lineage) =>
      new RegExp(
        `^error: private key ${escape(join(lineage, 'privkey.pem'))} is a dangling symlink \\(its target \\.\\./\\.\\./archive/example\\.com/privkey1\\.pem does not exist\\)$`,
      ),
  },
  {
    title: 'a certificate that is not PEM',
    arrange: (w) => {
      writeFileSync(
        join(w.dir, 'le', 'archive', 'example.com', 'fullchain1.pem'),
        Buffer.from([0x30, 0x82, 0x01, 0x0a]),
      );
      return {};
    },
    code: 3,
    stderr: (_w, lineage) =>
      new RegExp(`^error: certificate ${escape(join(lineage, 'fullchain.pem'))} is not a PEM certificate$`),
  },
  {
    title: 'a key that does not match the certificate',
    arrange: (w) => {
      writeFileSync(join(w.dir, 'le', 'archive', 'example.com', 'privkey1.pem'), other.keyPem);
      return {};
    },
    code: 3,
    stderr: (_w, lineage) =>
      new RegExp(
        `^error: private key ${escape(join(lineage, 'privkey.pem'))} does not match certificate ${escape(join(lineage, 'fullchain.pem'))}$`,
      ),
  },
  {
    title: 'an expired certificate',
    arrange: (w) => {
      writeCertbotLineage(join(w.dir, 'le'), 'example.com', expired, 2);
      return {};
    },
    code: 3,
    stderr: (_w, lineage) =>
      new RegExp(`^error: certificate ${escape(join(lineage, 'fullchain.pem'))} expired on \\d{4}-`),
  },
  {
    title: 'an encrypted key without a passphrase',
    arrange: (w) => {
      const encrypted = createPrivateKey(ec.keyPem).export({
        format: 'pem',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: 'pw',
      });
      writeFileSync(join(w.dir, 'le', 'archive', 'example.com', 'privkey1.pem'), encrypted);
      return {};
    },
    code: 3,
    stderr: (_w, lineage) =>
      new RegExp(
        `^error: private key ${escape(join(lineage, 'privkey.pem'))} is encrypted; Imperva needs the key without a passphrase$`,
      ),
  },
  {
    title: 'a broken JSON config',
    arrange: (w) => {
      writeFileSync(w.configFile, `{"api": {"id": "1", "key": "${w.apiKey}"`);
      return {};
    },
    code: 2,
    stderr: (w) => new RegExp(`^error: ${escape(w.configFile)}: not valid JSON: .* at line 1, column \\d+$`),
  },
  {
    title: 'a missing config',
    arrange: (w) => ({ env: { INCAP_CERT_CONFIG: join(w.dir, 'missing.json') } }),
    code: 2,
    stderr: (w) => new RegExp(`^error: ${escape(join(w.dir, 'missing.json'))}: config file not found`),
  },
  {
    title: 'a site id that is not a number',
    arrange: (w) => {
      writeConfig(w.dir, {
        api: { id: API_ID, key: w.apiKey, baseUrl: w.fake.url },
        sites: { 'example.com': ['12x'] },
      });
      return {};
    },
    code: 2,
    stderr: (w) =>
      new RegExp(
        `^error: ${escape(w.configFile)}: sites\\["example\\.com"\\]\\[0\\]: a site id must be a positive whole number or a string of digits$`,
      ),
  },
  {
    title: 'no credentials',
    arrange: (w) => {
      writeConfig(w.dir, { api: { id: API_ID, baseUrl: w.fake.url }, sites: { 'example.com': 1234567 } });
      return {};
    },
    code: 2,
    stderr: (w) =>
      new RegExp(
        `^error: ${escape(w.configFile)}: api\\.key: no API key: set api\\.key in the file \\(mode 0600\\) or IMPERVA_API_KEY in the environment$`,
      ),
  },
  {
    title: 'a config holding api.key readable by others',
    arrange: (w) => {
      chmodSync(w.configFile, 0o644);
      return {};
    },
    code: 2,
    stderr: (w) =>
      new RegExp(
        `^error: ${escape(w.configFile)}: api\\.key: .*\\(mode 0644\\); run: chmod 600 ${escape(w.configFile)}$`,
      ),
  },
  {
    title: 'plain http to a host that is not loopback',
    arrange: () => ({ env: { IMPERVA_API_URL: 'http://my.imperva.com' } }),
    code: 2,
    stderr: () =>
      /^error: .*: IMPERVA_API_URL: must use https:\/\/ \(plain http:\/\/ is allowed only to loopback addresses, for tests\)$/,
  },
  {
    title: 'push with nothing to push',
    arrange: () => ({ args: ['push'] }),
    code: 2,
    stderr: () => /^error: push needs something to push: --lineage DIR, or --cert FULLCHAIN --key KEY$/,
  },
  {
    title: 'an unknown flag',
    arrange: () => ({ args: ['deploy', '--force'] }),
    code: 2,
    stderr: () => /^error: unknown option --force; see incap-cert --help$/,
  },
];

describe('bad input', () => {
  for (const c of cases) {
    it(`${c.title}: exit ${c.code}, one line, nothing uploaded`, async () => {
      world = await createWorld();
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
      // Something already queued, which no bad input may lose.
      mkdirSync(world.stateDir, { mode: 0o700 });
      writeFileSync(world.queueFile, QUEUED);
      const { args = ['deploy'], env = {} } = c.arrange(world, lineage);
      const result = await runCli(args, { ...world.env, RENEWED_LINEAGE: lineage, ...env });
      assert.equal(result.code, c.code, result.stderr);
      assertOneLineError(result.stderr, c.stderr(world, lineage));
      assert.equal(result.stdout, '');
      assert.equal(world.fake.requests.length, 0);
      assert.equal(readFileSync(world.queueFile, 'utf8'), QUEUED);
      assertNoSecrets({ stderr: result.stderr }, secretsOf(world.apiKey, ec));
    });
  }

  it('reports every config problem at once, one line each, exit 2', async () => {
    world = await createWorld();
    writeConfig(world.dir, {
      api: { id: 'x', baseUrl: 'ftp://a' },
      sites: { 'example.com': 0 },
      extra: true,
    });
    const result = await runCli(['check'], world.env);
    assert.equal(result.code, 2);
    const lines = result.stderr.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => line.replace(`error: ${world.configFile}: `, '').split(': ')[0]),
      ['api.id', 'sites["example.com"]', 'extra', 'api.key', 'api.baseUrl'],
    );
    assert.equal(world.fake.requests.length, 0);
  });
});
