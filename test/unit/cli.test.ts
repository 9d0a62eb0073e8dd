/** The command line in-process: argv → options, and main() with injected dependencies (no HTTP, no child). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { main } from '../../src/main.js';
import { COMMANDS } from '../../src/cli/catalogue.js';
import { completionScript } from '../../src/cli/completion.js';
import { manPage } from '../../src/cli/man.js';
import { didYouMean, editDistance } from '../../src/cli/suggest.js';
import { usageError } from '../../src/cli/usage-errors.js';
import type { Deps } from '../../src/run/context.js';
import { pushOptions, type PushArgs as PushFlags } from '../../src/cli/commands/push.js';
import { UsageError } from '../../src/model/errors.js';
import type { ImpervaClient } from '../../src/imperva/client.js';
import { tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';

const base: PushFlags = {
  config: undefined,
  'dry-run': false,
  verbose: false,
  'log-file': undefined,
  lineage: undefined,
  cert: undefined,
  key: undefined,
  'site-id': undefined,
  force: false,
};

describe('pushOptions', () => {
  it('takes a lineage', () => {
    assert.deepEqual(pushOptions({ ...base, lineage: '/le/live/a' }), {
      input: { lineage: '/le/live/a' },
      siteIds: undefined,
      force: false,
    });
  });
  it('takes --force', () => {
    assert.deepEqual(pushOptions({ ...base, lineage: '/le/live/a', force: true }), {
      input: { lineage: '/le/live/a' },
      siteIds: undefined,
      force: true,
    });
  });
  it('takes a certificate and a key, and site ids', () => {
    assert.deepEqual(pushOptions({ ...base, cert: 'c.pem', key: 'k.pem', 'site-id': ['12', ' 34 '] }), {
      input: { cert: 'c.pem', key: 'k.pem' },
      siteIds: ['12', '34'],
      force: false,
    });
  });
  it('takes --force', () => {
    assert.equal(pushOptions({ ...base, lineage: 'l', force: true }).force, true);
  });
  const bad: [string, Partial<PushFlags>, RegExp][] = [
    ['nothing', {}, /needs something to push/],
    ['a key alone', { key: 'k' }, /needs --cert FULLCHAIN too/],
    ['both', { lineage: 'l', cert: 'c', key: 'k' }, /not both/],
    [
      'a site id of 0',
      { lineage: 'l', 'site-id': ['0'] },
      /--site-id takes a site id \(a positive whole number\), not 0$/,
    ],
  ];
  for (const [title, flags, message] of bad) {
    it(`refuses ${title}`, () =>
      assert.throws(
        () => pushOptions({ ...base, ...flags }),
        (e) => e instanceof UsageError && message.test(e.message),
      ));
  }
});

describe('usageError', () => {
  const parsed = (argv: string[], command?: string) => ({
    argv,
    command,
    commands: COMMANDS.map((one) => one.name),
    flags: ['force', 'site-id', 'config', 'json'],
  });
  it('tells an unknown option from an unknown command', () => {
    assert.equal(
      usageError('Unknown argument: nope', parsed(['deploy', '--nope'], 'deploy')).message,
      'unknown option --nope; see incap-cert --help',
    );
    assert.equal(
      usageError('Unknown arguments: x, upload', parsed(['-x', 'upload'])).message,
      'unknown command upload; see incap-cert --help',
    );
    assert.equal(
      usageError('Unknown argument: site', parsed(['remove', '--site', '1'], 'remove')).message,
      'unknown option --site (did you mean --site-id?); see incap-cert --help',
    );
  });
  it("says what a missing value or option is, in the house's words", () => {
    assert.equal(
      usageError('Not enough arguments following: config', parsed(['--config'])).message,
      '--config needs a value; see incap-cert --help',
    );
    assert.equal(
      usageError('Missing required arguments: site-id, auth-type', parsed(['remove'], 'remove')).message,
      'remove needs --site-id and --auth-type; see incap-cert remove --help',
    );
  });
});

describe('didYouMean', () => {
  const names = COMMANDS.map((one) => one.name);
  const cases: [string, string | undefined][] = [
    ['sycn', 'sync'],
    ['stauts', 'status'],
    ['pusj', 'push'],
    ['stat', 'status'],
    ['renew', 'sync'],
    ['certificates', 'status'],
    ['list', 'status'],
    ['nope', undefined],
    ['upload', undefined],
  ];
  for (const [typed, meant] of cases)
    it(`${typed} → ${meant ?? 'nothing'}`, () => assert.equal(didYouMean(typed, names), meant));
  it('takes a prefix of one flag, and a transposition as one edit', () => {
    assert.equal(didYouMean('site', ['site-id', 'force', 'live-dir']), 'site-id');
    assert.equal(editDistance('sycn', 'sync'), 1);
    assert.equal(editDistance('abc', 'cab'), 2);
  });
});

describe('the catalogue renders', () => {
  it('a completion script with the words after a command and after a leading global option', () => {
    const script = completionScript(COMMANDS);
    assert.match(script, /^ {4}queue\) words="list drop --site-id --all /m);
    assert.match(script, /^ {6}--config\|-c\|--log-file\|--metrics-file\) \(\( i\+\+ \)\) ;;$/m);
    assert.match(script, /^complete -F _incap_cert incap-cert$/m);
  });
  it('a man page: every command, option and exit code, hyphens escaped, no stray requests', () => {
    const page = manPage(COMMANDS, { date: '2026-01-01', homepage: 'https://example.org/incap-cert' });
    assert.match(page, /^\.TH INCAP\\-CERT 1 "2026-01-01" "incap\\-cert /);
    for (const command of COMMANDS)
      assert.match(page, new RegExp(`^\\.BR? ${command.name}\\b`, 'm'), command.name);
    assert.match(page, /^\.BI "\\-\\-site\\-id " ID$/m);
    assert.match(page, /^\.BR queue " \[list\|drop\]"$/m);
    for (const line of page.split('\n')) {
      if (line.startsWith('.'))
        assert.match(line, /^\.(TH|SH|TP|B|BI|BR|I|RI|br|PP|RS|RE|nf|fi|nh|ad)( |$)/, line);
      else assert.doesNotMatch(line, /(^|[^\\])-/, line);
    }
  });
  it('a man page that groff renders without a warning', (t) => {
    if (spawnSync('groff', ['--version']).error !== undefined) return t.skip('no groff here');
    const page = manPage(COMMANDS, { date: '2026-01-01', homepage: 'https://example.org/incap-cert' });
    const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '');
  });
  it('a man page that man -l renders without a warning, with its sections and the config page named', (t) => {
    if (spawnSync('man', ['--version']).error !== undefined) return t.skip('no man here');
    const dir = tempDir();
    const file = join(dir, 'incap-cert.1');
    writeFileSync(file, manPage(COMMANDS, { date: '', homepage: 'https://example.org/incap-cert' }));
    const result = spawnSync('man', ['--warnings', '-l', file], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    for (const section of [
      'SYNOPSIS',
      'COMMANDS',
      'OPTIONS',
      'ENVIRONMENT',
      'FILES',
      'EXIT STATUS',
      'EXAMPLES',
    ])
      assert.match(result.stdout, new RegExp(`^${section}$`, 'm'), section);
    assert.match(result.stdout, /incap-cert-config\(5\)/);
    assert.match(result.stdout, /^ +--site-id ID$/m);
  });
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('main, in-process', () => {
  let leaf: Leaf;
  before(async () => {
    leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
  });

  function setup(map: Record<string, unknown> = { 'example.com': 1 }) {
    const dir = tempDir();
    const config = writeConfig(dir, {
      api: { id: '1', key: 'in-process-key-123', baseUrl: 'https://my.imperva.com' },
      sites: map,
      // Never the machine's own /var/lib/incap-cert: a run records its intent there.
      stateDir: join(dir, 'state'),
    });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
    const uploads: [string, string, string][] = [];
    const client: ImpervaClient = {
      upload: async (siteId, bundle) => {
        uploads.push([siteId, bundle.keyType, bundle.fingerprint]);
        return { resMessage: 'OK', verdict: undefined };
      },
      status: async (siteId) => ({ siteId, domain: undefined, custom: undefined, dns: [] }),
      certificates: async () => [],
      remove: async () => ({ resMessage: 'OK' }),
      verifyAccount: async () => ({ accountId: '1', accountName: 'test', planName: 'test' }),
      keyRecord: async () => ({ tracked: false, why: 'a test double' }),
      ownCertificates: async () => [],
    };
    const deps: Deps = {
      env: { INCAP_CERT_CONFIG: config },
      now: () => new Date(),
      createClient: async () => client,
    };
    const streams = { stdout: new Capture(), stderr: new Capture() };
    return { lineage, uploads, deps, streams };
  }

  it('push --site-id reaches the client with the chosen site and the parsed key type', async () => {
    const { lineage, uploads, deps, streams } = setup();
    const code = await main(['push', '--lineage', lineage, '--site-id', '77'], deps, streams);
    assert.equal(code, 0, streams.stderr.text);
    assert.deepEqual(uploads, [['77', 'ECC', leaf.fingerprint]]);
    assert.equal(streams.stdout.text, 'uploaded example.com → site 77\n');
  });

  it('deploy reads RENEWED_LINEAGE from the injected environment', async () => {
    const { lineage, uploads, deps, streams } = setup();
    const code = await main(['deploy'], { ...deps, env: { ...deps.env, RENEWED_LINEAGE: lineage } }, streams);
    assert.equal(code, 0, streams.stderr.text);
    assert.deepEqual(uploads, [['1', 'ECC', leaf.fingerprint]]);
  });

  it('never creates a client on a dry run', async () => {
    const { lineage, deps, streams } = setup();
    let created = 0;
    const code = await main(
      ['push', '--dry-run', '--lineage', lineage],
      {
        ...deps,
        createClient: async () => {
          created += 1;
          throw new Error('no client on a dry run');
        },
      },
      streams,
    );
    assert.equal(code, 0);
    assert.equal(created, 0);
    assert.match(streams.stdout.text, /^dry run: would upload example\.com .* → site 1\n$/);
  });

  it('remove --auth-type takes RSA, ECC and ECDSA in any case (ECDSA is ECC)', async () => {
    for (const [given, meant] of [
      ['ecdsa', 'ECC'],
      ['EcC', 'ECC'],
      ['rsa', 'RSA'],
    ] as const) {
      const { deps, streams } = setup({ 'other.example': 1 });
      const args = ['remove', '--site-id', '77', '--auth-type', given, '--force', '--live-dir', tempDir()];
      assert.equal(await main(args, deps, streams), 0, streams.stderr.text);
      // The client of setup() holds no certificate of either type: the answer names the type asked for.
      assert.equal(
        streams.stdout.text,
        `site 77 holds no ${meant === 'ECC' ? 'ECDSA' : meant} custom certificate; nothing to remove\n`,
        given,
      );
    }
  });

  it('maps an unknown flag to exit 2 with one line on stderr', async () => {
    const { deps, streams } = setup();
    assert.equal(await main(['check', '--nope'], deps, streams), 2);
    assert.equal(streams.stderr.text, 'error: unknown option --nope; see incap-cert --help\n');
    assert.equal(streams.stdout.text, '');
  });

  it('turns an unexpected error into one redacted line, exit 1', async () => {
    const { lineage, deps, streams } = setup();
    const code = await main(
      ['push', '--lineage', lineage],
      {
        ...deps,
        createClient: async () => {
          throw new Error('boom with in-process-key-123 inside');
        },
      },
      streams,
    );
    assert.equal(code, 1);
    assert.equal(streams.stderr.text, 'error: internal error: boom with [redacted] inside\n');
  });
});
