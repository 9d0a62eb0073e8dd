/**
 * The config template (scripts/config.example.json) through the built CLI. Untouched, it keeps a fresh install quiet
 * (one line, exit 0). Filled in only in part — real credentials beside its example map, a real map beside
 * YOUR_API_ID / YOUR_API_KEY, an example entry left among real ones — it was quiet too (or uploaded to the example's
 * site), on every run, for ever: now every command that loads it, the hook included, exits 2 naming each field still
 * the template's, and nothing reaches Imperva.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ROOT, runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, assertNoSecrets, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

const TEMPLATE = JSON.parse(readFileSync(join(ROOT, 'scripts', 'config.example.json'), 'utf8')) as {
  api: Record<string, unknown>;
  sites: Record<string, unknown>;
} & Record<string, unknown>;

const API_ID_LINE =
  "api.id: still the template's placeholder beside values filled in; fill in your Imperva API id";
const API_KEY_LINE =
  "api.key: still the template's placeholder beside values filled in; fill in your API key";
const example = (name: string, ids: string) =>
  `sites["${name}"]: site id ${ids} is still the template's example; replace it with your names and their Imperva site ids`;
const EXAMPLE_LINES = [
  example('your-domain.example', '1234567'),
  example('www.your-domain.example', '1234567, 7654321'),
  example('*.your-other-domain.example', '2345678'),
];

interface Case {
  title: string;
  /** The config's api and sites (the template's other fields are kept); the fake's URLs are added. */
  config: (w: World) => { api: Record<string, unknown>; sites: Record<string, unknown> };
  /** Credentials from the environment instead. */
  env?: (w: World) => Record<string, string>;
  /** Each stderr line after `error: FILE: `, as it starts. */
  lines: string[];
}

const cases: Case[] = [
  {
    title: 'real credentials in the file beside the example map',
    config: (w) => ({ api: { id: API_ID, key: w.apiKey }, sites: TEMPLATE.sites }),
    lines: EXAMPLE_LINES,
  },
  {
    title: 'real credentials from the environment beside the untouched template',
    config: () => ({ api: TEMPLATE.api, sites: TEMPLATE.sites }),
    env: (w) => ({ IMPERVA_API_ID: API_ID, IMPERVA_API_KEY: w.apiKey }),
    lines: EXAMPLE_LINES,
  },
  {
    title: 'a real map beside YOUR_API_ID and YOUR_API_KEY',
    config: () => ({ api: TEMPLATE.api, sites: { 'example.com': 1234567 } }),
    lines: [API_ID_LINE, API_KEY_LINE],
  },
  {
    title: 'a real id and map beside YOUR_API_KEY',
    config: () => ({ api: { ...TEMPLATE.api, id: API_ID }, sites: { 'example.com': 1234567 } }),
    lines: [API_KEY_LINE],
  },
  {
    title: 'one example entry left among real ones',
    config: (w) => ({
      api: { id: API_ID, key: w.apiKey },
      sites: { 'example.com': 1234567, 'your-domain.example': 1234567 },
    }),
    lines: [example('your-domain.example', '1234567')],
  },
];

/** The template with `api` and `sites` replaced, pointing at the fake, its state in the world's folder. */
function writeTemplate(w: World, config: ReturnType<Case['config']>): string {
  return writeConfig(w.dir, {
    ...TEMPLATE,
    api: { ...config.api, baseUrl: w.fake.url, v3BaseUrl: w.fake.url },
    sites: config.sites,
    stateDir: w.stateDir,
    logFile: join(w.dir, 'incap-cert.log'),
    liveDir: join(w.dir, 'le', 'live'),
  });
}

describe('a config filled in only in part is refused by every command that loads it', () => {
  for (const { title, config, env, lines } of cases) {
    it(`${title}: every command that loads the config, the hook included, exits 2 naming each field; nothing reaches Imperva`, async () => {
      world = await createWorld();
      const file = writeTemplate(world, config(world));
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      // The edge is a closed local port: a build that loaded such a config would probe nothing but this host.
      const environment = {
        INCAP_CERT_CONFIG: file,
        INCAP_CERT_EDGE: '127.0.0.1:9',
        INCAP_CERT_EDGE_HTTP: '127.0.0.1:9',
        ...env?.(world),
      };
      for (const argv of [
        ['deploy'],
        ['push', '--lineage', lineage],
        ['sync'],
        ['check'],
        ['status'],
        ['verify'],
        ['remove', '--site-id', '1234567', '--auth-type', 'ECC'],
        ['queue'],
        ['queue', 'drop', '--all'],
        ['canary'],
      ]) {
        const run = await runCli(argv, { ...environment, RENEWED_LINEAGE: lineage });
        const what = `${argv.join(' ')}: ${run.stderr}`;
        assert.equal(run.code, 2, what);
        assert.equal(run.stdout, '', what);
        const got = run.stderr.trimEnd().split('\n');
        assert.equal(got.length, lines.length, what);
        lines.forEach((line, index) => assert.ok(got[index]?.startsWith(`error: ${file}: ${line}`), what));
        assertNoSecrets({ [argv.join(' ')]: run.stderr }, [world.apiKey]);
      }
      assert.deepEqual(world.fake.requests, [], 'a refused config reached Imperva');
    });
  }

  it('the untouched template stays quiet: the hook, push and sync say "not configured yet", exit 0', async () => {
    world = await createWorld();
    const file = writeTemplate(world, { api: TEMPLATE.api, sites: TEMPLATE.sites });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    for (const argv of [['deploy'], ['push', '--lineage', lineage], ['sync']]) {
      const run = await runCli(argv, { INCAP_CERT_CONFIG: file, RENEWED_LINEAGE: lineage });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.match(
        run.stdout,
        /^incap-cert is not configured yet: .* still holds the template's api\.id, api\.key, sites; nothing uploaded/,
      );
    }
    assert.deepEqual(world.fake.requests, []);
  });
});
