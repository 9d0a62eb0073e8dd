/** The command line in-process: argv → options, and main() with injected dependencies (no HTTP, no child). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { main, usageMessage, withoutHelpCache } from '../../src/cli/main.js';
import type { Deps } from '../../src/run/context.js';
import { pushOptions, type PushArgs as PushFlags } from '../../src/cli/commands/push.js';
import { UsageError } from '../../src/errors.js';
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
};

describe('pushOptions', () => {
  it('takes a lineage', () => {
    assert.deepEqual(pushOptions({ ...base, lineage: '/le/live/a' }), {
      input: { lineage: '/le/live/a' },
      siteIds: undefined,
    });
  });
  it('takes a certificate and a key, and site ids', () => {
    assert.deepEqual(pushOptions({ ...base, cert: 'c.pem', key: 'k.pem', 'site-id': ['12', ' 34 '] }), {
      input: { cert: 'c.pem', key: 'k.pem' },
      siteIds: ['12', '34'],
    });
  });
  const bad: [string, Partial<PushFlags>, RegExp][] = [
    ['nothing', {}, /needs something to push/],
    ['a key alone', { key: 'k' }, /needs --cert FULLCHAIN too/],
    ['both', { lineage: 'l', cert: 'c', key: 'k' }, /not both/],
    [
      'a site id of 0',
      { lineage: 'l', 'site-id': ['0'] },
      /--site-id 0: a site id is a positive whole number/,
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

describe('usageMessage', () => {
  it('tells an unknown option from an unknown command', () => {
    assert.equal(
      usageMessage('Unknown argument: force', ['deploy', '--force']),
      'unknown option --force; see incap-cert --help',
    );
    assert.equal(
      usageMessage('Unknown arguments: x, upload', ['-x', 'upload']),
      'unknown option -x, command or argument upload; see incap-cert --help',
    );
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

describe('withoutHelpCache', () => {
  it("stops yargs rendering a command's help as the command starts (nothing shows it)", async () => {
    const yargs = (await import('yargs')).default;
    let ran = false;
    const parser = withoutHelpCache(
      yargs()
        .command('go', 'go somewhere', {}, () => {
          ran = true;
        })
        .help(false),
    );
    await parser.parseAsync(['go']);
    assert.equal(ran, true);
    const usage = (
      Reflect.apply(Reflect.get(parser, 'getInternalMethods') as () => unknown, parser, []) as {
        getUsageInstance(): { hasCachedHelpMessage(): boolean };
      }
    ).getUsageInstance();
    assert.equal(usage.hasCachedHelpMessage(), false);
    // The same parser as yargs leaves it renders and keeps it: this test can tell.
    const plain = yargs()
      .command('go', 'go somewhere', {}, () => {})
      .help(false);
    await plain.parseAsync(['go']);
    const plainUsage = (
      Reflect.apply(Reflect.get(plain, 'getInternalMethods') as () => unknown, plain, []) as {
        getUsageInstance(): { hasCachedHelpMessage(): boolean };
      }
    ).getUsageInstance();
    assert.equal(plainUsage.hasCachedHelpMessage(), true);
  });

  it('leaves alone a parser without the internal methods it looks for', () => {
    const parser = { parse: () => undefined };
    assert.equal(withoutHelpCache(parser), parser);
    const odd = { getInternalMethods: () => ({ getUsageInstance: () => null }) };
    assert.equal(withoutHelpCache(odd), odd);
  });
});
