/**
 * The operator at 3 a.m.: help that reads like a man page without loading the command line, did-you-mean, short
 * flags, --json on every command (errors included), and the queue seen and mended. Through the built CLI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ROOT, runCli, runCommand, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

describe('help', () => {
  for (const command of ['deploy', 'push', 'sync', 'status', 'check', 'verify', 'remove', 'queue']) {
    it(`${command} --help and help ${command}: own options first with placeholders, examples, environment, exit codes`, async () => {
      const viaFlag = await runCli([command, '--help']);
      const viaHelp = await runCli(['help', command]);
      assert.equal(viaFlag.code, 0);
      assert.equal(viaFlag.stdout, viaHelp.stdout);
      const text = viaFlag.stdout;
      assert.match(text, new RegExp(`^Usage: incap-cert ${command}`));
      const own = text.indexOf(`Options of ${command}:`);
      const every = text.indexOf('Common options it reads:');
      if (command !== 'deploy') assert.ok(own > 0 && own < every, 'own options first');
      assert.match(text, /-c, --config FILE/);
      for (const section of ['Examples:', 'Environment:', 'Exit codes:'])
        assert.ok(text.includes(section), section);
      assert.match(text, /IMPERVA_API_KEY/);
      assert.match(text, /^ {2}3 +a certificate or key problem/m);
      assert.equal(viaFlag.stderr, '');
    });
  }
  it('push --help shows the value placeholders', async () => {
    const { stdout } = await runCli(['push', '--help']);
    for (const flag of ['--lineage DIR', '--cert FILE', '--key FILE', '--site-id ID'])
      assert.ok(stdout.includes(flag), flag);
  });
  it('the overview lists every command', async () => {
    const { stdout, code } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const command of [
      'deploy',
      'push',
      'sync',
      'status',
      'check',
      'verify',
      'remove',
      'queue',
      'completion',
    ])
      assert.match(stdout, new RegExp(`^ {2}${command} `, 'm'));
  });
  it('--version', async () => {
    const { stdout, code } = await runCli(['--version']);
    assert.equal(code, 0);
    assert.match(stdout, /^incap-cert \d+\.\d+\.\d+\n$/);
  });
  it('completion prints a bash script that completes commands and flags', async () => {
    const { stdout, code } = await runCli(['completion']);
    assert.equal(code, 0);
    assert.match(stdout, /complete -F _incap_cert incap-cert/);
    assert.match(stdout, /push\) words="--lineage --cert --key --site-id/);
  });
});

describe('did you mean', () => {
  const cases: [string[], RegExp][] = [
    [
      ['pusj', '--lineage', 'x'],
      /^error: unknown command pusj \(did you mean push\?\); see incap-cert --help$/,
    ],
    [['help', 'stauts'], /^error: unknown command stauts \(did you mean status\?\); see incap-cert --help$/],
    [
      ['push', '--lineag', 'x'],
      /^error: unknown option --lineag \(did you mean --lineage\?\); see incap-cert --help$/,
    ],
    [
      ['sync', '--live-dr', 'x'],
      /^error: unknown option --live-dr \(did you mean --live-dir\?\); see incap-cert --help$/,
    ],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const result = await runCli(argv);
      assert.equal(result.code, 2);
      assertOneLineError(result.stderr, message);
    });
  }
});

describe('short flags and --quiet', () => {
  it('-c names the config, -q leaves only warnings and errors', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const loud = await runCli(['push', '-c', world.configFile, '--lineage', lineage], {});
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stdout, /^uploaded example\.com → site 1234567$/m);
    const quiet = await runCli(['push', '-q', '-c', world.configFile, '--lineage', lineage], {});
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    assert.equal(world.fake.acceptedUploads().length, 2, 'both runs uploaded');
  });
  it('-v says more', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['push', '-v', '--dry-run', '--lineage', lineage], world.env);
    assert.match(result.stdout, /^debug: config /m);
  });
});

interface JsonDoc {
  ok: boolean;
  command: string;
  exitCode: number;
  sites: {
    siteId: string;
    action?: string;
    keyType?: string;
    fingerprint?: string;
    error?: { message: string };
  }[];
  error?: { code: string; message: string };
}

describe('--json on every command', () => {
  it('deploy, push and sync: every attempted site, ok, the same exit code', async () => {
    world = await createWorld({ map: { 'example.com': [1234567, 7654321] } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { res: 9415 } });
    const push = await runCli(['push', '--json', '--lineage', lineage], world.env);
    assert.equal(push.code, 1);
    const doc = JSON.parse(push.stdout) as JsonDoc;
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, 1);
    assert.deepEqual(
      doc.sites.map((site) => [site.siteId, site.action, site.keyType, site.fingerprint]),
      [
        ['1234567', 'uploaded', 'ECC', leaf.fingerprint],
        ['7654321', 'failed', 'ECC', leaf.fingerprint],
      ],
    );
    assert.match(doc.sites[1]?.error?.message ?? '', /res 9415/);
    assert.match(push.stderr, /upload failed/, 'errors still on stderr');

    world.fake.clearFaults();
    const sync = await runCli(['sync', '--json', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    const synced = JSON.parse(sync.stdout) as JsonDoc;
    assert.equal(synced.ok, true);
    // What the queue owed comes first (sync goes on where the last run stopped).
    assert.deepEqual(
      synced.sites.map((site) => [site.siteId, site.action]),
      [
        ['7654321', 'uploaded'],
        ['1234567', 'current'],
      ],
    );

    const deploy = await runCli(['deploy', '--json'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(deploy.code, 0);
    assert.equal((JSON.parse(deploy.stdout) as JsonDoc).sites.length, 2);
  });

  const failing: [string, string[], number, string][] = [
    ['a bad config', ['status', '--json', '--config', '/nonexistent/config.json'], 2, 'CONFIG'],
    ['a usage error', ['push', '--json'], 2, 'USAGE'],
    ['a missing hook environment', ['deploy', '--json', '--config', '/nonexistent/config.json'], 2, 'USAGE'],
  ];
  for (const [title, argv, code, errorCode] of failing) {
    it(`${title}: one document with ok false and error {code, message}, exit ${code}`, async () => {
      const result = await runCli(argv);
      assert.equal(result.code, code);
      const doc = JSON.parse(result.stdout) as JsonDoc;
      assert.equal(doc.ok, false);
      assert.equal(doc.exitCode, code);
      assert.equal(doc.error?.code, errorCode);
      assert.ok((doc.error?.message ?? '').length > 0);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });
  }

  it('names the command even when a flag comes first', async () => {
    const result = await runCli(['-c', '/nonexistent/config.json', 'status', '--json']);
    assert.equal(result.code, 2);
    assert.equal((JSON.parse(result.stdout) as JsonDoc).command, 'status');
  });

  for (const command of ['check', 'status', 'queue']) {
    it(`${command} --json is one JSON document with ok`, async () => {
      world = await createWorld();
      const result = await runCli(
        [command, '--json', '--live-dir', tempDir()].slice(0, command === 'queue' ? 2 : 4),
        world.env,
      );
      const doc = JSON.parse(result.stdout) as JsonDoc;
      assert.equal(typeof doc.ok, 'boolean');
      assert.equal(doc.exitCode, result.code);
    });
  }
});

describe('the queue, seen and mended', () => {
  it('lists entries, drops one site, then all', async () => {
    world = await createWorld({ sites: {}, map: { 'example.com': [111, 222] } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const failed = await runCli(['push', '--lineage', lineage], world.env);
    assert.equal(failed.code, 1);
    const list = await runCli(['queue'], world.env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^SITE +KEY +NAMES +STATE +SINCE +ATTEMPTS +SOURCE$/m);
    assert.match(list.stdout, /^111 +ECC +example\.com +failed +\d{4}-\d\d-\d\dT[\d:.]+Z +1 +\S+$/m);
    assert.match(list.stdout, /^site 222 \(ECDSA\): last error: .*res 9413/m);
    const json = JSON.parse((await runCli(['queue', 'list', '--json'], world.env)).stdout) as {
      entries: {
        siteId: string;
        names: string[];
        source: { lineage?: string };
        since: string;
        attempts: number;
        lastError: string;
      }[];
    };
    assert.deepEqual(
      json.entries.map((entry) => [entry.siteId, entry.names, entry.source.lineage, entry.attempts]),
      [
        ['111', ['example.com'], lineage, 1],
        ['222', ['example.com'], lineage, 1],
      ],
    );
    const dropOne = await runCli(['queue', 'drop', '--site-id', '111'], world.env);
    assert.equal(dropOne.code, 0, dropOne.stderr);
    assert.match(dropOne.stdout, /^dropped site 111 \(ECDSA, example\.com\), owed since .*Z$/m);
    const queue = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { siteId: string }[] };
    assert.deepEqual(
      queue.entries.map((entry) => entry.siteId),
      ['222'],
    );
    assert.equal((await runCli(['queue', 'drop', '--all'], world.env)).code, 0);
    assert.match((await runCli(['queue'], world.env)).stdout, /^the retry queue is empty$/m);
    assert.equal(world.fake.uploads().length, 2, 'listing and dropping send nothing');
  });

  it('drop without --site-id or --all: exit 2, nothing dropped', async () => {
    world = await createWorld();
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    const body = JSON.stringify({ version: 2, entries: [] });
    writeFileSync(world.queueFile, body, { mode: 0o600 });
    const result = await runCli(['queue', 'drop'], world.env);
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /^error: queue drop takes --site-id ID \(repeatable\) or --all/);
    assert.equal(readFileSync(world.queueFile, 'utf8'), body);
  });
});

describe('the safety net is never silently empty', () => {
  for (const command of ['sync', 'status', 'check']) {
    it(`${command}: a missing live folder while sites are mapped is a warning on stderr and exit 1`, async () => {
      world = await createWorld({ map: { 'example.com': 1234567 } });
      const missing = join(world.dir, 'no-such-live');
      const result = await runCli([command, '--live-dir', missing], world.env);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(`^warning: no certificate lineages in ${missing}, but 1 site is mapped`, 'm'),
      );
      // One cause, one line: the site is named only with -v.
      assert.doesNotMatch(result.stderr + result.stdout, /site 1234567 \(example\.com\): no certificate/);
      assert.equal(world.fake.uploads().length, 0);
      const verbose = await runCli([command, '-v', '--live-dir', missing], world.env);
      assert.equal(verbose.code, 1);
      assert.match(
        verbose.stdout,
        // check says what Imperva holds too
        /^debug: site 1234567 \(example\.com\): no certificate on this host covers it; nothing keeps it current(; Imperva holds no custom certificate)?$/m,
      );
    });
  }
  it('sync: one mapped site without a certificate while another is delivered: warning, exit 1', async () => {
    world = await createWorld();
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assert.equal(result.code, 1);
    assert.equal(world.fake.serving('1234567')?.fingerprint, leaf.fingerprint);
    assert.equal(
      result.stderr,
      'warning: site 7654321 (www.example.com): no certificate on this host covers it; nothing keeps it current\n',
    );
  });
});

describe('credential problems are one line, at once', () => {
  for (const [title, setup] of [
    ['bad key (9411)', (w: World) => w.fake.inject({ times: Infinity, fault: { res: 9411 } })],
    ['disabled key (9418)', (w: World) => (w.fake.disabledKey = true)],
  ] as const) {
    it(`${title}: 20 sites, the first answer stops the run; the rest are queued; one error line naming the key's source`, async () => {
      const ids = Array.from({ length: 20 }, (_, index) => String(3001 + index));
      world = await createWorld({
        sites: Object.fromEntries(ids.map((id) => [id, 'example.com'])),
        map: { 'example.com': ids.map(Number) },
        config: { concurrency: 1 },
      });
      setup(world);
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const result = await runCli(['push', '--lineage', lineage], world.env);
      assert.equal(result.code, 1);
      assertOneLineError(
        result.stderr,
        new RegExp(
          `^error: Imperva refused the API credentials: .*; the key comes from ${world.configFile} \\(api\\.key\\); 20 sites queued for sync$`,
        ),
      );
      assert.equal(world.fake.uploads().length, 1, 'nothing sent after the first refusal');
      const queue = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: unknown[] };
      assert.equal(queue.entries.length, 20);
    });
  }
});

describe('a fresh install is quiet until configured', () => {
  const template = JSON.parse(readFileSync(join(ROOT, 'scripts', 'config.example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  it('the Certbot drop-in prints one line on stdout and exits 0 with the untouched template; check says what to fill in', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { ...template, stateDir: join(dir, 'state'), logFile: join(dir, 'log') });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
    const env = { INCAP_CERT_CONFIG: config, RENEWED_LINEAGE: lineage };
    const hook = await runCommand(join(ROOT, 'hooks', 'certbot-deploy.sh'), [], {
      ...env,
      INCAP_CERT_BIN: join(ROOT, 'dist', 'cli.cjs'),
    });
    assert.equal(hook.code, 0, hook.stderr);
    assert.equal(hook.stderr, '');
    assert.equal(hook.stdout.trimEnd().split('\n').length, 1);
    assert.match(
      hook.stdout,
      /^incap-cert is not configured yet: .* still holds the template's api\.id, api\.key, sites; nothing uploaded/,
    );
    // push (the dehydrated and acme.sh hooks) and sync (the daily timer) stay quiet too; status says what to fill in.
    for (const argv of [['push', '--lineage', lineage], ['sync']]) {
      const quiet = await runCli(argv, env);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stderr, '');
      assert.match(quiet.stdout, /^incap-cert is not configured yet: /);
    }
    const status = await runCli(['status'], env);
    assert.equal(status.code, 2);
    assert.match(
      status.stderr,
      /api\.key: still the template's placeholder; fill in your API key .*\(or IMPERVA_API_KEY\)/,
    );
    const check = await runCli(['check'], env);
    assert.equal(check.code, 2);
    assert.match(
      check.stderr,
      /^error: .*: api\.id: still the template's placeholder; fill in your Imperva API id/m,
    );
    assert.match(check.stderr, /^error: .*: api\.key: still the template's placeholder/m);
  });
});
